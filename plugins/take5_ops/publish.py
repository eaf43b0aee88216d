"""Publication: products from the work bucket to the distribution bucket, then the catalog.

Order and guarantees (docs/catalog.md): every asset of a product is copied
(server-side when possible) and verified by size and SHA-256 against the
product's manifest before its Item is written; an Item is linked from its
site's Collection only once published; ``catalog.json`` is rebuilt from the
listing of the site collections. Every write is skipped when the object
already holds the same bytes, so a rerun changes nothing that is right.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from take5_ops.catalog import (
    CATALOG_KEY,
    LEVELS,
    catalog_json,
    child_sites,
    collection_json,
    collection_key,
    item_json,
    item_key,
    item_links,
    metalink_key,
)
from take5_ops.metalink import MEDIA_TYPE as METALINK_MEDIA_TYPE
from take5_ops.metalink import MetalinkError, build_metalink
from take5_ops.naming import is_site_id
from take5_ops.product import MANIFEST, Product
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import Store, holds, put_if_changed, read_json

log = logging.getLogger(__name__)

STAC_MEDIA_TYPE = "application/json"
CATALOG_ATTEMPTS = 5


class PublishError(RuntimeError):
    """A product cannot be published (missing or unverifiable asset, bad manifest)."""


@dataclass
class Published:
    """What :func:`publish_product` did for one product."""

    name: str
    item_key: str
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    item_written: bool = False


def work_prefix(site_id: str, name: str) -> str:
    """Folder of a processed product in the work bucket."""
    return f"products/{site_id}/{name}/"


def read_manifest(work: Store, site_id: str, name: str) -> Product:
    """The manifest of a processed product in the work bucket, checked against its key."""
    key = work_prefix(site_id, name) + MANIFEST
    if not work.exists(key):
        raise PublishError(f"{work.href(key)}: no manifest (product not processed)")
    try:
        product = Product.from_json(work.get_bytes(key))
    except (ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"{work.href(key)}: invalid manifest ({exc})") from None
    if (product.name, product.site_id) != (name, site_id):
        raise PublishError(f"{work.href(key)}: field name/site_id {product.name}/{product.site_id} "
                           f"disagree with its key")
    for f in product.files:
        if "/" in f.name or f.name in ("", ".", "..", MANIFEST):
            raise PublishError(f"{work.href(key)}: invalid file name {f.name!r}")
    return product


def publish_product(work: Store, dist: Store, site_id: str, name: str) -> Published:
    """Copy the assets of one product to ``<SITE>/<NAME>/`` of ``dist``, verify them, write its Item.

    Assets already right (size and SHA-256) are not copied again; the Item is
    written only after every asset is verified, and only if it changed.
    Objects of an older delivery no longer in the manifest are removed last.
    Raises :class:`PublishError` when an asset cannot be verified.
    """
    product = read_manifest(work, site_id, name)
    src, dst = work_prefix(site_id, name), f"{site_id}/{name}/"
    done = Published(name, item_key(site_id, name))
    assets = [f for f in product.files if f.asset is not None]
    if not assets:
        raise PublishError(f"{work.href(src + MANIFEST)}: no assets")
    for f in assets:
        if holds(dist, dst + f.name, f.size, f.sha256):
            done.skipped.append(f.name)
            continue
        if not work.exists(src + f.name):
            raise PublishError(f"{work.href(src + f.name)}: listed in the manifest but missing")
        dist.copy_from(work, src + f.name, dst + f.name)
        if not holds(dist, dst + f.name, f.size, f.sha256):
            raise PublishError(f"{dist.href(dst + f.name)}: size or SHA-256 differ from the manifest "
                               f"({f.size} bytes, {f.sha256})")
        done.copied.append(f.name)
    done.item_written = put_if_changed(dist, done.item_key, item_json(product), STAC_MEDIA_TYPE)
    keep = {dst + f.name for f in assets} | {done.item_key}
    for info in list(dist.list(dst)):
        if info.key not in keep:
            dist.delete(info.key)
            done.removed.append(info.key)
    log.info("published %s: %d copied, %d already there, item %s", name, len(done.copied), len(done.skipped),
             "written" if done.item_written else "unchanged")
    return done


def update_metalinks(dist: Store, site_id: str, items: dict[str, dict], url_for: Callable[[str], str]) -> dict:
    """Write ``<SITE>/<SITE>_<LEVEL>.meta4`` for each level of ``items`` (Item dicts by key), only if changed.

    A level without products has no Metalink (an old one is removed).
    Returns ``{"levels": [levels with a Metalink], "written": [keys written]}``.
    """
    levels, written = [], []
    for level in LEVELS:
        key = metalink_key(site_id, level)
        chosen = {k: d for k, d in items.items() if (d.get("properties") or {}).get("take5:level") == level}
        try:
            data = build_metalink(chosen, url_for) if chosen else None
        except MetalinkError as exc:
            log.warning("%s: %s", dist.href(key), exc)
            data = None
        if data is None:
            if dist.exists(key):
                dist.delete(key)
            continue
        levels.append(level)
        if put_if_changed(dist, key, data, METALINK_MEDIA_TYPE):
            written.append(key)
    return {"levels": levels, "written": written}


def update_collection(dist: Store, site: SiteConfig, new_item_keys: list[str],
                      url_for: Callable[[str], str] | None = None) -> dict:
    """Link ``new_item_keys`` (published Items) from ``<SITE>/collection.json``; recompute extent and summaries.

    The collection keeps the Items it already links (whose JSON still exists)
    and gains the new ones, each once. Written only if it changed. With
    ``url_for`` (``key -> public URL``), the site's Metalinks are refreshed
    first (:func:`update_metalinks`) and linked as collection assets.
    """
    site_id = site.site_id
    prefix = f"{site_id}/"
    for key in new_item_keys:
        if not key.startswith(prefix) or not key.endswith(".json"):
            raise PublishError(f"{key!r} is not an Item of site {site_id}")
    old = set(item_links(read_json(dist, collection_key(site_id)) or {}))
    hrefs = old | {"./" + key[len(prefix):] for key in new_item_keys}
    items = {}
    for href in sorted(hrefs):
        doc = read_json(dist, prefix + href[2:]) if href.startswith("./") else None
        if doc is None:
            log.warning("collection %s: item %s missing, unlinked", site_id, href)
            continue
        items[href] = doc
    if not items:
        return {"items": 0, "added": 0, "written": False, "metalinks_written": []}
    metalinks = {"levels": [], "written": []}
    if url_for is not None:
        metalinks = update_metalinks(dist, site_id, {prefix + h[2:]: d for h, d in items.items()}, url_for)
    written = put_if_changed(dist, collection_key(site_id), collection_json(site, items, tuple(metalinks["levels"])),
                             STAC_MEDIA_TYPE)
    return {"items": len(items), "added": len(set(items) - old), "written": written,
            "metalinks_written": metalinks["written"]}


def site_collections(dist: Store) -> list[str]:
    """Site ids that have a ``<SITE>/collection.json`` in the distribution bucket."""
    return [s for s in dist.list_dirs("") if is_site_id(s) and dist.exists(collection_key(s))]


def update_root_catalog(dist: Store) -> bool:
    """Rebuild ``catalog.json`` from the listing of the site collections; True if written.

    Site DAGs run this concurrently: after writing, the catalog is read again
    and compared with a fresh listing, and rewritten until they agree, so the
    last writer always leaves every listed collection linked.
    """
    written = False
    for _ in range(CATALOG_ATTEMPTS):
        sites = site_collections(dist)
        written |= put_if_changed(dist, CATALOG_KEY, catalog_json(sites), STAC_MEDIA_TYPE)
        current = read_json(dist, CATALOG_KEY) or {}
        if child_sites(current) == sorted(site_collections(dist)):
            return written
    raise PublishError(f"{dist.href(CATALOG_KEY)}: still changing after {CATALOG_ATTEMPTS} attempts")
