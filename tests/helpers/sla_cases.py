"""Deliveries and publications recorded the way the chain records them, for the SLA tests."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from take5_ops.l1a import intake
from take5_ops.l1a.delivery import MARKER, DeliveryManifest
from take5_ops.naming import parse_product_id
from take5_ops.sla import Status
from take5_ops.storage import Buckets, layout
from take5_ops.times import format_time

SITE_ID = "FrancePornic"  # cycle day 2 (9, 14, 19 April ...), lon -2.10: acquisitions about 10:38 UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def pid(day: date, site_id: str = SITE_ID) -> str:
    """The PRODUCT_ID of the site's acquisition of ``day`` (10:38:00 UTC)."""
    return f"SPOT5-HRG2-XS_{day:%Y%m%d}-103800_L1A_{site_id}"


def deliver(buckets: Buckets, product_id: str) -> None:
    """A delivery's marker in the L1A bucket (all the SLA reads of a delivery is its prefix)."""
    site_id = parse_product_id(product_id).site_id
    buckets.l1a.put_bytes(f"{site_id}/{product_id}/{MARKER}", b"{}", "application/json")


def publish_l1c(buckets: Buckets, product_id: str, at: datetime) -> None:
    """Record the L1C as published in the ledger through the intake's own writer, committed at ``at``."""
    p = parse_product_id(product_id)
    acc = intake.Accepted(p.site_id, product_id, "etag", at, at, DeliveryManifest(product_id, p.site_id, at, ()),
                          p.acquired, p.instrument)
    intake.record(buckets.work, acc, "published", product_name=p.product_name("L1C"))
    key = layout.ledger_key(p.site_id, product_id)
    entry = json.loads(buckets.work.get_bytes(key))
    entry["recorded_at"] = format_time(at)  # record() stamps the wall clock; the tests set the time
    buckets.work.put_bytes(key, json.dumps(entry, indent=2, sort_keys=True).encode(), "application/json")


def statuses(result) -> dict[tuple[str, str], Status]:
    return {(p.product_id, p.level): p.status for p in result.products}


# ---- rules --------------------------------------------------------------------------------
