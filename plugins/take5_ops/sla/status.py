"""A site's products and their SLA status, read from the stores.

The products of a site are the L1A it knows: the ledger entries
(``layout.ledger_key`` in the work bucket) and the delivery
prefixes (``<SITE>/<PRODUCT_ID>/`` of the L1A bucket), each with the
acquisition time of its ``PRODUCT_ID``. A product level is published at the
earliest of: the ledger's ``recorded_at`` when its status is ``published``
(L1C), the ``LastModified`` of its STAC Item in the distribution bucket
(any level), and the time given in ``published`` (any level, by product
name: what the L2A chain reports), whatever the version of the product (``sla.published.stem``: a
reprocessed product keeps its first publication). See docs/sla.md.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from take5_ops.naming import ProductId, is_site_id, match_product_id, parse_product_id
from take5_ops.siteconfig import SiteConfig
from take5_ops.sla.published import by_product, first_publications, stem
from take5_ops.sla.rules import (
    CAMPAIGN_END,
    LEVELS,
    Deadline,
    Status,
    cycle_dates,
    deadline,
    l2a_series_starts,
    local_date,
    status_at,
)
from take5_ops.storage import Store, layout, read_json
from take5_ops.times import parse_time

log = logging.getLogger(__name__)

AT_RISK, BREACHED, MISSING = Status.AT_RISK.value, Status.BREACHED.value, "missing"


@dataclass(frozen=True)
class ProductLevel:
    """One product at one level, judged at a moment."""

    product_id: str
    level: str
    name: str
    acquired: datetime
    deadline: Deadline
    published_at: datetime | None
    status: Status

    @property
    def subject(self) -> str:
        return f"{self.product_id}/{self.level}"


@dataclass(frozen=True)
class Alert:
    """Something to tell once: a product level newly at risk or breached, or a missing acquisition."""

    subject: str  # "<PRODUCT_ID>/<LEVEL>" or "acquisition/<YYYY-MM-DD>"
    state: str  # "at risk", "breached" or "missing"
    product: ProductLevel | None = None
    expected: date | None = None


@dataclass
class SiteStatus:
    """Every product level of a site and the missing acquisitions, at ``now``."""

    site: SiteConfig
    now: datetime
    products: list[ProductLevel] = field(default_factory=list)
    missing: list[date] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{level: {status: n}}`` with every status present (0 when none)."""
        found = Counter((p.level, p.status) for p in self.products)
        return {level: {s.value: found[(level, s)] for s in Status} for level in LEVELS}

    def alerts(self) -> list[Alert]:
        """What is alerting now: product levels at risk or breached, missing acquisitions."""
        out = [Alert(p.subject, p.status.value, product=p) for p in self.products
               if p.status in (Status.AT_RISK, Status.BREACHED)]
        return out + [Alert(f"acquisition/{d.isoformat()}", MISSING, expected=d) for d in self.missing]


def _product_ids(l1a: Store, work: Store, site_id: str) -> dict[str, ProductId]:
    names = set(filter(None, (layout.ledger_product_id(i.key) for i in work.list(layout.ledger_prefix(site_id)))))
    names |= set(l1a.list_dirs(layout.site_prefix(site_id)))
    found = {}
    for name in sorted(names):
        if not match_product_id(name):
            continue
        try:
            pid = parse_product_id(name)
        except ValueError:  # impossible date: a corrupt delivery, reported by the intake
            continue
        if pid.site_id == site_id:
            found[name] = pid
    return found


def _item_times(dist: Store, site_id: str) -> dict[str, datetime]:
    """``LastModified`` of every Item ``<SITE>/<NAME>/<NAME>.json`` of the site, by product name."""
    times = {}
    for info in dist.list(layout.site_prefix(site_id)):
        parts = info.key.split("/")
        if len(parts) == 3 and info.key == layout.item_key(site_id, parts[1]):
            times[parts[1]] = info.last_modified
    return times


def _ledger_published(work: Store, site_id: str, product_id: str) -> datetime | None:
    entry = read_json(work, layout.ledger_key(site_id, product_id)) or {}
    if entry.get("status") != "published":
        return None
    try:
        return parse_time(entry.get("recorded_at"))
    except ValueError:
        log.warning("%s: no valid recorded_at; publication time from the Item", work.href(layout.ledger_key(site_id, product_id)))
        return None


def l2a_status(work: Store, site_id: str) -> dict:
    """The L2A series status document (``layout.l2a_status_key``, written by the L2A chain, read here
    without importing it: numpy-free), ``{}`` when absent or unreadable."""
    doc = read_json(work, layout.l2a_status_key(site_id))
    return doc if isinstance(doc, dict) and isinstance(doc.get("dates", {}), dict) else {}


def _too_cloudy(work: Store, site_id: str) -> set[str]:
    """L2A names the chain decided not to produce (too cloudy): no L2A is due for them."""
    return {d.get("name") for d in l2a_status(work, site_id).get("dates", {}).values()
            if isinstance(d, dict) and d.get("outcome") == "too_cloudy"}


def site_status(site: SiteConfig, l1a: Store, work: Store, dist: Store, now: datetime, *,
                published: Mapping[str, datetime] | None = None,
                campaign_end: date | None = CAMPAIGN_END) -> SiteStatus:
    """Every known product of ``site`` at each level, with deadline and status at ``now``, and the
    expected acquisition days with nothing delivered ``sla.at_risk_days`` later.

    ``published``: product name -> publication time, for publications the stores do not show.
    An L2A the chain found too cloudy to produce (its status document) is not due.
    Expected days run from the first known acquisition (else ``first_acquisition``) to
    ``campaign_end`` (default the end of the Take5 campaign, 2015-09-15; ``None``: no end).
    """
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    site_id = site.site_id
    if not is_site_id(site_id):
        raise ValueError(f"{site_id!r} is not a SITE_ID")
    pids = _product_ids(l1a, work, site_id)
    items = by_product(_item_times(dist, site_id))
    extra = by_product(published or {})
    first = by_product(first_publications(work, site_id))
    not_due = {stem(n) for n in _too_cloudy(work, site_id) if n}
    starts = l2a_series_starts([p.acquired for p in pids.values()], site.l2a.max_gap_days)
    result = SiteStatus(site, now)
    for product_id, pid in pids.items():
        ledger_time = _ledger_published(work, site_id, product_id)
        for level in LEVELS:
            name = pid.product_name(level)
            key = stem(name)
            if key in not_due:
                continue
            times = [t for t in (first.get(key), ledger_time if level == "L1C" else None, items.get(key),
                                 extra.get(key)) if t]
            when = min(times) if times else None
            limit = deadline(site, level, pid.acquired, starts)
            result.products.append(ProductLevel(product_id, level, name, pid.acquired, limit, when,
                                                status_at(limit, when, now)))
    known = {local_date(site, p.acquired) for p in pids.values()}
    start = min(known) if known else site.first_acquisition
    end = (now - timedelta(days=site.sla.at_risk_days)).date()
    if campaign_end is not None:
        end = min(end, campaign_end)
    result.missing = [d for d in cycle_dates(site.cycle_day, start, end) if d not in known]
    return result

