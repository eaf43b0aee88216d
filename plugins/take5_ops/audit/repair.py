"""The safe fixes of the audit's findings, through the chain's own code; idempotent.

Nothing is deleted that cannot be rebuilt: a corrupt asset is replaced from the work bucket, an
orphan version is pruned only behind the Item that stays, an old processor version is withdrawn only
behind the current one (the relink: ``pipeline.update_catalog``), a lost product is made pending again
so that the next run rebuilds it. ``item-without-product`` has no fix. The STAC API's copy is
resynced last, from the repaired bucket.
"""

from __future__ import annotations

import logging
from datetime import date

from take5_ops.audit.findings import Finding
from take5_ops.distribution.publish import publish_product
from take5_ops.distribution.stacapi import index_for, sync_site
from take5_ops.l1a.intake import Rejected, ledger_entry, quarantine
from take5_ops.l2a.status import write_status
from take5_ops.pipeline import update_catalog
from take5_ops.reprocess import forget, forget_l2a
from take5_ops.siteconfig import SiteConfig
from take5_ops.sla.published import record_first_publications
from take5_ops.storage import Buckets, layout, read_json
from take5_ops.times import parse_time

log = logging.getLogger(__name__)

REPUBLISH = {"item-missing", "item-outdated", "asset-missing", "asset-corrupt"}
API = {"api-item-missing", "api-item-different"}
RELINK = REPUBLISH | {"item-unlinked", "link-to-missing-item", "stale-collection", "stale-metalink", "stale-page",
                      "orphan-version", "sla-unrecorded", "old-version"}


def _product_name(site_id: str, finding: Finding) -> str:
    """The product a finding is about (its subject is a name, an Item key or an asset key)."""
    return finding.subject.removeprefix(layout.site_prefix(site_id)).split("/")[0]


def repair_site(buckets: Buckets, site: SiteConfig, findings: list[Finding]) -> list[str]:
    """Apply the safe fix of each finding of ``site``; return what was done, one line each."""
    site_id, work, dist, done = site.site_id, buckets.work, buckets.dist, []
    kinds = {f.kind for f in findings}
    lost = {f.subject for f in findings if f.kind == "item-without-product"}  # nothing to rebuild them from
    findings = [f for f in findings if _product_name(site_id, f) not in lost]
    for f in findings:
        if f.kind == "ledger-without-quarantine":
            entry = ledger_entry(work, site_id, f.subject) or {}
            delivered = parse_time(entry["delivered_at"]) if entry.get("delivered_at") else None
            quarantine(work, Rejected(site_id, f.subject, entry.get("marker_etag") or "", entry.get("reason") or
                                      "rejected (reason lost)", delivered_at=delivered))
            done.append(f"{f.subject}: quarantine record written from the ledger")
        elif f.kind == "ledger-without-product":
            forget(work, site_id, [f.subject])
            done.append(f"{f.subject}: pending again")
        elif f.kind == "l2a-status-mismatch":  # the next L2A run rewrites the status whole
            forget_l2a(work, site_id, date.fromisoformat(f.subject))
            status = read_json(work, layout.l2a_status_key(site_id)) or {}
            (status.get("dates") or {}).pop(f.subject, None)
            write_status(work, {**status, "site_id": site_id})
            done.append(f"L2A series: replays from {f.subject} (its false status entry removed)")
        elif f.kind == "asset-corrupt":
            dist.delete(f.subject)  # rebuilt from the work bucket just below
    for name in sorted({_product_name(site_id, f) for f in findings if f.kind in REPUBLISH}):
        publish_product(work, dist, site_id, name, index_for(buckets.api))
        done.append(f"{name}: republished from the work bucket")
    for f in findings:
        if f.kind == "sla-unrecorded":
            written = dist.head(layout.item_key(site_id, f.subject))
            if written is not None:
                record_first_publications(work, site_id, [f.subject], written.last_modified)
                done.append(f"{f.subject}: first publication recorded at its Item's time")
    if kinds & RELINK:
        names = [layout.item_name_of(site_id, i.key) for i in dist.list(layout.site_prefix(site_id))]
        published = [{"name": n, "item_key": layout.item_key(site_id, n), "accepted": None} for n in names if n]
        summary = update_catalog(buckets, site, published, [])
        done.append(f"collection relinked ({summary['collection_items']} Items), "
                    f"{len(summary['metalinks_written'])} Metalink(s) and {len(summary['pages_written'])} page(s) "
                    f"written, {summary['pruned']} orphan object(s) pruned")
    api = index_for(buckets.api)
    if api is not None and kinds & (API | RELINK):
        diff = sync_site(api, dist, site_id)
        done.append(f"STAC API resynced: {len(diff.missing)} Item(s) added, {len(diff.different)} rewritten, "
                    f"{len(diff.extra)} deleted" + (", collection rewritten" if diff.collection else ""))
    for line in done:
        log.info("%s: repaired: %s", site_id, line)
    return done
