"""Upload local delivery folders to the delivery bucket, as the producer does.

Files go first and ``DELIVERY.OK`` last (contract section 1), so that a
reader never sees a complete-looking delivery that is still in transfer.
"""

from __future__ import annotations

from pathlib import Path

from take5_ops.naming import is_site_id, match_product_id
from take5_ops.storage import Store, layout

MARKER = "DELIVERY.OK"


def delivery_folders(root: Path) -> list[Path]:
    """Delivery folders ``<root>/<SITE_ID>/<PRODUCT_ID>/`` that hold a ``DELIVERY.OK``, sorted."""
    found = []
    for marker in sorted(Path(root).glob(f"*/*/{MARKER}")):
        folder = marker.parent
        if is_site_id(folder.parent.name) and match_product_id(folder.name):
            found.append(folder)
    return found


def upload_delivery(folder: Path, store: Store) -> str:
    """Upload one delivery folder under ``<SITE_ID>/<PRODUCT_ID>/``; return the prefix."""
    folder = Path(folder)
    prefix = layout.delivery_prefix(folder.parent.name, folder.name)
    marker = folder / MARKER
    if not marker.is_file():
        raise FileNotFoundError(f"{folder}: no {MARKER}, not a complete delivery")
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != MARKER:
            store.upload(path, prefix + path.name)
    store.upload(marker, prefix + MARKER, content_type="application/json")
    return prefix
