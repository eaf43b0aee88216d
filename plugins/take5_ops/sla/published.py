"""When each product was first published: ``layout.sla_published_key`` in the work bucket.

``{"site_id", "first_published": {PRODUCT_NAME: "YYYY-MM-DDTHH:MM:SSZ"}}``. Written by
:func:`take5_ops.pipeline.update_catalog` after each publication; a time once recorded is kept,
so a redelivery that republishes a product later does not make it *delivered late*. A missing or
corrupt document is logged and read as empty: the ledger and the Items then give the times.

A product is one across its versions (``naming.product_stem``): a reprocessed product (a new version,
a new name) keeps the time of its first version's publication, and the SLA goes on judging that.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime

from take5_ops.naming import product_stem
from take5_ops.storage import Store, layout, put_if_changed, read_json
from take5_ops.times import format_time, parse_time

log = logging.getLogger(__name__)


def first_publications(work: Store, site_id: str) -> dict[str, datetime]:
    """Product name -> first publication time; entries that do not parse are logged and left out."""
    key = layout.sla_published_key(site_id)
    doc = read_json(work, key)
    if doc is None:
        return {}
    found = doc.get("first_published") if isinstance(doc, dict) else None
    if not isinstance(found, dict):
        log.warning("%s: no first_published mapping; ignored", work.href(key))
        return {}
    times = {}
    for name, text in found.items():
        try:
            times[name] = parse_time(text)
        except (TypeError, ValueError):
            log.warning("%s: field first_published.%s: not a time (%r); ignored", work.href(key), name, text)
    return times


def stem(name: str) -> str:
    """What every version of a product shares (the name itself when it is not a product name)."""
    return product_stem(name) or name


def by_product(times: Mapping[str, datetime]) -> dict[str, datetime]:
    """Times by product name -> the earliest by product, whatever its version (:func:`stem`)."""
    earliest: dict[str, datetime] = {}
    for name, t in times.items():
        key = stem(name)
        earliest[key] = min(t, earliest.get(key, t))
    return earliest


def record_first_publications(work: Store, site_id: str, names: list[str], now: datetime) -> list[str]:
    """Record ``now`` as the first publication of each of ``names`` whose product (any version) is not
    recorded yet; the names added."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    known = first_publications(work, site_id)
    stems = {stem(n) for n in known}
    added = sorted({n for n in names if stem(n) not in stems})
    if added:
        stamp = format_time(now)
        doc = {"site_id": site_id,
               "first_published": {**{n: format_time(t) for n, t in known.items()}, **dict.fromkeys(added, stamp)}}
        put_if_changed(work, layout.sla_published_key(site_id), json.dumps(doc, indent=1, sort_keys=True).encode(),
                       "application/json")
    return added
