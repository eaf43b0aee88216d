"""The task of the weekly ``take5_audit`` DAG: :func:`take5_ops.audit.run_audit` over every site.

The report goes to the work bucket (the dashboard shows it) and to the log, one finding with its
meaning and fix per entry; the task fails (and e-mails) while an inconsistency is left.
"""

from __future__ import annotations

import logging

from airflow.sdk.exceptions import AirflowFailException

log = logging.getLogger(__name__)


def audit_sites(configs_folder: str, repair: bool | str = False) -> dict:
    """Audit (and with ``repair``, repair) every configured site; a summary of the report. ``repair`` may
    come rendered from the param (``"True"``)."""
    from take5_ops.airflow.hooks import Take5Hook
    from take5_ops.airflow.sla import load_sites
    from take5_ops.audit import run_audit

    report = run_audit(Take5Hook().buckets(), load_sites(configs_folder), repair=str(repair).lower() == "true")
    for line in report.repaired:
        log.info("repaired: %s", line)
    for finding in report.findings:
        log.warning("%s", finding.line())
    summary = {"clean": report.clean, "findings": len(report.findings), "errors": report.errors,
               "repaired": len(report.repaired), "pending": {s: len(p) for s, p in report.pending.items()}}
    log.info("audit: %s", summary)
    if not report.clean:
        kinds = sorted({f.kind for f in report.findings})
        raise AirflowFailException(f"audit: {len(report.findings)} inconsistency(ies) ({', '.join(kinds)}), "
                                   f"{len(report.errors)} site(s) not audited; run it with repair=true "
                                   "or take5 audit --repair")
    return summary
