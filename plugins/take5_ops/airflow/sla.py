"""SLA task callables: the end-of-run check of a site DAG and the daily ``take5_sla_monitor`` DAG.

None of them fails its run because of an e-mail: SMTP failures are retried by the mailer, then
logged as WARNING, returned in the XCom and kept in the work bucket (``layout.sla_mail_error_key``) (the
dashboard shows them). The moment judged is the ``now`` given (ISO 8601 with its offset: the
monitor's param, for replays and tests), else ``$TAKE5_SLA_NOW``, else the wall clock. The end of
the campaign for quiet sites: Variable ``take5_campaign_end``, else ``$TAKE5_CAMPAIGN_END``
(``YYYY-MM-DD``, or ``none`` for no end), else 2015-09-15.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime

log = logging.getLogger(__name__)

NOW_ENV = "TAKE5_SLA_NOW"
CAMPAIGN_END_VARIABLE = "take5_campaign_end"
CAMPAIGN_END_ENV = "TAKE5_CAMPAIGN_END"


def judged_at(now: str | None = None) -> datetime:
    """The moment to judge: ``now``, else ``$TAKE5_SLA_NOW``, else the wall clock (UTC)."""
    text = now or os.environ.get(NOW_ENV)
    if not text:
        return datetime.now(UTC)
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError(f"now={text!r} must carry its UTC offset")
    return t.astimezone(UTC)


def parse_campaign_end(text: str | None) -> date | None:
    """``YYYY-MM-DD``; ``none``: no end; empty: 2015-09-15 (the Take5 campaign's end)."""
    from take5_ops.sla.rules import CAMPAIGN_END

    text = (text or "").strip()
    if not text:
        return CAMPAIGN_END
    return None if text.lower() == "none" else date.fromisoformat(text)


def campaign_end() -> date | None:
    """End of the expected acquisitions (quiet-site detection): Variable, else env, else the default."""
    from airflow.sdk import Variable

    return parse_campaign_end(Variable.get(CAMPAIGN_END_VARIABLE, default=os.environ.get(CAMPAIGN_END_ENV, "")))


def _run_link() -> str:
    from airflow.sdk import get_current_context

    from take5_ops.sla import run_url, ui_base_url

    context = get_current_context()
    return run_url(ui_base_url(), context["dag"].dag_id, context["run_id"])


def _buckets():
    from take5_ops.airflow.hooks import Take5Hook

    return Take5Hook().buckets()


def _check(site, buckets, now: datetime, mailer, link: str, end: date | None) -> dict:
    """One site's check as a JSON-able summary; any failure is logged and returned, never raised."""
    from take5_ops.sla import check_site

    try:
        result = check_site(site, buckets, now, mailer, link=link, campaign_end=end).to_dict()
    except Exception as exc:  # one site's bad state never stops the others, nor fails the run
        log.exception("%s: SLA check failed", site.site_id)
        return {"site_id": site.site_id, "error": f"SLA check failed: {type(exc).__name__}: {exc}"}
    if result["error"]:
        log.warning("%s: %s", site.site_id, result["error"])
    return result


def sla_check(site: dict) -> dict:
    """Last task of a site DAG: judge the site's products, e-mail its contacts what is newly at risk,
    breached or missing. Never fails (trigger rule ALL_DONE: runs after failures too)."""
    from take5_ops.airflow.mailer import connection_mailer
    from take5_ops.siteconfig import SiteConfig

    config = SiteConfig.model_validate(site)
    now = judged_at()
    try:
        mailer, buckets, end = connection_mailer(), _buckets(), campaign_end()
    except Exception as exc:
        log.warning("%s: SLA check not run: %s: %s", config.site_id, type(exc).__name__, exc)
        return {"site_id": config.site_id, "error": f"SLA check not run: {type(exc).__name__}: {exc}"}
    return _check(config, buckets, now, mailer, _run_link(), end)


def load_sites(configs_folder: str):
    """The valid site configurations of ``configs_folder``, by SITE_ID; the invalid ones logged."""
    from take5_ops.siteconfig import load_site_configs

    configs, errors = load_site_configs(configs_folder)
    for message in errors.values():
        log.error("site configuration skipped: %s", message)
    return [configs[k] for k in sorted(configs)]


def check_sites(configs_folder: str, now: str | None = None) -> dict:
    """The daily monitor: :func:`sla_check` of every site (quiet ones included); a summary with the
    sites that got a message and the errors by site."""
    from take5_ops.airflow.mailer import connection_mailer

    when = judged_at(now)
    mailer, buckets, end, link = connection_mailer(), _buckets(), campaign_end(), _run_link()
    results = [_check(site, buckets, when, mailer, link, end) for site in load_sites(configs_folder)]
    summary = {
        "now": when.isoformat(),
        "sites": len(results),
        "sent": [r["site_id"] for r in results if r.get("sent")],
        "deferred": [r["site_id"] for r in results if r.get("deferred")],
        "missing": {r["site_id"]: r["missing"] for r in results if r.get("missing")},
        "errors": {r["site_id"]: r["error"] for r in results if r.get("error")},
    }
    log.info("SLA monitor at %s: %d site(s), %d message(s) sent, %d error(s)", summary["now"], summary["sites"],
             len(summary["sent"]), len(summary["errors"]))
    return summary


def weekly_digest(configs_folder: str, now: str | None = None) -> dict:
    """Send the week's digest to the ops list (once per ISO week); never fails on an e-mail."""
    from take5_ops.airflow.mailer import connection_mailer, ops_list
    from take5_ops.sla import send_digest, site_status

    when = judged_at(now)
    to = ops_list()
    if not to:
        log.warning("no ops list (Variable take5_ops_list or $TAKE5_OPS_LIST): no weekly digest")
        return {"sent": False, "error": "no ops list"}
    buckets, end = _buckets(), campaign_end()
    statuses = []
    for site in load_sites(configs_folder):
        try:
            statuses.append(site_status(site, buckets.l1a, buckets.work, buckets.dist, when, campaign_end=end))
        except Exception:  # left out of this digest, the others still go
            log.exception("%s: left out of the digest", site.site_id)
    sent = send_digest(statuses, when, to, connection_mailer(), buckets.work)
    if sent is None:
        return {"sent": False, "error": None, "already_sent_this_week": True}
    if not sent.ok:
        log.warning("weekly digest not sent after %d attempts: %s", sent.attempts, sent.error)
    return {"sent": sent.ok, "error": sent.error, "to": to, "sites": len(statuses)}
