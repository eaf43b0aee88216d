"""The audit of the whole chain's state, site by site, and its safe repairs (docs/operations.md).

:func:`run_audit` checks every site (:func:`~take5_ops.audit.checks.audit_site`), with ``repair``
applies the safe fixes (:func:`~take5_ops.audit.repair.repair_site`) and checks again, and keeps
the :class:`~take5_ops.audit.findings.Report` in the work bucket for the dashboard.
"""

from __future__ import annotations

import logging

from take5_ops.audit.checks import audit_site
from take5_ops.audit.findings import KINDS, Finding, Report, last_report, store_report
from take5_ops.audit.repair import repair_site
from take5_ops.errors import Take5Error
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import Buckets

__all__ = ["KINDS", "Finding", "Report", "last_report", "run_audit"]

log = logging.getLogger(__name__)


def run_audit(buckets: Buckets, sites: list[SiteConfig], *, repair: bool = False) -> Report:
    """Audit ``sites`` (and repair them with ``repair``); store and return the report.

    A site that cannot be read (a store error, a corrupt document the checks trip on) is reported
    under ``errors`` and the others go on.
    """
    report = Report()
    for site in sites:
        try:
            findings, pending = audit_site(buckets, site)
            if repair and findings:
                report.repaired += [f"{site.site_id}: {line}" for line in repair_site(buckets, site, findings)]
                findings, pending = audit_site(buckets, site)
        except (Take5Error, OSError) as exc:
            log.exception("%s: audit failed", site.site_id)
            report.errors[site.site_id] = f"{type(exc).__name__}: {exc}"
            continue
        report.findings += findings
        if pending:
            report.pending[site.site_id] = pending
        log.info("%s: %d inconsistency(ies), %d pending deliveries", site.site_id, len(findings), len(pending))
    store_report(buckets.work, report)
    return report
