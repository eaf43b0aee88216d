"""An order: a cart (:func:`~.validation.cart`) becomes a Metalink 4 whose URLs are presigned for
the order's lifetime (7 days by default, the SigV4 maximum), with every file's size and SHA-256
from the Items, and its lines per site and level (the download statistics)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from take5_ops.distribution.access import presigned_urls
from take5_ops.distribution.accounts.db import OrderLine
from take5_ops.distribution.accounts.validation import CartEntry
from take5_ops.distribution.metalink import build_metalink, item_files
from take5_ops.errors import FieldError, MetalinkError
from take5_ops.storage import S3Store, layout


@dataclass(frozen=True)
class Prepared:
    """What an order lists: the Items (their assets cut to the cart's choice) by key, and the lines."""

    items: dict[str, dict]
    lines: list[OrderLine]


def _chosen(entry: CartEntry, item: dict) -> dict:
    """The Item with only the assets the cart asks for; FieldError naming a missing asset."""
    assets = item.get("assets") if isinstance(item.get("assets"), dict) else {}
    if not entry.assets:
        return item
    for j, key in enumerate(entry.assets):
        if key not in assets:
            raise FieldError(f"{entry.field}.assets[{j}]",
                             f"{entry.item} has no asset {key!r} (it has {', '.join(sorted(assets))})")
    return {**item, "assets": {k: assets[k] for k in entry.assets}}


def prepare(dist: S3Store, cart: list[CartEntry]) -> Prepared:
    """Read each product's Item from the distribution bucket and check the cart against it."""
    items: dict[str, dict] = {}
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for entry in cart:
        key = layout.item_key(entry.collection, entry.item)
        if not dist.exists(key):
            raise FieldError(f"{entry.field}.item",
                             f"no published product {entry.item} in collection {entry.collection}")
        try:
            item = json.loads(dist.get_bytes(key))
        except ValueError:
            raise FieldError(f"{entry.field}.item", f"the Item of {entry.item} is unreadable") from None
        chosen = _chosen(entry, item)
        try:
            files = item_files(key, chosen)
        except MetalinkError as exc:
            raise FieldError(f"{entry.field}.item", f"cannot be ordered: {exc}") from None
        items[key] = chosen
        level = str((item.get("properties") or {}).get("take5:level", "?"))
        line = totals[(entry.collection, level)]
        line[0] += 1
        line[1] += len(files)
        line[2] += sum(f.size for f in files)
    lines = [OrderLine(site, level, *counts) for (site, level), counts in sorted(totals.items())]
    return Prepared(items, lines)


def metalink(dist: S3Store, prepared: Prepared, expires: int) -> bytes:
    """The order's Metalink: every chosen file with its size, SHA-256 and a URL presigned ``expires`` seconds."""
    return build_metalink(prepared.items, presigned_urls(dist, expires))
