"""Reprocessing on request: to the current processor versions across sites, or making deliveries
pending again.

**To the current versions** (the ``take5_reprocess`` DAG, docs/operations.md): after a processor
version is bumped (``naming.PROCESSOR_VERSIONS``), :func:`plan_site` lists what of a site is not at
the current version yet: the L1C products of the deliveries the ledger applied, the dates of the L2A
series whose product is older. :func:`reprocess_l1c` processes and publishes the new L1C versions,
:func:`reprocess_l2a` replays the L2A series from the first older date (an L1C change replays it by
itself from the first changed input) and publishes the new products, :func:`finish_site` links them
and withdraws the old versions after (``pipeline.update_catalog``). Nothing of this is kept anywhere
but in the stores, and each step finds what is already done: a rerun after an interruption plans
only what is left and duplicates nothing.

**Making deliveries pending again** (``take5 reprocess``): a redelivery by the producer supersedes
the old one by itself. To reprocess deliveries that did not change (an input fix at the same
version), forget them: their ledger entry goes, so the next run of the site finds them pending, and
their processed products in the work bucket go, so that the processing runs again instead of reusing
them. Publication then replaces the published products (the same names) in place.

The L2A series replays by itself from a redelivered or late date; after an L2A processor fix,
:func:`forget_l2a` makes it replay from a chosen date.
"""

from __future__ import annotations

import logging
from datetime import date

from take5_ops import pipeline
from take5_ops.l1a.delivery import MARKER, parse_delivery_ok
from take5_ops.l1a.intake import Accepted, ledger_entry
from take5_ops.naming import LEVELS, parse_product_id, parse_product_name, processor_version, product_version
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import Buckets, Store, layout, read_json

REPROCESSED_LEVELS = ("L1C", "L2A")  # the L1A is the delivery as published: nothing to redo

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


def plan_site(buckets: Buckets, site: SiteConfig, levels: list[str], since: date | None = None) -> dict:
    """What bringing ``site`` to the current processor versions of ``levels`` still has to do, for
    products acquired on or after ``since``: ``{"site_id", "l1c": [Accepted dicts], "l2a_from": date
    text or None, "versions": {level: version}}``. Read only; empty once everything is done.

    A delivery whose ``DELIVERY.OK`` changed since the ledger applied it is left to the site's run
    (it is pending).
    """
    unknown = sorted(set(levels) - set(REPROCESSED_LEVELS))
    if unknown or not levels:
        raise ValueError(f"levels must be among {', '.join(REPROCESSED_LEVELS)}, not {levels!r}")
    site_id, work = site.site_id, buckets.work
    l1c = []
    if "L1C" in levels:
        current = processor_version("L1C")
        for key in sorted(i.key for i in work.list(layout.ledger_prefix(site_id))):
            product_id = layout.ledger_product_id(key)
            entry = read_json(work, key) if product_id else None
            if not entry or entry.get("status") != "published" or not entry.get("product_name"):
                continue
            if since and parse_product_id(product_id).acquired.date() < since:
                continue
            if product_version(entry["product_name"]) != current:
                accepted = applied_delivery(buckets, site_id, product_id)
                if accepted is not None:
                    l1c.append(accepted.to_dict())
    l2a_from = _older_l2a_from(work, site_id, since) if "L2A" in levels else None
    plan = {"site_id": site_id, "l1c": l1c, "l2a_from": l2a_from,
            "versions": {level: processor_version(level) for level in levels}}
    log.info("%s: %d L1C product(s) to reprocess, L2A %s", site_id, len(l1c),
             f"to replay from {l2a_from}" if l2a_from else "up to date")
    return plan


def applied_delivery(buckets: Buckets, site_id: str, product_id: str) -> Accepted | None:
    """The delivery the ledger applied, as an :class:`Accepted` for ``pipeline.run_l1c`` (the L1C checks
    its files against the manifest again); ``None`` when its ``DELIVERY.OK`` changed or went."""
    entry = ledger_entry(buckets.work, site_id, product_id) or {}
    marker_key = layout.delivery_prefix(site_id, product_id) + MARKER
    marker = buckets.l1a.head(marker_key)
    if marker is None or marker.etag != entry.get("marker_etag"):
        log.warning("%s: changed since the ledger applied it: left to the site's run", buckets.l1a.href(marker_key))
        return None
    manifest = parse_delivery_ok(buckets.l1a.get_bytes(marker_key), site_id=site_id, product_id=product_id,
                                 source=buckets.l1a.href(marker_key))
    pid = parse_product_id(product_id)
    return Accepted(site_id, product_id, marker.etag, marker.last_modified, manifest.delivered_at, manifest,
                    pid.acquired, pid.instrument)


def _older_l2a_from(work: Store, site_id: str, since: date | None) -> str | None:
    """The first date (on or after ``since``) whose L2A step made a product of an older version."""
    current, first = processor_version("L2A"), None
    for info in work.list(layout.l2a_prefix(site_id)):
        if layout.l2a_step_kind(info.key) != ("steps", "") or not info.key.endswith(".json"):
            continue
        record = read_json(work, info.key) or {}
        day, product = str(record.get("acquired", ""))[:10], record.get("product")
        if product and product_version(product) != current and (since is None or day >= since.isoformat()):
            first = day if first is None else min(first, day)
    return first


def reprocess_l1c(buckets: Buckets, site: SiteConfig, plan: dict) -> dict:
    """Process and publish the planned L1C products (a product already processed or published at the
    current version is skipped by the chain). Returns ``{"published": [names], "already": n (of them,
    published by an earlier, interrupted run), "failed": {PRODUCT_ID: reason}}``."""
    from take5_ops.distribution.publish import published_names

    before = set(published_names(buckets.dist, site.site_id))
    published, failed = [], {}
    for accepted in plan["l1c"]:
        try:
            published.append(pipeline.publish(buckets, site, pipeline.run_l1c(buckets, site, accepted))["name"])
        except Exception as exc:  # the others go on; a rerun plans this one again
            log.exception("%s: L1C reprocessing failed", accepted["product_id"])
            failed[accepted["product_id"]] = f"{type(exc).__name__}: {exc}"
    return {"published": published, "already": len(before & set(published)), "failed": failed}


def reprocess_l2a(buckets: Buckets, site: SiteConfig, plan: dict) -> dict:
    """Replay the site's L2A series from ``plan["l2a_from"]`` (when set), bring it up to date and publish
    what changed. Returns ``{"published": [names], "processed": steps run, "failed": {name: reason}}``."""
    # from the first date still older (a retry after a partial replay does not forget it again)
    start = plan.get("l2a_from") and _older_l2a_from(buckets.work, site.site_id, date.fromisoformat(plan["l2a_from"]))
    if start:
        forget_l2a(buckets.work, site.site_id, date.fromisoformat(start))
    ready, message = pipeline.l2a_gate(buckets, site)
    if not ready:
        log.info("%s: L2A %s: nothing to replay", site.site_id, message)
        return {"published": [], "processed": 0, "failed": {}}
    done = pipeline.run_l2a(buckets, site)
    for name, reason in done["skipped"].items():  # the series went on without them, as in the site's run
        log.error("L2A date skipped: %s: %s", name, reason)
    published, failed = [], {}
    for item in done["to_publish"]:
        try:
            published.append(pipeline.publish(buckets, site, item)["name"])
        except Exception as exc:
            log.exception("%s: not published", item["product"]["name"])
            failed[item["product"]["name"]] = f"{type(exc).__name__}: {exc}"
    return {"published": published, "processed": done["processed"], "failed": failed}


def finish_site(buckets: Buckets, site: SiteConfig) -> dict:
    """Link the site's current versions and withdraw the old ones after (``pipeline.update_catalog``),
    committing the ledger of the reprocessed deliveries; from the stores alone, so that it completes
    whatever an interrupted run published."""
    from take5_ops.distribution.publish import current_versions, published_names

    site_id, published = site.site_id, []
    for name in current_versions(published_names(buckets.dist, site_id)).values():
        done = {"name": name, "item_key": layout.item_key(site_id, name), "accepted": None}
        pid, level = parse_product_name(name)
        entry = (ledger_entry(buckets.work, site_id, str(pid)) or {}) if level == "L1C" else {}
        if entry.get("status") == "published" and entry.get("product_name") not in (None, name):
            accepted = applied_delivery(buckets, site_id, str(pid))  # the ledger now names the new version
            done["accepted"] = accepted.to_dict() if accepted else None
        published.append(done)
    summary = pipeline.update_catalog(buckets, site, published, [])
    log.info("%s: %d older version(s) withdrawn after their successor was published", site_id,
             len(summary["withdrawn_versions"]))
    return summary
