"""HTML of the distribution pages, from STAC documents (pure functions: same documents, same bytes).

Pages are pre-rendered: they show their tables without a script; the map,
the search box, the filters and the cart are scripts (``assets/take5.js``,
``assets/query.js``) reading the indexes :func:`site_entry` and
:func:`site_products` describe. Every href is relative, so the pages work in
the bucket served over HTTP and in a local folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import quote

from take5_ops.distribution.catalog import item_links
from take5_ops.distribution.search import site_text
from take5_ops.naming import LEVELS, parse_product_name

TITLE_RE = re.compile(r"SPOT5 Take5 (?P<name>.+) \((?P<country>[^()]+)\)$")
ASSET_ORDER = ("XS1", "XS2", "XS3", "SWIR", "SRE_XS1", "SRE_XS2", "SRE_XS3", "SRE_SWIR", "AOT",
               "CLM", "MG2", "SAT", "EDG", "thumbnail", "metadata")


@dataclass(frozen=True)
class SiteSummary:
    """One line of the root page, from a site's collection alone."""

    site_id: str
    name: str
    country: str
    counts: dict[str, int]
    last_acquisition: datetime | None
    lon: float | None
    lat: float | None


def summarize(site_id: str, collection: dict) -> SiteSummary:
    """Name, country, product counts by level, last acquisition and centre of a site's collection."""
    m = TITLE_RE.match(str(collection.get("title", "")))
    keywords = collection.get("keywords") or []
    name = m["name"] if m else site_id
    country = m["country"] if m else (keywords[2] if len(keywords) > 2 else "")
    counts, last = dict.fromkeys(LEVELS, 0), None
    for href in item_links(collection):
        try:
            pid, level = parse_product_name(href.rsplit("/", 1)[-1].removesuffix(".json"))
        except ValueError:
            continue
        counts[level] = counts.get(level, 0) + 1
        last = pid.acquired if last is None or pid.acquired > last else last
    try:
        w, s, e, n = collection["extent"]["spatial"]["bbox"][0]
        lon, lat = (w + e) / 2, (s + n) / 2
    except (KeyError, IndexError, TypeError, ValueError):
        lon = lat = None
    return SiteSummary(site_id, name, country, counts, last, lon, lat)


def _href(*parts: str) -> str:
    return "/".join(quote(p, safe="./-_") for p in parts)


SCRIPTS = ("leaflet.js", "topojson-client.min.js", "query.js", "take5.js")
EXAMPLES = ("Pornic L2A 2015-05", "Litchfield cloud<20", "Australia 2015", "L1C 2015-04-10..2015-04-30")


def _page(title: str, heading: str, subtitle: str, body: str, root: str, site: str = "") -> str:
    scripts = "".join(f'\n<script src="{root}assets/{name}" defer></script>' for name in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{root}assets/leaflet.css">
<link rel="stylesheet" href="{root}assets/take5.css">{scripts}
</head>
<body data-root="{root}" data-site="{escape(site)}">
<header><h1>{escape(heading)}</h1><p>{subtitle}</p>
<nav><a href="{root}index.html">All sites</a> <a href="{root}index.html#cart" id="cart-link">Cart
(<span class="cart-count">0</span>)</a></nav></header>
<main>
{body}
<footer>SPOT5 Take5 (2015), CNES. Products as Cloud-Optimized GeoTIFF with a
<a href="{root}catalog.json">STAC catalog</a>. Map: Leaflet, outlines from Natural Earth.</footer>
</main>
</body>
</html>
"""


def _add_buttons(site_id: str, name: str, counts: dict[str, int]) -> str:
    return "".join(f'<button type="button" class="add-all" data-site="{escape(site_id)}" data-level="{level}" '
                   f'title="Add all {level} of {escape(name)} to the cart">+ all {level}</button>'
                   for level in LEVELS if counts.get(level))


def root_page(sites: list[SiteSummary], stac_api: str | None = None) -> str:
    """``index.html``: the map, the search box and its results, the table of the sites, the cart (and a link to
    the STAC API at ``stac_api``)."""
    rows = []
    for s in sorted(sites, key=lambda s: s.site_id):
        last = s.last_acquisition.strftime("%Y-%m-%d") if s.last_acquisition else "–"
        cells = "".join(f'<td class="num">{s.counts.get(level, 0)}</td>' for level in LEVELS)
        rows.append(f'<tr data-site="{escape(s.site_id)}"><td><a href="{_href(s.site_id, "index.html")}">'
                    f'{escape(s.name)}</a></td><td>{escape(s.country)}</td>{cells}<td>{last}</td>'
                    f'<td class="cart-actions">{_add_buttons(s.site_id, s.name, s.counts)}</td></tr>')
    heads = "".join(f'<th class="num">{level}</th>' for level in LEVELS)
    total = sum(sum(s.counts.values()) for s in sites)
    examples = " · ".join(f'<a href="?q={quote(e)}" class="example">{escape(e)}</a>' for e in EXAMPLES)
    body = f"""<div id="map" class="map" role="region" aria-label="Map of the sites"></div>
<form id="search" class="search" role="search">
<input type="search" name="q" aria-label="Search the products of every site" autocomplete="off"
 placeholder="Site, place or country, level, dates, cloud cover: e.g. Pornic L2A 2015-05">
<button type="submit">Search</button>
</form>
<p class="hint">Examples: {examples}. Words: a site, place or country; <code>L1A</code>, <code>L1C</code> or
<code>L2A</code>; a year, month or day (<code>2015</code>, <code>2015-05</code>, <code>2015-05-08</code>) or a
range (<code>2015-04-10..2015-05-20</code>); <code>cloud&lt;20</code> (percent).</p>
<p id="search-status" class="count" aria-live="polite"></p>
<div id="results-box" hidden>
<button type="button" id="add-results">Add all results to the cart</button>
<table id="results">
<thead><tr><th>Site</th><th>Acquired</th><th>Level</th><th class="num">Cloud cover</th><th>Quicklook</th>
<th class="num">Size</th><th>Product</th><th></th></tr></thead>
<tbody></tbody>
</table>
</div>
<h2>Sites</h2>
<table id="sites">
<thead><tr><th>Site</th><th>Country</th>{heads}<th>Last acquisition</th><th>Cart</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    if stac_api:
        body += (f'\n<p class="api">Search every site from any STAC client (pystac-client, QGIS): '
                 f'<a href="{escape(stac_api)}">STAC API</a>.</p>')
    body += """
<section id="cart" class="cart">
<h2>Cart</h2>
<p id="cart-summary" class="count">The cart is empty.</p>
<fieldset id="cart-assets" hidden><legend>Files to download (every product of the cart)</legend></fieldset>
<table id="cart-items" hidden>
<thead><tr><th>Site</th><th>Product</th><th>Level</th><th>Acquired</th><th class="num">Files</th>
<th class="num">Size</th><th></th></tr></thead>
<tbody></tbody>
</table>
<p><button type="button" id="cart-download" disabled>Download the cart (Metalink)</button>
<button type="button" id="cart-clear" disabled>Empty the cart</button></p>
<p id="cart-status" class="count" aria-live="polite"></p>
<p class="count">The cart stays in this browser. Its Metalink lists every file with its size and SHA-256:
<code>aria2c -V --metalink-file=take5-cart.meta4</code> downloads and verifies them all.</p>
</section>"""
    return _page("SPOT5 Take5", "SPOT5 Take5", f"{len(sites)} sites, {total} products: the images as delivered "
                 "(L1A), orthorectified top-of-atmosphere (L1C) and surface (L2A) reflectance, every 5 days in 2015.",
                 body, "")


def site_entry(site_id: str, collection: dict) -> dict:
    """The entry of a site in ``sites.json``: name, country, the text search terms match, bbox, counts."""
    s = summarize(site_id, collection)
    try:
        bbox = [float(v) for v in collection["extent"]["spatial"]["bbox"][0]]
    except (KeyError, IndexError, TypeError, ValueError):
        bbox = None
    return {"id": site_id, "name": s.name, "country": s.country, "text": site_text(site_id, collection),
            "bbox": bbox, "counts": s.counts,
            "last": s.last_acquisition.strftime("%Y-%m-%d") if s.last_acquisition else None}


def site_products(site_id: str, items: dict[str, dict]) -> dict:
    """``<SITE>/products.json``: each product's id, level, time, cloud cover (see :func:`_cloud`), Item href
    (relative to the site folder), asset sizes and quicklook href."""
    clouds = _l2a_clouds(items)
    products = []
    for href in sorted(items):
        item = items[href]
        base = href.removeprefix("./").rsplit("/", 1)[0]
        assets = item.get("assets") or {}
        thumb = assets.get("thumbnail", {}).get("href")
        products.append({
            "id": item["id"], "level": str(item["properties"].get("take5:level", "")),
            "datetime": str(item["properties"]["datetime"]), "cloud": _cloud(item, clouds),
            "href": href.removeprefix("./"),
            "assets": {k: a.get("file:size") for k, a in sorted(assets.items())},
            "thumbnail": f"{base}/{thumb.removeprefix('./')}" if isinstance(thumb, str) else None})
    products.sort(key=lambda p: (p["datetime"], p["level"], p["id"]))
    return {"site": site_id, "products": products}


def _l2a_clouds(items: dict[str, dict]) -> dict[str, float]:
    return {(d.get("properties") or {}).get("take5:l1a_product_id", ""): float(d["properties"]["eo:cloud_cover"])
            for d in items.values()
            if (d.get("properties") or {}).get("take5:level") == "L2A" and "eo:cloud_cover" in d["properties"]}


def _cloud(item: dict, l2a_clouds: dict[str, float]) -> float | None:
    props = item.get("properties") or {}
    if "eo:cloud_cover" in props:
        return float(props["eo:cloud_cover"])
    return l2a_clouds.get(props.get("take5:l1a_product_id", ""))


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def product_row(href: str, item: dict, cloud: float | None) -> str:
    """One ``<tr>`` of the site page: date, level, processor version, cloud cover, quicklook, files, Item and
    metadata links."""
    props = item["properties"]
    version = str(props.get("version", ""))
    when = datetime.fromisoformat(str(props["datetime"]))
    level = str(props.get("take5:level", ""))
    base = href.rsplit("/", 1)[0]  # ./<NAME>
    assets = item.get("assets") or {}
    keys = sorted(assets, key=lambda k: (ASSET_ORDER.index(k) if k in ASSET_ORDER else len(ASSET_ORDER), k))
    links = []
    for k in keys:
        a = assets[k]
        size = a.get("file:size")
        tip = f' title="{escape(a.get("title", k))}, {_size(size)}"' if isinstance(size, int) else ""
        links.append(f'<a href="{base}/{_href(a["href"].removeprefix("./"))}"{tip}>{escape(k)}</a>')
    thumb = assets.get("thumbnail")
    img = (f'<img class="qkl" loading="lazy" alt="quicklook" src="{base}/{_href(thumb["href"].removeprefix("./"))}">'
           if thumb else "")
    cloud_text = "–" if cloud is None else f"{cloud:.1f} %"
    return (f'<tr data-level="{escape(level)}" data-date="{when:%Y-%m-%d}" '
            f'data-cloud="{"" if cloud is None else f"{cloud:g}"}">'
            f'<td>{when:%Y-%m-%d %H:%M} UTC</td><td class="level-{escape(level)}">{escape(level)}</td>'
            f'<td class="version">{escape(version)}</td>'
            f'<td class="num">{cloud_text}</td><td>{img}</td>'
            f'<td class="files">{"".join(links)}</td>'
            f'<td><a class="item" href="{_href(href.removeprefix("./"))}">STAC Item</a></td>'
            f'<td><button type="button" class="add-one" data-item="{escape(item["id"])}">Add to cart</button></td></tr>')


def site_page(site_id: str, collection: dict, items: dict[str, dict]) -> str:
    """``<SITE>/index.html``: Metalinks, filters and one row per product (``items``: Item dicts by href)."""
    summary = summarize(site_id, collection)
    l2a_clouds = _l2a_clouds(items)
    order = sorted(items, key=lambda h: (items[h]["properties"]["datetime"], items[h]["properties"].get("take5:level", "")))
    rows = [product_row(h, items[h], _cloud(items[h], l2a_clouds)) for h in order]
    meta4 = [(k.removeprefix("metalink-"), a) for k, a in sorted((collection.get("assets") or {}).items())
             if k.startswith("metalink-")]
    downloads = "".join(f'<a href="{_href(a["href"].removeprefix("./"))}" type="{escape(a.get("type", ""))}">'
                        f'All {escape(level)} files (Metalink)</a>' for level, a in meta4)
    options = "".join(f'<option value="{level}">{level}</option>' for level in LEVELS)
    body = f"""<p class="downloads">{downloads}
<a href="collection.json">STAC Collection</a></p>
<p class="cart-actions">Cart: {_add_buttons(site_id, summary.name, summary.counts)}</p>
<form id="filters" class="filters" onsubmit="return false">
<label>Level <select name="level"><option value="">all</option>{options}</select></label>
<label>From <input type="date" name="start"></label>
<label>To <input type="date" name="end"></label>
<label>Max cloud cover (%) <input type="number" name="maxcloud" min="0" max="100" step="any"></label>
<button type="reset">Clear</button>
</form>
<p id="count" class="count">{len(rows)} products</p>
<table id="products">
<thead><tr><th>Acquired</th><th>Level</th><th title="processor version">Version</th><th class="num">Cloud cover</th><th>Quicklook</th><th>Files</th>
<th>Metadata</th><th>Cart</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<p class="count">Cloud cover: the L2A cloud mask's; an L1A or L1C shows the one of its L2A when published.
Version: the processor's (a reprocessed product replaces the older version).
A product whose cloud cover is unknown is hidden by a cloud cover filter. Metalinks download and verify
every file, e.g. <code>aria2c --metalink-file={escape(site_id)}_L1C.meta4</code>.</p>"""
    counts = ", ".join(f"{n} {level}" for level, n in summary.counts.items())
    return _page(f"SPOT5 Take5 {summary.name}", f"{summary.name} ({summary.country})",
                 f"Site {escape(site_id)}: {counts} products.", body, "../", site_id)
