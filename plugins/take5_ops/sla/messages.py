"""The e-mails: one per site and day with the new alerts, and the weekly digest for the ops list.

Each message has a plain-text body and an HTML alternative with the same content.
"""

from __future__ import annotations

import os
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from urllib.parse import quote

from take5_ops.sla.rules import LEVELS, Status, days_left
from take5_ops.sla.status import AT_RISK, BREACHED, MISSING, Alert, SiteStatus

BASE_URL_ENV = "AIRFLOW__API__BASE_URL"
DEFAULT_BASE_URL = "http://localhost:8080"
SUBJECT_PREFIX = "[take5 SLA]"
SECTIONS = {  # state: (title, explanation)
    BREACHED: ("Newly breached", "past the deadline and not published"),
    AT_RISK: ("Newly at risk", "not published, the deadline is close"),
    MISSING: ("Missing acquisitions", "expected on the site's cycle day, nothing delivered since"),
}
PRODUCT_COLUMNS = ("product", "level", "acquired", "deadline", "rule", "days")


def ui_base_url(environ=os.environ) -> str:
    """The Airflow UI's address: ``$AIRFLOW__API__BASE_URL``, else ``http://localhost:8080``."""
    return (environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")


def run_url(base_url: str, dag_id: str, run_id: str) -> str:
    """Link to a DAG run in the Airflow 3 UI."""
    return f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _time(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC"


def _days(n: int) -> str:
    unit = "day" if abs(n) == 1 else "days"
    return f"{n} {unit} left" if n >= 0 else f"{-n} {unit} overdue"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _rows(alerts: list[Alert], now: datetime) -> list[tuple[str, ...]]:
    rows = []
    for a in alerts:
        if a.product is None:
            rows.append((a.expected.isoformat(), _plural((now.date() - a.expected).days, "day") + " ago"))
            continue
        p = a.product
        rows.append((p.product_id, p.level, _time(p.acquired), _time(p.deadline.due), p.deadline.describe(),
                     _days(days_left(p.deadline.due, now))))
    return rows


def _text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]


def _html_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th align=\"left\">{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr>{head}</tr>{body}</table>"


def _message(subject: str, to: list[str], sender: str, now: datetime, text: str, html: str,
             message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def alert_subject(site_id: str, alerts: list[Alert]) -> str:
    n = {state: sum(a.state == state for a in alerts) for state in SECTIONS}
    parts = [f"{n[BREACHED]} breached"] if n[BREACHED] else []
    parts += [f"{n[AT_RISK]} at risk"] if n[AT_RISK] else []
    parts += [_plural(n[MISSING], "missing acquisition")] if n[MISSING] else []
    return f"{SUBJECT_PREFIX} {site_id}: " + ", ".join(parts)


def site_alert_message(status: SiteStatus, alerts: list[Alert], *, sender: str, link: str | None) -> EmailMessage:
    """The day's message to a site's ``sla.contacts`` listing ``alerts`` (breached, at risk, missing
    acquisitions), with a link to the DAG run that found them."""
    site, now = status.site, status.now
    intro = (f"SPOT5 Take5 site {site.site_id} ({site.name}, {site.country}), checked {_time(now)}. "
             f"Products are due on the distribution server {site.sla.delivery_days} days after their "
             f"acquisition (L2A of the initialization window: {site.sla.delivery_days} days after its end).")
    text, html = [intro, ""], [f"<p>{escape(intro)}</p>"]
    for state, (title, meaning) in SECTIONS.items():
        chosen = sorted((a for a in alerts if a.state == state), key=lambda a: a.subject)
        if not chosen:
            continue
        header = ("expected day", "since") if state == MISSING else PRODUCT_COLUMNS
        rows = _rows(chosen, now)
        text += [f"{title} ({meaning}): {len(chosen)}", *_text_table(header, rows), ""]
        html += [f"<h3>{escape(title)} ({escape(meaning)}): {len(chosen)}</h3>", _html_table(header, rows)]
    text.append(f"DAG run: {link or '(no link)'}")
    html.append(f"<p>DAG run: <a href=\"{escape(link)}\">{escape(link)}</a></p>" if link
                else "<p>DAG run: (no link)</p>")
    return _message(alert_subject(site.site_id, alerts), list(site.sla.contacts), sender, now,
                    "\n".join(text) + "\n", "<html><body>" + "".join(html) + "</body></html>\n",
                    f"<take5-sla-{site.site_id}-{now:%Y%m%d}@take5>")


def digest_message(statuses: list[SiteStatus], now: datetime, *, to: list[str], sender: str) -> EmailMessage:
    """The weekly digest: per site, the number of product levels in each status and of missing
    acquisitions, and the totals."""
    header = ("site", *(f"{level} {s.value}" for level in LEVELS for s in Status), "missing")
    rows, totals = [], [0] * (len(header) - 1)
    for st in sorted(statuses, key=lambda s: s.site.site_id):
        counts = st.counts()
        values = [counts[level][s.value] for level in LEVELS for s in Status] + [len(st.missing)]
        totals = [t + v for t, v in zip(totals, values)]
        rows.append((st.site.site_id, *map(str, values)))
    rows.append(("all sites", *map(str, totals)))
    year, week, _ = now.isocalendar()
    breached = sum(st.counts()[level][Status.BREACHED.value] for st in statuses for level in LEVELS)
    at_risk = sum(st.counts()[level][Status.AT_RISK.value] for st in statuses for level in LEVELS)
    subject = (f"{SUBJECT_PREFIX} weekly digest {year}-W{week:02d}: {breached} breached, {at_risk} at risk, "
               f"{_plural(sum(len(st.missing) for st in statuses), 'missing acquisition')}, "
               f"{_plural(len(statuses), 'site')}")
    intro = f"SPOT5 Take5 SLA, week {year}-W{week:02d}, checked {_time(now)}: product levels per status."
    text = "\n".join([intro, "", *_text_table(header, rows)]) + "\n"
    html = f"<html><body><p>{escape(intro)}</p>{_html_table(header, rows)}</body></html>\n"
    return _message(subject, to, sender, now, text, html, f"<take5-sla-digest-{year}W{week:02d}@take5>")
