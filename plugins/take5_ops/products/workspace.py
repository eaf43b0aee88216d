"""Processed products in the work bucket (``layout.product_prefix``): upload, read back, find done work.

A product folder is uploaded file by file (files already right are skipped)
with its ``manifest.json`` last: a manifest present means a complete product.
"""

from __future__ import annotations

import logging
from pathlib import Path

from take5_ops.errors import PublishError
from take5_ops.products.product import MANIFEST, Product
from take5_ops.storage import Store, holds, layout, put_if_changed

log = logging.getLogger(__name__)

MARKER_ETAG = "take5:l1a_marker_etag"  # manifest property: the DELIVERY.OK ETag an L1C was made from


def read_manifest(work: Store, site_id: str, name: str) -> Product:
    """The manifest of a processed product in the work bucket, checked against its key."""
    key = layout.product_prefix(site_id, name) + MANIFEST
    if not work.exists(key):
        raise PublishError(f"{work.href(key)}: no manifest (product not processed)")
    try:
        product = Product.from_json(work.get_bytes(key))
    except (ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"{work.href(key)}: invalid manifest ({exc})") from None
    if (product.name, product.site_id) != (name, site_id):
        raise PublishError(f"{work.href(key)}: field name/site_id {product.name}/{product.site_id} "
                           f"disagree with its key")
    for f in product.files:
        if "/" in f.name or f.name in ("", ".", "..", MANIFEST):
            raise PublishError(f"{work.href(key)}: invalid file name {f.name!r}")
    return product


def upload_product(work: Store, product: Product, folder: Path) -> None:
    """Upload a product folder to its ``layout.product_prefix``: files already right are skipped,
    ``manifest.json`` goes last."""
    prefix = layout.product_prefix(product.site_id, product.name)
    for f in product.files:
        if not holds(work, prefix + f.name, f.size, f.sha256):
            work.upload(folder / f.name, prefix + f.name, content_type=f.media_type, sha256=f.sha256)
    put_if_changed(work, prefix + MANIFEST, product.to_json(), "application/json")


def processed_product(work: Store, site_id: str, name: str, marker_etag: str) -> Product | None:
    """The product already in the work bucket for this very delivery, with all its files, else ``None``."""
    prefix = layout.product_prefix(site_id, name)
    if not work.exists(prefix + MANIFEST):
        return None
    try:
        product = read_manifest(work, site_id, name)
    except PublishError as exc:  # a bad manifest is redone
        log.warning("%s: %s; reprocessing", work.href(prefix + MANIFEST), exc)
        return None
    if product.properties.get(MARKER_ETAG) != marker_etag:
        return None
    if all(holds(work, prefix + f.name, f.size, f.sha256) for f in product.files):
        return product
    return None
