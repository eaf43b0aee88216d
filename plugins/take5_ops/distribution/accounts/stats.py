"""Download statistics per site and level: orders, products, files and bytes ordered.

The accounts server rewrites the document ``layout.download_stats_key()`` of the work bucket after
every order (and at start), from the database's totals; the operators' dashboard reads it from the
bucket like its other numbers, so it needs no access to the accounts database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from take5_ops.storage import Store, layout, read_json

FIELDS = ("orders", "products", "files", "bytes")


def stats_document(totals: list[tuple[str, str, int, int, int, int]], now: datetime) -> dict:
    """``{"updated_at", "rows": [{"site", "level", "orders", "products", "files", "bytes"}], "totals"}``."""
    rows = [dict(zip(("site", "level", *FIELDS), t)) for t in totals]
    sums = {f: sum(r[f] for r in rows) for f in FIELDS if f != "orders"}
    return {"updated_at": now.astimezone(UTC).isoformat(timespec="seconds"), "rows": rows, "totals": sums}


def write_stats(work: Store, totals: list[tuple[str, str, int, int, int, int]], now: datetime) -> None:
    doc = stats_document(totals, now)
    work.put_bytes(layout.download_stats_key(), json.dumps(doc, indent=1).encode(), "application/json")


def read_stats(work: Store) -> dict | None:
    """The last statistics document, ``None`` when accounts mode never ran (or it is unreadable)."""
    doc = read_json(work, layout.download_stats_key())
    if doc is None or not isinstance(doc.get("rows"), list):
        return None
    return doc
