"""Reprocessing on request: make deliveries pending again.

A redelivery by the producer supersedes the old one by itself. To reprocess
deliveries that did not change (a processor fix, a new version), forget them:
their ledger entry goes, so the next run of the site finds them pending, and
their processed products in the work bucket go, so that the processing runs
again instead of reusing them. Publication then replaces the published
products (the same names) in place.
"""

from __future__ import annotations

import logging

from take5_ops.l1a.intake import ledger_key
from take5_ops.naming import parse_product_id
from take5_ops.storage import Store

log = logging.getLogger(__name__)


def forget(work: Store, site_id: str, product_ids: list[str] | None = None) -> list[str]:
    """Make deliveries of ``site_id`` pending again (all of them when ``product_ids`` is None); return them."""
    prefix = f"ledger/{site_id}/"
    recorded = sorted(info.key[len(prefix):-len(".json")] for info in work.list(prefix) if info.key.endswith(".json"))
    chosen = recorded if product_ids is None else [p for p in product_ids if p in recorded]
    missing = sorted(set(product_ids or ()) - set(recorded))
    if missing:
        raise KeyError(f"not in the ledger of {site_id}: {', '.join(missing)}")
    for product_id in chosen:
        pid = parse_product_id(product_id)
        for level in ("L1C", "L2A"):
            products = f"products/{site_id}/{pid.product_name(level)}/"
            for info in list(work.list(products)):
                work.delete(info.key)
        work.delete(ledger_key(site_id, product_id))
        log.info("%s: %s is pending again", site_id, product_id)
    return chosen
