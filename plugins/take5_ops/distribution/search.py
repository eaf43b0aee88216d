"""Product search over the published STAC catalog (``take5 search``, ``take5 cart``).

The walk reads only what it needs: ``catalog.json`` gives the sites, each
site's ``collection.json`` its Item links, whose product names already tell
the level and the acquisition date; only the Items that can still match are
read (for their datetime, cloud cover, bbox and assets).

Filters (all optional, all must hold):

- site and level (``L1C``/``L2A``, the Item's ``take5:level``);
- acquisition ``datetime`` in ``[start, end)``;
- ``max_cloud`` (percent): compared with ``eo:cloud_cover``. Only L2A
  products have one (the L1C has no cloud mask): an L1C product takes the
  cloud cover of the L2A of the same acquisition when that one is
  published; a product whose cloud cover is unknown is excluded whenever a
  ``max_cloud`` is given (an L1A likewise);
- ``bbox`` (west, south, east, north, lon/lat): intersects the Item's bbox
  (no antimeridian wrap);
- ``terms``: words that must each occur in the site's text (:func:`site_text`:
  its id, title with name and country, keywords), accents and case ignored.

Free text (``take5 search "Pornic L2A 2015-05"``, the website's search box):
:func:`parse_text` reads the grammar of docs/distribution.md, shared with
the website's ``query.js`` and tested on both sides with one table of
examples (tests/helpers/query_examples.json).
"""

from __future__ import annotations

import calendar
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from take5_ops.distribution.catalog import child_sites, item_links
from take5_ops.naming import LEVELS, parse_product_name, product_stem
from take5_ops.storage import Store, layout, read_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    """What to select; ``None`` means no constraint."""

    site: str | None = None
    level: str | None = None
    start: datetime | None = None  # inclusive, aware
    end: datetime | None = None  # exclusive, aware
    max_cloud: float | None = None  # percent
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    terms: tuple[str, ...] = field(default=())  # normalized words the site's text must hold (see site_text)

    def __post_init__(self):
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"level {self.level!r}: must be one of {', '.join(LEVELS)}")
        if self.max_cloud is not None and not 0 <= self.max_cloud <= 100:
            raise ValueError(f"max cloud cover {self.max_cloud}: must be 0 to 100 (percent)")
        if self.bbox is not None:
            w, s, e, n = self.bbox
            if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
                raise ValueError(f"bbox {self.bbox}: must be west,south,east,north in degrees, west <= east")


@dataclass(frozen=True)
class Found:
    """One selected product: its Item's key in the bucket, the Item, and its (possibly borrowed) cloud cover."""

    key: str
    item: dict
    cloud_cover: float | None

    @property
    def name(self) -> str:
        return self.item["id"]


LEVEL_RE = re.compile(r"l[12][ac]", re.I)
CLOUD_RE = re.compile(r"cloud(?:<=|<)(\d+(?:\.\d+)?)%?", re.I)
PERIOD = r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
PERIOD_RE = re.compile(PERIOD)
RANGE_RE = re.compile(rf"(?:{PERIOD})?\.\.(?:{PERIOD})?")


def normalize(text: str) -> str:
    """Lower case without accents (NFD, combining marks dropped): how terms and site texts compare."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


def site_text(site_id: str, collection: dict) -> str:
    """What a site's free-text terms are matched against: id, title (name and country) and keywords."""
    words = [site_id, str(collection.get("title", "")), *map(str, collection.get("keywords") or [])]
    return normalize(" ".join(words))


def _period(year: str, month: str | None, day: str | None, token: str) -> tuple[date, date]:
    """``[first day, day after the last)`` of a year, a month or a day."""
    try:
        y = int(year)
        if month is None:
            return date(y, 1, 1), date(y + 1, 1, 1)
        m = int(month)
        if day is None:
            return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1]) + timedelta(days=1)
        d = date(y, m, int(day))
        return d, d + timedelta(days=1)
    except (ValueError, calendar.IllegalMonthError):
        raise ValueError(f"{token!r}: not a date (YYYY, YYYY-MM or YYYY-MM-DD)") from None


def _narrow(out: dict, start: date | None, end: date | None, token: str) -> None:
    """Intersect the period of ``out`` with ``[start, end)``."""
    if start and end and start >= end:
        raise ValueError(f"{token!r}: the range ends before it starts")
    if start and (out["start"] is None or start.isoformat() > out["start"]):
        out["start"] = start.isoformat()
    if end and (out["end"] is None or end.isoformat() < out["end"]):
        out["end"] = end.isoformat()
    if out["start"] and out["end"] and out["start"] >= out["end"]:
        raise ValueError(f"{token!r}: the periods of the query do not overlap")


def parse_text(text: str) -> dict:
    """The filters of a free-text query, as ``{"terms", "level", "start", "end", "max_cloud"}``.

    Tokens (separated by spaces, case ignored): a level ``L1A``/``L1C``/``L2A``; ``cloud<N`` or
    ``cloud<=N`` (cloud cover at most N %); a period ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, or a range
    ``A..B`` of them (either side may be left out); any other word must occur in the site's text.
    ``start`` is the first day, ``end`` the day after the last (``YYYY-MM-DD``). Raises ``ValueError``.
    """
    out: dict = {"terms": [], "level": None, "start": None, "end": None, "max_cloud": None}
    for token in text.split():
        if LEVEL_RE.fullmatch(token):
            level = token.upper()
            if level not in LEVELS:
                raise ValueError(f"{token!r}: unknown level (one of {', '.join(LEVELS)})")
            if out["level"] not in (None, level):
                raise ValueError(f"two levels, {out['level']} and {level}: give one")
            out["level"] = level
        elif m := CLOUD_RE.fullmatch(token):
            cloud = float(m[1])
            if cloud > 100:
                raise ValueError(f"{token!r}: cloud cover is a percentage (0 to 100)")
            out["max_cloud"] = cloud if out["max_cloud"] is None else min(cloud, out["max_cloud"])
        elif m := PERIOD_RE.fullmatch(token):
            _narrow(out, *_period(m[1], m[2], m[3], token), token)
        elif (m := RANGE_RE.fullmatch(token)) and token != "..":
            _narrow(out, _period(m[1], m[2], m[3], token)[0] if m[1] else None,
                    _period(m[4], m[5], m[6], token)[1] if m[4] else None, token)
        elif token.lower().startswith("cloud") and any(c in token for c in "<>="):
            raise ValueError(f"{token!r}: write cloud<N or cloud<=N (N in percent)")
        else:
            word = normalize(token)
            if any(c.isalnum() for c in word) and word not in out["terms"]:
                out["terms"].append(word)
    return out


def text_query(text: str, **filters) -> Query:
    """The :class:`Query` of a free-text query (:func:`parse_text`), narrowed by ``filters`` (Query fields)."""
    parsed = parse_text(text)
    level = parsed["level"]
    if level and filters.get("level") not in (None, level):
        raise ValueError(f"level {level} in the text, {filters['level']} as an option: give one")
    start = parse_day(parsed["start"]) if parsed["start"] else None
    end = parse_day(parsed["end"]) if parsed["end"] else None
    if filters.get("start") is not None:
        start = max(filters["start"], start) if start else filters["start"]
    if filters.get("end") is not None:
        end = min(filters["end"], end) if end else filters["end"]
    clouds = [c for c in (parsed["max_cloud"], filters.get("max_cloud")) if c is not None]
    return Query(site=filters.get("site"), level=level or filters.get("level"), start=start, end=end,
                 max_cloud=min(clouds) if clouds else None, bbox=filters.get("bbox"), terms=tuple(parsed["terms"]))


def parse_day(text: str, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` as a UTC instant: its midnight, or with ``end`` the next midnight (inclusive day)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text!r}: expected YYYY-MM-DD") from None
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=UTC)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``W,S,E,N`` (degrees) as a tuple of four floats."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ValueError(f"bbox {text!r}: expected W,S,E,N (four numbers, degrees)")
    return values  # type: ignore[return-value]


def _datetime(item: dict) -> datetime:
    t = datetime.fromisoformat(str(item["properties"]["datetime"]).replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _intersects(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _in_range(t: datetime, query: Query) -> bool:
    return (query.start is None or t >= query.start) and (query.end is None or t < query.end)


def matches(item: dict, query: Query, cloud_cover: float | None) -> bool:
    """True when the Item ``item`` (with ``cloud_cover``, see the module doc) satisfies ``query``."""
    props = item["properties"]
    if query.site is not None and item.get("collection") != query.site:
        return False
    if query.level is not None and props.get("take5:level") != query.level:
        return False
    if not _in_range(_datetime(item), query):
        return False
    if query.max_cloud is not None and (cloud_cover is None or cloud_cover > query.max_cloud):
        return False
    return query.bbox is None or _intersects(item["bbox"], query.bbox)


def _name_may_match(name: str, query: Query) -> bool:
    """Cheap pre-filter on the product name (level, acquisition time) before reading the Item."""
    try:
        pid, level = parse_product_name(name)
    except ValueError:
        return True  # not one of ours by name: let the Item decide
    return (query.level is None or level == query.level) and _in_range(pid.acquired, query)


def _cloud_cover(dist: Store, site_id: str, item: dict, hrefs: set[str]) -> float | None:
    props = item["properties"]
    if "eo:cloud_cover" in props:
        return float(props["eo:cloud_cover"])
    try:
        pid, level = parse_product_name(item["id"])
    except ValueError:
        return None
    if level == "L2A":
        return None
    stem = product_stem(pid.product_name("L2A"))  # its L2A, whatever the L2A processor version
    linked = [h.split("/")[1] for h in hrefs if h.count("/") == 2 and product_stem(h.split("/")[1]) == stem]
    if not linked:
        return None
    l2a = linked[0]
    sibling = read_json(dist, layout.item_key(site_id, l2a)) or {}
    value = (sibling.get("properties") or {}).get("eo:cloud_cover")
    return None if value is None else float(value)


def search_site(dist: Store, site_id: str, query: Query) -> list[Found]:
    """The products of one site's collection that satisfy ``query``, by product name."""
    collection = read_json(dist, layout.collection_key(site_id))
    if collection is None:
        log.warning("%s: no collection, site skipped", dist.href(layout.collection_key(site_id)))
        return []
    if query.terms and not all(t in site_text(site_id, collection) for t in query.terms):
        return []
    if query.bbox is not None:
        try:
            extent = collection["extent"]["spatial"]["bbox"][0]
        except (KeyError, IndexError, TypeError):
            extent = None
        if extent is not None and not _intersects(extent, query.bbox):
            return []
    hrefs = set(item_links(collection))
    found = []
    for href in sorted(hrefs):
        if not href.startswith("./") or not _name_may_match(href.rsplit("/", 1)[-1][:-len(".json")], query):
            continue
        key = layout.site_prefix(site_id) + href[2:]
        try:
            item = read_json(dist, key)
            if item is None:
                log.warning("%s: linked but missing, skipped", dist.href(key))
                continue
            cloud = _cloud_cover(dist, site_id, item, hrefs)
            if matches(item, query, cloud):
                found.append(Found(key, item, cloud))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            log.warning("%s: invalid Item, skipped (%s: %s)", dist.href(key), type(exc).__name__, exc)
    return sorted(found, key=lambda f: f.name)


def search(dist: Store, query: Query) -> list[Found]:
    """Every published product that satisfies ``query``, walking the catalog from ``catalog.json``."""
    root = read_json(dist, layout.CATALOG_KEY)
    if root is None:
        raise FileNotFoundError(f"{dist.href(layout.CATALOG_KEY)}: no catalog (nothing published?)")
    sites = child_sites(root)
    if query.site is not None:
        sites = [s for s in sites if s == query.site]
    return [found for site_id in sites for found in search_site(dist, site_id, query)]
