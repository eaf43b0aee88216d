"""The distribution website: static pages written into the distribution bucket.

``index.html`` (the sites on a map and in a table), ``<SITE>/index.html``
(the products of a site, with filters) and ``assets/take5.css``,
``assets/take5.js``. Pages are rendered from the STAC documents
(:mod:`take5_ops.distribution.website.html`) after the collection and the Metalinks, and
written only when their bytes change. No build step: plain HTML, CSS and JS.
"""

from __future__ import annotations

from importlib import resources

from take5_ops.distribution.access import stac_api_url
from take5_ops.distribution.catalog import child_sites, item_links
from take5_ops.distribution.website.html import root_page, site_page, summarize
from take5_ops.storage import Store, layout, put_if_changed, read_json

HTML_TYPE = "text/html; charset=utf-8"
ASSETS = {"assets/take5.css": "text/css; charset=utf-8", "assets/take5.js": "text/javascript; charset=utf-8"}
ATTEMPTS = 5


def write_assets(dist: Store) -> list[str]:
    """The shared stylesheet and script; returns the keys written."""
    static = resources.files("take5_ops.distribution.website") / "static"
    return [key for key, kind in ASSETS.items()
            if put_if_changed(dist, key, (static / key.split("/")[-1]).read_bytes(), kind)]


def write_site_page(dist: Store, site_id: str) -> bool:
    """``<SITE>/index.html`` from the collection and its Items (removed with the collection); True if written."""
    collection = read_json(dist, layout.collection_key(site_id))
    if collection is None:
        if dist.exists(layout.site_page_key(site_id)):
            dist.delete(layout.site_page_key(site_id))
            return True
        return False
    items = {}
    for href in item_links(collection):
        doc = read_json(dist, layout.site_prefix(site_id) + href.removeprefix('./')) if href.startswith("./") else None
        if doc is not None and isinstance(doc.get("properties"), dict) and "datetime" in doc["properties"]:
            items[href] = doc
    return put_if_changed(dist, layout.site_page_key(site_id), site_page(site_id, collection, items).encode(), HTML_TYPE)


def _root_html(dist: Store) -> bytes:
    sites = []
    for site_id in child_sites(read_json(dist, layout.CATALOG_KEY) or {}):
        collection = read_json(dist, layout.collection_key(site_id))
        if collection is not None:
            sites.append(summarize(site_id, collection))
    return root_page(sites, stac_api_url()).encode()


def write_root_page(dist: Store) -> bool:
    """``index.html`` from ``catalog.json`` and the collections; True if written.

    Site runs write it concurrently: after writing, it is rendered again and
    rewritten until the two agree (as ``catalog.json``), so the last writer
    leaves every site listed.
    """
    written = False
    for _ in range(ATTEMPTS):
        html = _root_html(dist)
        if not put_if_changed(dist, layout.ROOT_PAGE_KEY, html, HTML_TYPE):
            return written
        written = True
    return written


def update_pages(dist: Store, site_id: str) -> dict:
    """The shared assets, the site's page and the root page, each only if changed; ``{"written": [keys]}``."""
    written = write_assets(dist)
    if write_site_page(dist, site_id):
        written.append(layout.site_page_key(site_id))
    if write_root_page(dist):
        written.append(layout.ROOT_PAGE_KEY)
    return {"written": written}
