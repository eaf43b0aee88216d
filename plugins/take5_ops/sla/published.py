"""When each product was first published: ``layout.sla_published_key`` in the work bucket.

``{"site_id", "first_published": {PRODUCT_NAME: "YYYY-MM-DDTHH:MM:SSZ"}}``. Written by
:func:`take5_ops.pipeline.update_catalog` after each publication; a time once recorded is kept,
so a redelivery that republishes a product later does not make it *delivered late*. A missing or
corrupt document is logged and read as empty: the ledger and the Items then give the times.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

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


def record_first_publications(work: Store, site_id: str, names: list[str], now: datetime) -> list[str]:
    """Record ``now`` as the first publication of each of ``names`` not recorded yet; the names added."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    known = first_publications(work, site_id)
    added = sorted(set(names) - set(known))
    if added:
        stamp = format_time(now)
        doc = {"site_id": site_id,
               "first_published": {**{n: format_time(t) for n, t in known.items()}, **dict.fromkeys(added, stamp)}}
        put_if_changed(work, layout.sla_published_key(site_id), json.dumps(doc, indent=1, sort_keys=True).encode(),
                       "application/json")
    return added
