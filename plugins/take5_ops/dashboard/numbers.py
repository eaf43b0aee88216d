"""The dashboard's numbers, read from the buckets at a moment ``now``.

Per site: L1A received (every product the site knows: ledger entries and delivery prefixes) and
rejected (ledger status ``rejected``), L1C and L2A published (first publication at or before
``now``, :func:`take5_ops.sla.site_status`), the dates waiting for the L2A initialization and the
history the series has (its status document, ``layout.l2a_status_key``), and the product levels at risk or breached.
Campaign-wide: totals, publications per ISO week, and the latency acquisition -> publication;
in accounts mode, what users ordered per site and level (the accounts server's statistics document).
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from take5_ops.distribution.accounts.stats import read_stats
from take5_ops.siteconfig import SiteConfig
from take5_ops.sla.rules import CAMPAIGN_END, LEVELS, Status
from take5_ops.sla.state import mail_errors
from take5_ops.sla.status import l2a_status, site_status
from take5_ops.storage import layout, read_json

log = logging.getLogger(__name__)

READERS = 8  # sites read at once (object-store requests in flight)
COUNTS = ("received", "rejected", "l1c", "l2a", "published", "waiting_l2a", "at_risk", "breached")


@dataclass
class SiteRow:
    """One site's line of the table; ``problems``: ``{"product", "level", "status", "due", "days"}``."""

    site_id: str
    name: str
    received: int = 0
    rejected: int = 0
    l1c: int = 0
    l2a: int = 0
    published: int = 0
    waiting_l2a: int = 0
    history_days: int | None = None  # of the L2A series whose gate is closed
    init_days: int | None = None
    at_risk: int = 0
    breached: int = 0
    problems: list[dict] = field(default_factory=list)
    error: str | None = None  # the site could not be read


@dataclass
class Overview:
    """Everything the page shows; ``latency_days``: one value per published product level."""

    now: datetime
    delivery_days: int
    sites: list[SiteRow]
    totals: dict[str, int]
    weekly: dict[str, dict[str, int]]  # "YYYY-Www" -> {level: publications}
    latency_days: dict[str, list[float]]  # level -> days from acquisition to first publication
    mail_errors: list[dict]
    audit: dict | None = None  # the last audit's report (layout.audit_key), None before the first
    downloads: dict | None = None  # orders per site and level (accounts mode), None when it never ran

    def to_dict(self) -> dict:
        out = asdict(self)
        out["now"] = self.now.isoformat()
        return out


def _rejected(work, site_id: str, product_ids: set[str]) -> int:
    entries = (read_json(work, layout.ledger_key(site_id, pid)) for pid in sorted(product_ids))
    return sum(1 for e in entries if isinstance(e, dict) and e.get("status") == "rejected")


def _iso_week(t: datetime) -> str:
    year, week, _ = t.isocalendar()
    return f"{year}-W{week:02d}"


def _site_row(site: SiteConfig, buckets, now: datetime, campaign_end: date | None) -> tuple[SiteRow, list]:
    """One site's row, and its publications ``(level, published_at, acquired)``."""
    row, published = SiteRow(site.site_id, site.name), []
    try:
        status = site_status(site, buckets.l1a, buckets.work, buckets.dist, now, campaign_end=campaign_end)
        l2a = l2a_status(buckets.work, site.site_id)
        product_ids = {p.product_id for p in status.products}
        row.received = len(product_ids)
        row.rejected = _rejected(buckets.work, site.site_id, product_ids)
    except Exception as exc:  # one unreadable site does not blank the page
        log.exception("%s: dashboard numbers not read", site.site_id)
        row.error = f"{type(exc).__name__}: {exc}"
        return row, published
    for p in status.products:
        if p.status in (Status.DELIVERED, Status.DELIVERED_LATE):
            setattr(row, p.level.lower(), getattr(row, p.level.lower()) + 1)
            published.append((p.level, p.published_at, p.acquired))
        elif p.status in (Status.AT_RISK, Status.BREACHED):
            row.breached += p.status is Status.BREACHED
            row.at_risk += p.status is Status.AT_RISK
            row.problems.append({"product": p.product_id, "level": p.level, "status": p.status.value,
                                 "due": p.deadline.due.isoformat(),
                                 "days": (p.deadline.due - now) / timedelta(days=1)})
    row.published = row.l1c + row.l2a
    if l2a.get("gate") == "closed":
        row.waiting_l2a = sum(1 for d in l2a.get("dates", {}).values()
                              if isinstance(d, dict) and d.get("outcome") == "waiting")
        row.history_days, row.init_days = l2a.get("history_days"), l2a.get("init_days")
    return row, published


def production_overview(sites: list[SiteConfig], buckets, now: datetime, *,
                        campaign_end: date | None = CAMPAIGN_END) -> Overview:
    """The dashboard's numbers for ``sites`` at ``now`` (``buckets``: ``l1a``, ``work``, ``dist``).

    The sites are read :data:`READERS` at a time, each a few object-store requests (150 sites against
    the local moto server: 21 s one at a time, 17.5 s eight at a time). A site whose stores cannot be
    read gets its row with ``error`` set; the others are counted.
    """
    ordered = sorted(sites, key=lambda s: s.site_id)
    with ThreadPoolExecutor(READERS) as pool:
        done = list(pool.map(lambda site: _site_row(site, buckets, now, campaign_end), ordered))
    rows, weekly, latency = [row for row, _ in done], {}, {level: [] for level in LEVELS}
    for _, published in done:
        for level, published_at, acquired in published:
            weekly.setdefault(_iso_week(published_at), Counter())[level] += 1
            latency[level].append((published_at - acquired) / timedelta(days=1))
    totals = {k: sum(getattr(r, k) for r in rows) for k in COUNTS}
    delivery_days = sites[0].sla.delivery_days if sites else 21
    return Overview(now, delivery_days, rows, totals, {w: dict(weekly[w]) for w in sorted(weekly)},
                    {level: sorted(v) for level, v in latency.items()}, mail_errors(buckets.work),
                    read_json(buckets.work, layout.audit_key()), read_stats(buckets.work))
