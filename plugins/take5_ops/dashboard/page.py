"""The dashboard page: one self-contained HTML document (inline CSS, inline SVG charts, no script)."""

from __future__ import annotations

import math
from html import escape
from urllib.parse import quote

from take5_ops.dashboard.fleet import Fleet
from take5_ops.dashboard.numbers import COUNTS, Overview
from take5_ops.storage import layout

LABELS = {"received": "L1A received", "rejected": "L1A rejected", "l1c": "L1C published",
          "l2a": "L2A published", "published": "published", "waiting_l2a": "waiting for L2A init",
          "at_risk": "at risk", "breached": "breached"}
COLORS = {"L1C": "#3b7dd8", "L2A": "#2e9e6b"}
BIN_DAYS = 3
CSS = """
body{font-family:system-ui,sans-serif;margin:16px;color:#1d2433;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}
.muted{color:#667}.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #d5dae3;border-radius:6px;padding:8px 12px;min-width:110px}
.card b{display:block;font-size:22px}.bad b{color:#c0392b}.warn b{color:#d68910}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e3e6ec;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}tr.total td{font-weight:bold;border-top:2px solid #99a}
.alert{background:#fdecea;border:1px solid #e6b0aa;padding:8px 12px;border-radius:6px}
.charts{display:flex;flex-wrap:wrap;gap:24px}svg text{font-size:11px;fill:#333}
"""


def _svg_bars(title: str, labels: list[str], series: dict[str, list[float]], *, marker: float | None = None,
              marker_label: str = "", edges: bool = False, testid: str) -> str:
    """A stacked bar chart of counts: one bar per label (centred, or on the bar's left edge with
    ``edges``), one colour per series; an optional vertical marker (position in bars)."""
    width, height, left, bottom, top = 560, 240, 40, 44, 16
    n = max(len(labels), 1)
    step = (width - left - 10) / n
    totals = [sum(v[i] for v in series.values()) for i in range(len(labels))]
    tick = max(1, math.ceil(max(totals, default=0) / 4))  # whole counts on the axis
    peak = 4 * tick
    scale = (height - bottom - top) / peak
    parts = [f'<svg data-testid="{testid}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}">']
    for k in range(5):  # grid lines with values
        value = peak * k / 4
        y = height - bottom - value * scale
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ec"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for i, label in enumerate(labels):
        x, base = left + i * step + 2, height - bottom
        for name, values in series.items():
            h = values[i] * scale
            if h > 0:
                parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{max(step - 4, 1):.1f}" height="{h:.1f}" '
                             f'fill="{COLORS.get(name, "#888")}"><title>{escape(label)} {escape(name)}: '
                             f'{values[i]:g}</title></rect>')
                base -= h
        if n <= 16 or i % math.ceil(n / 16) == 0:
            parts.append(f'<text x="{x - 2 if edges else x + step / 2:.1f}" y="{height - bottom + 14}" '
                         f'text-anchor="middle">'
                         f'{escape(label)}</text>')
    if marker is not None:
        x = left + marker * step
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{height - bottom}" stroke="#c0392b" '
                     f'stroke-dasharray="5,3" stroke-width="2"/><text x="{x + 4:.1f}" y="{top + 4}" '
                     f'fill="#c0392b">{escape(marker_label)}</text>')
    for j, name in enumerate(series):
        parts.append(f'<rect x="{left + j * 70}" y="{height - 18}" width="10" height="10" '
                     f'fill="{COLORS.get(name, "#888")}"/><text x="{left + j * 70 + 14}" y="{height - 9}">'
                     f'{escape(name)}</text>')
    return "".join(parts) + "</svg>"


def weekly_chart(overview: Overview) -> str:
    weeks = list(overview.weekly)
    series = {level: [overview.weekly[w].get(level, 0) for w in weeks] for level in COLORS}
    return _svg_bars("products published per week", [w[5:] for w in weeks], series, testid="weekly-chart")


def latency_chart(overview: Overview) -> str:
    """Histogram of the days from acquisition to first publication, in 3-day bins, with the target."""
    target = overview.delivery_days
    worst = max((d for v in overview.latency_days.values() for d in v), default=0)
    nbins = max(math.ceil(max(worst, target + BIN_DAYS) / BIN_DAYS), 1)
    series = {}
    for level, days in overview.latency_days.items():
        counts = [0] * nbins
        for d in days:
            counts[min(int(max(d, 0) // BIN_DAYS), nbins - 1)] += 1
        series[level] = counts
    labels = [f"{i * BIN_DAYS}" for i in range(nbins)]
    return _svg_bars("latency acquisition to publication (days)", labels, series, marker=target / BIN_DAYS,
                     marker_label=f"target {target} d", edges=True, testid="latency-chart")


def _within(overview: Overview) -> str:
    days = [d for v in overview.latency_days.values() for d in v]
    if not days:
        return "no product published yet"
    ok = sum(d <= overview.delivery_days for d in days)
    return (f'<span data-testid="within-target">{ok}</span> of <span data-testid="latency-count">{len(days)}'
            f"</span> product levels published within {overview.delivery_days} days ({100 * ok / len(days):.0f} %)")


def _days(value: float) -> str:
    n = math.floor(value) if value >= 0 else -math.ceil(-value)
    return f"{n} d left" if n >= 0 else f"{-n} d overdue"


AUDIT_LINES = 20


def audit_box(report: dict | None, airflow_url: str) -> str:
    """The last audit: when, clean or its findings (the first :data:`AUDIT_LINES`), the pending deliveries."""
    dag = f'<a target="_top" href="{escape(airflow_url)}/dags/take5_audit">take5_audit</a>'
    if not report:
        return f'<p class="muted" data-testid="audit">no audit yet: run {dag} or take5 audit</p>'
    pending = sum(len(v) for v in (report.get("pending") or {}).values())
    when = escape(str(report.get("audited_at", "?")))
    if report.get("clean"):
        return (f'<p data-testid="audit">Last audit {when}: no inconsistency; {pending} delivery(ies) waiting '
                f'for a run ({dag}).</p>')
    findings, errors = report.get("findings") or [], report.get("errors") or {}
    items = "".join(f"<li>{escape(f.get('site_id', '?'))}: <b>{escape(f.get('kind', '?'))}</b> "
                    f"{escape(f.get('subject', ''))}: {escape(f.get('fix', ''))}</li>" for f in findings[:AUDIT_LINES])
    items += "".join(f"<li>{escape(s)}: not audited: {escape(e)}</li>" for s, e in errors.items())
    more = f"<li>… {len(findings) - AUDIT_LINES} more</li>" if len(findings) > AUDIT_LINES else ""
    return (f'<div class="alert" data-testid="audit"><b>Last audit {when}: {len(findings)} inconsistency(ies), '
            f'{len(errors)} site(s) not audited</b> — repair with take5 audit --repair or {dag} with '
            f'repair=true<ul>{items}{more}</ul></div>')


def downloads_box(stats: dict | None) -> str:
    """What users ordered per site and level (accounts mode): orders, products, files, size."""
    if not stats:
        return '<p class="muted" data-testid="downloads">no order: accounts mode is off (public downloads are not counted)</p>'
    if not stats.get("rows"):
        return '<p class="muted" data-testid="downloads">accounts mode: no order yet</p>'
    rows = "".join(
        f'<tr data-testid="download-row" data-site="{escape(str(r.get("site")))}" data-level="{escape(str(r.get("level")))}">'
        f'<td>{escape(str(r.get("site")))}</td><td>{escape(str(r.get("level")))}</td><td>{int(r.get("orders", 0))}</td>'
        f'<td>{int(r.get("products", 0))}</td><td>{int(r.get("files", 0))}</td>'
        f'<td>{int(r.get("bytes", 0)) / 1e9:.2f}</td></tr>' for r in stats.get("rows", []) if isinstance(r, dict))
    t = stats.get("totals") or {}
    return (f'<table data-testid="downloads"><tr><th>site</th><th>level</th><th>orders</th><th>products</th>'
            f'<th>files</th><th>GB</th></tr>{rows}<tr class="total"><td>all</td><td></td><td></td>'
            f'<td>{int(t.get("products", 0))}</td><td>{int(t.get("files", 0))}</td>'
            f'<td>{int(t.get("bytes", 0)) / 1e9:.2f}</td></tr></table>'
            f'<p class="muted">ordered through accounts (files in the orders, not downloads seen by the server), '
            f'as of {escape(str(stats.get("updated_at", "?")))}</p>')


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def fleet_box(fleet: Fleet | None) -> str:
    """Worker hosts (running now, the oldest running, finished and failed in the window, last end), queues
    (waiting, the oldest waiting, running), and which host ran each site's last tasks."""
    if fleet is None:
        return '<p class="muted" data-testid="fleet">no fleet information (not under Airflow)</p>'
    hosts = "".join(
        f'<tr data-testid="host"><td>{escape(h.host)}</td><td>{h.running}</td><td>{_duration(h.oldest_running_s)}</td>'
        f'<td>{h.finished}</td><td>{h.failed}</td><td>{escape(f"{h.last_end:%H:%M:%S}" if h.last_end else "")}</td></tr>'
        for h in fleet.hosts)
    queues = "".join(
        f'<tr data-testid="queue"><td>{escape(q.queue)}</td><td data-col="queued">{q.queued}</td>'
        f'<td>{_duration(q.oldest_queued_s)}</td><td>{q.running}</td></tr>' for q in fleet.queues)
    sites = "".join(
        f'<tr><td>{escape(site)}</td><td>' + " · ".join(
            f'{escape(t["task"])} <b>{escape(t["host"] or "?")}</b> ({escape(str(t["state"]))})' for t in tasks)
        + "</td></tr>" for site, tasks in fleet.sites.items())
    return (f'<div class="charts" data-testid="fleet"><table><tr><th>worker host</th><th>running</th>'
            f'<th>oldest running</th><th>finished</th><th>failed</th><th>last end (UTC)</th></tr>'
            f'{hosts or "<tr><td>none yet</td></tr>"}</table>'
            f'<table><tr><th>queue</th><th>waiting</th><th>oldest waiting</th><th>running</th></tr>'
            f'{queues or "<tr><td>empty</td></tr>"}</table></div>'
            f'<details data-testid="fleet-sites"><summary>last tasks of {len(fleet.sites)} site(s) and their '
            f'hosts</summary><table>{sites}</table></details>')


def render_page(overview: Overview, *, airflow_url: str, public_url: str, fleet: Fleet | None = None) -> str:
    """The HTML page. ``airflow_url``: the Airflow UI (DAG links); ``public_url``: the distribution
    server's base (each site's page, ``<SITE>/index.html``); ``fleet``: the worker hosts and queues."""
    airflow_url, public_url = airflow_url.rstrip("/"), public_url.rstrip("/")
    t = overview.totals
    cards = "".join(
        f'<div class="card{" bad" if k == "breached" and t[k] else " warn" if k == "at_risk" and t[k] else ""}">'
        f'<b data-testid="total-{k}">{t[k]}</b>{escape(LABELS[k])}</div>' for k in COUNTS)
    head = "".join(f"<th>{escape(LABELS[k])}</th>" for k in COUNTS) + "<th>links</th>"
    body, idle, problems = [], [], []
    for r in sorted(overview.sites, key=lambda r: (-r.breached, -r.at_risk, r.site_id)):
        dag = f"{airflow_url}/dags/{quote('take5_' + r.site_id, safe='')}"
        dist = f"{public_url}/{quote(layout.site_page_key(r.site_id), safe='/')}"
        cells = []
        for k in COUNTS:
            text = str(getattr(r, k))
            if k == "waiting_l2a" and r.history_days is not None:
                text += f" ({r.history_days}/{r.init_days} d)"
            cells.append(f'<td data-site="{escape(r.site_id)}" data-col="{k}">{escape(text)}</td>')
        error = f' <span class="muted" title="{escape(r.error)}">(unreadable)</span>' if r.error else ""
        active = r.received or r.published or r.waiting_l2a or r.error or r.problems
        (body if active else idle).append(
            f'<tr><td title="{escape(r.name)}">{escape(r.site_id)}{error}</td>{"".join(cells)}'
            f'<td><a target="_top" href="{escape(dag)}">DAG</a> · '
            f'<a target="_blank" href="{escape(dist)}">distribution</a></td></tr>')
        problems += [(r.site_id, p) for p in r.problems]
    body.append('<tr class="total"><td>campaign</td>' + "".join(f"<td>{t[k]}</td>" for k in COUNTS) + "<td></td></tr>")
    problems.sort(key=lambda sp: (sp[1]["status"] != "breached", sp[1]["due"], sp[0]))
    rows = "".join(f'<tr data-testid="problem"><td>{escape(s)}</td><td>{escape(p["product"])}</td>'
                   f'<td>{escape(p["level"])}</td><td>{escape(p["status"])}</td><td>{escape(p["due"][:16])}</td>'
                   f'<td>{escape(_days(p["days"]))}</td></tr>' for s, p in problems)
    problem_table = (f"<table><tr><th>site</th><th>product</th><th>level</th><th>status</th><th>deadline (UTC)</th>"
                     f"<th></th></tr>{rows}</table>" if problems else '<p class="muted">none</p>')
    idle_box = (f'<details data-testid="idle-sites"><summary>{len(idle)} sites without any delivery yet</summary>'
                f'<table><tr><th>site</th>{head}</tr>{"".join(idle)}</table></details>' if idle else "")
    mail = "".join(f"<li>{escape(e.get('site_id', '?'))}: since {escape(str(e.get('failed_at')))}: "
                   f"{escape(e['error'])}</li>" for e in overview.mail_errors)
    mail_box = (f'<div class="alert" data-testid="mail-errors"><b>E-mails not sent</b><ul>{mail}</ul></div>'
                if mail else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Take5 production</title><style>{CSS}</style></head>
<body><h1>Take5 production</h1>
<p class="muted">SPOT5 Take5 campaign, {len(overview.sites)} sites, as of {overview.now:%Y-%m-%d %H:%M} UTC.
Target: every product on the distribution server {overview.delivery_days} days after its acquisition.</p>
{mail_box}<div class="cards">{cards}</div>
<div class="charts"><div><h2>Products published per week</h2>{weekly_chart(overview)}</div>
<div><h2>Latency, acquisition to publication</h2>{latency_chart(overview)}<p>{_within(overview)}</p></div></div>
<h2>Products at risk or breached</h2>{problem_table}
<h2>Audit</h2>{audit_box(overview.audit, airflow_url)}
<h2>Downloads ordered</h2>{downloads_box(overview.downloads)}
<h2>Fleet</h2>{fleet_box(fleet)}
<h2>Sites</h2><table data-testid="sites"><tr><th>site</th>{head}</tr>{"".join(body)}</table>
{idle_box}
</body></html>
"""
