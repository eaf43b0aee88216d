"""The distribution website: static pages written into the distribution bucket.

``index.html`` (the sites on a map of land and country outlines, the search
box across every site, the cart), ``<SITE>/index.html`` (the products of a
site, with filters and cart buttons), the indexes the scripts read
(``sites.json``, ``<SITE>/products.json``), the settings (``config.json``)
and the shared files under ``assets/``: ours (``static/``) and the map's,
Leaflet, topojson-client and Natural Earth outlines from npm's
``world-atlas``, installed by ``make web-deps`` in ``vendor/node_modules``
(never committed; publication copies them). Pages and indexes are rendered
from the STAC documents (:mod:`take5_ops.distribution.website.html`) after
the collection and the Metalinks, and written only when their bytes change.
No build step: plain HTML, CSS and JS.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from take5_ops.distribution.access import set_order_url, stac_api_url
from take5_ops.distribution.catalog import child_sites, item_links
from take5_ops.distribution.website.html import root_page, site_entry, site_page, site_products, summarize
from take5_ops.errors import PublishError
from take5_ops.storage import Store, layout, put_if_changed, read_json

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
CSS_TYPE, JS_TYPE = "text/css; charset=utf-8", "text/javascript; charset=utf-8"
STATIC = {"take5.css": CSS_TYPE, "query.js": JS_TYPE, "take5.js": JS_TYPE}
# asset name -> (file under vendor/node_modules, content type)
VENDOR = {
    "leaflet.js": ("leaflet/dist/leaflet.js", JS_TYPE),
    "leaflet.css": ("leaflet/dist/leaflet.css", CSS_TYPE),
    "topojson-client.min.js": ("topojson-client/dist/topojson-client.min.js", JS_TYPE),
    "countries-110m.json": ("world-atlas/countries-110m.json", JSON_TYPE),
}
ATTEMPTS = 5


def vendor_dir() -> Path:
    """Where ``make web-deps`` installs the map's npm packages."""
    return Path(str(resources.files("take5_ops.distribution.website") / "vendor" / "node_modules"))


def write_assets(dist: Store) -> list[str]:
    """The shared files (ours, the map's) and ``config.json``; returns the keys written.

    Raises :class:`PublishError` naming the file when the map's packages are not installed.
    """
    static = resources.files("take5_ops.distribution.website") / "static"
    files = {name: ((static / name).read_bytes(), kind) for name, kind in STATIC.items()}
    for name, (path, kind) in VENDOR.items():
        source = vendor_dir() / path
        if not source.is_file():
            raise PublishError(f"{source}: missing; install the website's npm packages with make web-deps")
        files[name] = (source.read_bytes(), kind)
    written = [layout.web_asset_key(name) for name, (data, kind) in files.items()
               if put_if_changed(dist, layout.web_asset_key(name), data, kind)]
    # config.json belongs to the access mode (access.set_order_url, set by the stack): written here only
    # when missing, as public downloads, so that the pages never ask for a missing file
    if read_json(dist, layout.WEB_CONFIG_KEY) is None and set_order_url(dist, None):
        written.append(layout.WEB_CONFIG_KEY)
    return written


def _json(doc) -> bytes:
    return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def write_site_page(dist: Store, site_id: str) -> list[str]:
    """``<SITE>/index.html`` and ``<SITE>/products.json`` from the collection and its Items (removed with the
    collection); the keys written or removed."""
    keys = (layout.site_page_key(site_id), layout.site_products_key(site_id))
    collection = read_json(dist, layout.collection_key(site_id))
    if collection is None:
        gone = [k for k in keys if dist.exists(k)]
        for k in gone:
            dist.delete(k)
        return gone
    items = {}
    for href in item_links(collection):
        doc = read_json(dist, layout.site_prefix(site_id) + href.removeprefix('./')) if href.startswith("./") else None
        if doc is not None and isinstance(doc.get("properties"), dict) and "datetime" in doc["properties"]:
            items[href] = doc
    written = []
    if put_if_changed(dist, keys[0], site_page(site_id, collection, items).encode(), HTML_TYPE):
        written.append(keys[0])
    if put_if_changed(dist, keys[1], _json(site_products(site_id, items)), JSON_TYPE):
        written.append(keys[1])
    return written


def _root_documents(dist: Store) -> tuple[bytes, bytes]:
    sites, entries = [], []
    for site_id in child_sites(read_json(dist, layout.CATALOG_KEY) or {}):
        collection = read_json(dist, layout.collection_key(site_id))
        if collection is not None:
            sites.append(summarize(site_id, collection))
            entries.append(site_entry(site_id, collection))
    return root_page(sites, stac_api_url()).encode(), _json({"sites": entries})


def write_root_page(dist: Store) -> list[str]:
    """``index.html`` and ``sites.json`` from ``catalog.json`` and the collections; the keys written.

    Site runs write them concurrently: after writing, they are rendered again and
    rewritten until the two agree (as ``catalog.json``), so the last writer
    leaves every site listed.
    """
    written: set[str] = set()
    for _ in range(ATTEMPTS):
        html, index = _root_documents(dist)
        changed = [key for key, data, kind in ((layout.ROOT_PAGE_KEY, html, HTML_TYPE),
                                               (layout.SITES_INDEX_KEY, index, JSON_TYPE))
                   if put_if_changed(dist, key, data, kind)]
        if not changed:
            break
        written.update(changed)
    return sorted(written)


def update_pages(dist: Store, site_id: str) -> dict:
    """The shared files, the site's page and index, the root page and index, each only if changed;
    ``{"written": [keys]}``."""
    written = write_assets(dist)
    written += write_site_page(dist, site_id)
    written += write_root_page(dist)
    return {"written": written}
