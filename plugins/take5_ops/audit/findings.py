"""What the audit finds: one :class:`Finding` per inconsistency, of a kind that says what it means and
the safe fix (:data:`KINDS`), and the :class:`Report` stored in the work bucket (``layout.audit_key``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from take5_ops.storage import Store, layout, read_json
from take5_ops.times import format_time

NO_FIX = "none: it cannot be rebuilt from what the chain holds; look at it by hand"

KINDS: dict[str, tuple[str, str]] = {  # kind -> (what it means, the safe fix --repair applies)
    "ledger-without-quarantine": ("a delivery recorded as rejected has no quarantine record",
                                  "write the quarantine record from the ledger's reason"),
    "ledger-without-product": ("a delivery recorded as published lacks its processed L1C or L1A in the work bucket",
                               "make the delivery pending again: the next run processes it"),
    "item-missing": ("a product the ledger or the L2A status says is published has no Item",
                     "republish it from the work bucket, then relink"),
    "item-outdated": ("an Item differs from the one its processed product gives (another version, other fields)",
                      "republish it from the work bucket, then relink"),
    "item-without-product": ("a published Item has no processed product in the work bucket", NO_FIX),
    "asset-missing": ("a file an Item names is absent", "republish the product from the work bucket"),
    "asset-corrupt": ("a file an Item names differs from its file:size or file:checksum",
                      "replace it from the work bucket (republish)"),
    "item-unlinked": ("an Item is not linked from its site's collection", "relink the collection"),
    "link-to-missing-item": ("the collection links an Item that does not exist", "relink the collection"),
    "stale-collection": ("the collection (extent, summaries, Metalink assets) differs from its Items",
                         "re-derive the collection"),
    "stale-metalink": ("a Metalink differs from the Items it lists", "re-derive the Metalinks"),
    "stale-page": ("a web page differs from the collection and Items", "re-derive the pages"),
    "orphan-version": ("an object under a product's folder that its Item does not name (an older version)",
                       "prune it (the Item's version stays)"),
    "old-version": ("a product is published in an older processor version beside its current one "
                    "(a reprocessing that did not finish)",
                    "publish the current version if needed, then withdraw the old one (Item, files, links)"),
    "sla-unrecorded": ("a published product has no first-publication time for the SLA",
                       "record the time its Item was written"),
    "api-item-missing": ("a published Item (or its collection) is not in the STAC API",
                         "resync the site's STAC API copy from the bucket (as take5 api-sync)"),
    "api-item-different": ("the STAC API holds an Item the bucket has not (extra), or another content than "
                           "the bucket's Item or collection", "resync the site's STAC API copy from the bucket "
                           "(as take5 api-sync): upserted, or deleted by id"),
    "l2a-status-mismatch": ("the L2A status says a date is published, but its product is not in the work bucket",
                            "replay the L2A series from that date at the next run (the false entry goes)"),
}


@dataclass(frozen=True)
class Finding:
    """One inconsistency: its kind, the site, what it is about (a product, a key) and the details."""

    kind: str
    site_id: str
    subject: str
    detail: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown audit finding kind {self.kind!r}")

    @property
    def meaning(self) -> str:
        return KINDS[self.kind][0]

    @property
    def fix(self) -> str:
        return KINDS[self.kind][1]

    def line(self) -> str:
        """One printable line: kind, subject, details, meaning and fix."""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.site_id}: {self.kind}: {self.subject}{detail}\n    means: {self.meaning}\n    fix: {self.fix}"


@dataclass
class Report:
    """One audit: the findings and, per site, the deliveries waiting for a run (not inconsistencies)."""

    findings: list[Finding] = field(default_factory=list)
    pending: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # site -> why it could not be audited
    repaired: list[str] = field(default_factory=list)  # what --repair did
    audited_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def clean(self) -> bool:
        return not self.findings and not self.errors

    def to_dict(self) -> dict:
        return {"audited_at": format_time(self.audited_at), "clean": self.clean,
                "findings": [{**asdict(f), "meaning": f.meaning, "fix": f.fix} for f in self.findings],
                "pending": self.pending, "errors": self.errors, "repaired": self.repaired}


def store_report(work: Store, report: Report) -> None:
    """Keep ``report`` as the last audit (``layout.audit_key``)."""
    work.put_bytes(layout.audit_key(), json.dumps(report.to_dict(), indent=1, sort_keys=True).encode(),
                   "application/json")


def last_report(work: Store) -> dict | None:
    """The last stored audit (:meth:`Report.to_dict`), ``None`` when there is none."""
    return read_json(work, layout.audit_key())
