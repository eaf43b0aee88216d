"""Reprocessing on request: make deliveries pending again.

A redelivery by the producer supersedes the old one by itself. To reprocess
deliveries that did not change (a processor fix, a new version), forget them:
their ledger entry goes, so the next run of the site finds them pending, and
their processed products in the work bucket go, so that the processing runs
again instead of reusing them. Publication then replaces the published
products (the same names) in place.

The L2A series replays by itself from a redelivered or late date; after an
L2A processor fix, :func:`forget_l2a` makes it replay from a chosen date.
"""

from __future__ import annotations

import logging
from datetime import date

from take5_ops.naming import LEVELS, parse_product_id
from take5_ops.storage import Store, layout, read_json

log = logging.getLogger(__name__)


def forget(work: Store, site_id: str, product_ids: list[str] | None = None) -> list[str]:
    """Make deliveries of ``site_id`` pending again (all of them when ``product_ids`` is None); return them."""
    recorded = sorted(filter(None, (layout.ledger_product_id(i.key) for i in work.list(layout.ledger_prefix(site_id)))))
    chosen = recorded if product_ids is None else [p for p in product_ids if p in recorded]
    missing = sorted(set(product_ids or ()) - set(recorded))
    if missing:
        raise KeyError(f"not in the ledger of {site_id}: {', '.join(missing)}")
    for product_id in chosen:
        pid = parse_product_id(product_id)
        for level in LEVELS:
            for info in list(work.list(layout.product_prefix(site_id, pid.product_name(level)))):
                work.delete(info.key)
        work.delete(layout.ledger_key(site_id, product_id))
        log.info("%s: %s is pending again", site_id, product_id)
    return chosen


def forget_l2a(work: Store, site_id: str, since: date | None = None) -> int:
    """Make the site's L2A series run again from ``since`` (from its start when ``None``); return the
    number of step records removed.

    The next L2A run replays from there: every later date is processed again (its states and
    products replaced, published again where they changed). An initialization whose window reaches
    ``since`` is redone whole.
    """
    removed = 0
    for info in list(work.list(layout.l2a_prefix(site_id))):
        kind = layout.l2a_step_kind(info.key)
        if kind is None or not info.key.endswith(".json"):
            continue
        phase, init_start = kind
        if since is not None:
            record = read_json(work, info.key) or {}
            acquired = str(record.get("acquired", "9999"))[:10]
            if acquired < since.isoformat() and phase == "steps":
                continue
            if phase == "init" and not _init_reaches(work, f"{layout.l2a_init_prefix(site_id)}{init_start}/", since):
                continue
        work.delete(info.key)
        removed += 1
    log.info("%s: %d L2A step(s) forgotten%s", site_id, removed, f" from {since}" if since else "")
    return removed


def _init_reaches(work: Store, prefix: str, since: date) -> bool:
    """Whether an initialization (its backward step records under ``prefix``) has a date on or after ``since``."""
    for info in work.list(prefix):
        if info.key.endswith(".json") and str((read_json(work, info.key) or {}).get("acquired", ""))[:10] >= \
                since.isoformat():
            return True
    return False
