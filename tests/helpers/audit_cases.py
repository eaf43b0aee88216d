"""A small published campaign for the audit tests, and the inconsistencies injected into it.

:func:`publish_campaign` runs the chain on two good deliveries and a truncated one (rejected)
in the given buckets. :data:`INJECTIONS` maps each finding kind to a function that breaks the
published state of product ``A`` (the first L1C) in that way.
"""

from __future__ import annotations

import json
from datetime import timedelta

from helpers.l1a_builder import ACQUIRED, build_delivery, make_imagery, put_flat_dem, scene_site
from take5_ops.naming import ProductId
from take5_ops.pipeline import run_site
from take5_ops.storage import Buckets, layout

SITE = scene_site().site_id
A = ProductId(ACQUIRED, 2, SITE).product_name("L1C")
B = ProductId(ACQUIRED + timedelta(days=5), 2, SITE).product_name("L1C")
REJECTED = str(ProductId(ACQUIRED + timedelta(days=10), 2, SITE))


def publish_campaign(buckets: Buckets) -> dict:
    """Publish A and B, reject a truncated delivery; the run's summary."""
    site = scene_site()
    put_flat_dem(buckets.aux, site)
    build_delivery(buckets.l1a, acquired=ACQUIRED)
    build_delivery(buckets.l1a, acquired=ACQUIRED + timedelta(days=5))
    build_delivery(buckets.l1a, acquired=ACQUIRED + timedelta(days=10), imagery=make_imagery()[:-500])
    return run_site(site, buckets)


def _item(b: Buckets) -> dict:
    return json.loads(b.dist.get_bytes(layout.item_key(SITE, A)))


def _asset_key(b: Buckets) -> str:
    href = _item(b)["assets"]["XS1"]["href"]
    return layout.published_prefix(SITE, A) + href.removeprefix("./")


def _edit_json(store, key: str, edit) -> None:
    doc = json.loads(store.get_bytes(key))
    edit(doc)
    store.put_bytes(key, json.dumps(doc).encode(), "application/json")


def _flip_byte(b: Buckets) -> None:
    data = bytearray(b.dist.get_bytes(_asset_key(b)))
    data[len(data) // 2] ^= 0x01
    b.dist.put_bytes(_asset_key(b), bytes(data))


def _unlink(b: Buckets) -> None:
    _edit_json(b.dist, layout.collection_key(SITE), lambda d: d.update(
        links=[link for link in d["links"] if not link["href"].endswith(f"/{A}.json")]))


def _lose_work_product(b: Buckets) -> None:
    for info in list(b.work.list(layout.product_prefix(SITE, A))):
        b.work.delete(info.key)


def _false_l2a_status(b: Buckets) -> None:
    name = ProductId(ACQUIRED, 2, SITE).product_name("L2A")
    b.work.put_bytes(layout.l2a_status_key(SITE), json.dumps(
        {"site_id": SITE, "gate": "open", "dates": {"2015-04-28": {"outcome": "published", "name": name}}}).encode())


def _lose_quarantine(b: Buckets) -> None:
    for info in list(b.work.list(layout.quarantine_product_prefix(SITE, REJECTED))):
        b.work.delete(info.key)


INJECTIONS = {
    "asset-missing": lambda b: b.dist.delete(_asset_key(b)),
    "asset-corrupt": _flip_byte,
    "item-unlinked": _unlink,
    "link-to-missing-item": lambda b: b.dist.delete(layout.item_key(SITE, A)),
    "orphan-version": lambda b: b.dist.put_bytes(layout.version_prefix(SITE, A, "v000000000000") + "old.tif", b"old"),
    "ledger-without-product": _lose_work_product,
    "stale-metalink": lambda b: b.dist.put_bytes(layout.metalink_key(SITE, "L1C"), b"<metalink/>"),
    "stale-page": lambda b: b.dist.put_bytes(layout.site_page_key(SITE), b"<html>old</html>"),
    "l2a-status-mismatch": _false_l2a_status,
    "ledger-without-quarantine": _lose_quarantine,
    "sla-unrecorded": lambda b: _edit_json(b.work, layout.sla_published_key(SITE),
                                           lambda d: d["first_published"].pop(A)),
    "item-outdated": lambda b: _edit_json(b.dist, layout.item_key(SITE, A),
                                          lambda d: d["properties"].update(title="edited by hand")),
    "stale-collection": lambda b: _edit_json(b.dist, layout.collection_key(SITE),
                                             lambda d: d.update(description="edited by hand")),
}
