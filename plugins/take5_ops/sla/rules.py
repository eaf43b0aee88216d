"""The SLA rules, as pure functions of times: deadlines, statuses, expected acquisition days.

No store and no wall clock here: every function takes the moment it judges
(``now``) as an argument. See docs/sla.md.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from take5_ops.siteconfig import SiteConfig

LEVELS = ("L1C", "L2A")
CYCLE_EPOCH = date(2015, 4, 8)  # a cycle day 1 (scripts/generate_site_configs.py, take5_ops.sim.scene)
CYCLE_DAYS = 5
CAMPAIGN_END = date(2015, 9, 15)  # last day of the SPOT5 Take5 acquisitions: no site is expected after it
RULE_ACQUISITION = "acquisition"
RULE_L2A_WINDOW = "L2A initialization window"


class Status(str, Enum):
    """State of one product at one level."""

    ON_TIME = "on time"
    AT_RISK = "at risk"
    BREACHED = "breached"
    DELIVERED_LATE = "delivered late"
    DELIVERED = "delivered"


@dataclass(frozen=True)
class Deadline:
    """When a product level is due, from when it is at risk, and which rule said so."""

    due: datetime
    at_risk_from: datetime
    rule: str  # RULE_ACQUISITION or RULE_L2A_WINDOW
    origin: datetime  # the acquisition, or the end of the initialization window
    delivery_days: int

    def describe(self) -> str:
        """The rule in words, e.g. ``acquisition + 21 d`` or
        ``end of L2A initialization window (2015-05-08) + 21 d``."""
        if self.rule == RULE_L2A_WINDOW:
            return f"end of L2A initialization window ({self.origin:%Y-%m-%d}) + {self.delivery_days} d"
        return f"acquisition + {self.delivery_days} d"


def l2a_series_starts(acquisitions: Iterable[datetime], max_gap_days: int) -> list[datetime]:
    """Starts of a site's L2A series: its first acquisition, and each one after a gap longer than
    ``max_gap_days`` (which restarts the series)."""
    starts: list[datetime] = []
    previous = None
    for t in sorted(acquisitions):
        if previous is None or t - previous > timedelta(days=max_gap_days):
            starts.append(t)
        previous = t
    return starts


def deadline(site: SiteConfig, level: str, acquired: datetime, series_starts: list[datetime] = ()) -> Deadline:
    """Deadline of a product level: acquisition + ``sla.delivery_days``; for an L2A acquired inside
    its series' initialization window (series start + ``l2a.init_days``), the end of the window +
    ``sla.delivery_days``. At risk from ``sla.delivery_days - sla.at_risk_days`` before the deadline."""
    if level not in LEVELS:
        raise ValueError(f"unknown product level {level!r}")
    days = site.sla.delivery_days
    margin = timedelta(days=days - site.sla.at_risk_days)
    origin, rule = acquired, RULE_ACQUISITION
    if level == "L2A":
        i = bisect.bisect_right(series_starts, acquired)
        if i:
            window_end = series_starts[i - 1] + timedelta(days=site.l2a.init_days)
            if acquired < window_end:
                origin, rule = window_end, RULE_L2A_WINDOW
    due = origin + timedelta(days=days)
    return Deadline(due, due - margin, rule, origin, days)


def status_at(limit: Deadline, published_at: datetime | None, now: datetime) -> Status:
    """The status at ``now``; a publication later than ``now`` has not happened yet."""
    if published_at is not None and published_at <= now:
        return Status.DELIVERED if published_at <= limit.due else Status.DELIVERED_LATE
    if now > limit.due:
        return Status.BREACHED
    if now >= limit.at_risk_from:
        return Status.AT_RISK
    return Status.ON_TIME


def days_left(due: datetime, now: datetime) -> int:
    """Whole days left before ``due`` (rounded down), negative when overdue (rounded up: -1 as soon
    as it is overdue)."""
    days = (due - now) / timedelta(days=1)
    return math.floor(days) if days >= 0 else -math.ceil(-days)


def local_date(site: SiteConfig, acquired: datetime) -> date:
    """The local (mean solar) day of an acquisition at the site's longitude."""
    return (acquired + timedelta(hours=site.center.lon / 15.0)).date()


def cycle_dates(cycle_day: int, start: date, end: date) -> list[date]:
    """Days from ``start`` to ``end`` (inclusive) on a cycle day: (d - 2015-04-08) % 5 == cycle_day - 1."""
    first = start + timedelta(days=(cycle_day - 1 - (start - CYCLE_EPOCH).days) % CYCLE_DAYS)
    if first > end:
        return []
    return [first + timedelta(days=CYCLE_DAYS * k) for k in range((end - first).days // CYCLE_DAYS + 1)]
