"""Publication: products from the work bucket to the distribution bucket, then the catalog.

Order and guarantees (docs/catalog.md): the assets of a product are copied
(server-side when possible) to a folder named by their content version,
``<SITE>/<NAME>/<VERSION>/``, and verified by size and SHA-256 against the
product's manifest; then its Item ``<SITE>/<NAME>/<NAME>.json`` is written:
that single PUT switches readers from the old version to the new one. The
collection, the Metalinks and the pages follow (``pipeline.update_catalog``),
and only then are older versions removed (:func:`prune_products`). Every
write is skipped when the object already holds the same bytes, so a rerun
changes nothing that is right and completes whatever a failure interrupted.

With a STAC API (``api``, :mod:`take5_ops.distribution.stacapi`), the API Item is
upserted just before the static Item is written, and deleted first on withdrawal: a
failed API write stops the step before the static catalog changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from take5_ops.distribution.catalog import (
    catalog_json,
    child_sites,
    collection_json,
    item_json,
    item_links,
)
from take5_ops.distribution.metalink import MEDIA_TYPE as METALINK_MEDIA_TYPE
from take5_ops.distribution.metalink import MetalinkError, build_metalink, item_files
from take5_ops.distribution.stacapi import StacApiIndex, publish_item, sync_collection
from take5_ops.errors import PublishError
from take5_ops.naming import LEVELS, is_site_id, product_stem, product_version, version_key
from take5_ops.products.product import MANIFEST, Product
from take5_ops.products.workspace import read_manifest
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import (
    ChecksumMismatch,
    Store,
    StoreError,
    holds,
    layout,
    put_if_changed,
    read_json,
)

log = logging.getLogger(__name__)

STAC_MEDIA_TYPE = "application/json"
CATALOG_ATTEMPTS = 5
VERSION_HEX = 12  # content version: "v" + 12 hex digits (48 bits) of the assets' digest


@dataclass
class Published:
    """What :func:`publish_product` did for one product."""

    name: str
    item_key: str
    version: str = ""
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    item_written: bool = False
    withdrawn: bool = False


def content_version(product: Product) -> str:
    """The folder name of a product's assets: ``v`` + 12 hex digits of the SHA-256 of their names, sizes and
    SHA-256s. Same files, same version; any changed byte, another version."""
    lines = sorted(f"{f.name} {f.size} {f.sha256}" for f in product.files if f.asset is not None)
    return "v" + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:VERSION_HEX]


def publish_product(work: Store, dist: Store, site_id: str, name: str, api: StacApiIndex | None = None) -> Published:
    """Copy the assets of one product to ``<SITE>/<NAME>/<VERSION>/`` of ``dist``, verify them, write its Item.

    Assets already right (size and SHA-256) are not copied again; the Item is
    written only after every asset is verified, and only if it changed: that
    write is the switch to the new version. Nothing is removed here (older
    versions go in :func:`prune_products`, once the collection, the Metalinks
    and the pages no longer name them). A withdrawn product is skipped.
    With ``api``, the API Item is upserted (every time: a rerun completes a failed one) right
    before the static Item is written.
    Raises :class:`PublishError` when an asset cannot be verified, :class:`StacApiError` when
    the API write fails (the static Item is then left as it was).
    """
    done = Published(name, layout.item_key(site_id, name))
    if work.exists(layout.withdrawn_key(site_id, name)):
        log.warning("%s withdrawn (%s): not published", name, work.href(layout.withdrawn_key(site_id, name)))
        done.withdrawn = True
        return done
    product = read_manifest(work, site_id, name)
    done.version = content_version(product)
    src, dst = layout.product_prefix(site_id, name), layout.version_prefix(site_id, name, done.version)
    assets = [f for f in product.files if f.asset is not None]
    if not assets:
        raise PublishError(f"{work.href(src + MANIFEST)}: no assets")
    for f in assets:
        if holds(dist, dst + f.name, f.size, f.sha256):
            done.skipped.append(f.name)
            continue
        try:  # the copy checks what it stored against its source, and returns it
            stored = dist.copy_from(work, src + f.name, dst + f.name)
        except ChecksumMismatch as exc:
            raise PublishError(f"{dist.href(dst + f.name)}: size or SHA-256 differ from the manifest "
                               f"({f.size} bytes, {f.sha256}): {exc}") from exc
        except StoreError:
            if not work.exists(src + f.name):
                raise PublishError(f"{work.href(src + f.name)}: listed in the manifest but missing") from None
            raise
        if (stored.size, stored.sha256) != (f.size, f.sha256):
            raise PublishError(f"{dist.href(dst + f.name)}: size or SHA-256 differ from the manifest "
                               f"({f.size} bytes, {f.sha256})")
        done.copied.append(f.name)
    item = item_json(product, done.version)
    if api is not None:
        publish_item(api, dist, done.item_key, json.loads(item))
    done.item_written = put_if_changed(dist, done.item_key, item, STAC_MEDIA_TYPE)
    log.info("published %s (%s): %d copied, %d already there, item %s", name, done.version, len(done.copied),
             len(done.skipped), "written" if done.item_written else "unchanged")
    return done


def prune_products(dist: Store, site_id: str, names: Iterable[str]) -> list[str]:
    """Remove what the Item of each product no longer names under ``<SITE>/<NAME>/`` (older versions,
    interrupted copies); returns the removed keys. A product without a readable Item is left alone."""
    removed = []
    for name in sorted(set(names)):
        key = layout.item_key(site_id, name)
        doc = read_json(dist, key)
        try:
            keep = {f.key for f in item_files(key, doc)} | {key} if doc else None
        except MetalinkError as exc:
            log.warning("%s: not pruned (%s)", dist.href(key), exc)
            keep = None
        if keep is None:
            continue
        for info in list(dist.list(layout.published_prefix(site_id, name))):
            if info.key not in keep:
                dist.delete(info.key)
                removed.append(info.key)
    if removed:
        log.info("%s: %d object(s) of older versions removed", site_id, len(removed))
    return removed


def published_names(dist: Store, site_id: str) -> list[str]:
    """Names of the site's products that have an Item in the distribution bucket."""
    names = (layout.item_name_of(site_id, i.key) for i in dist.list(layout.site_prefix(site_id)))
    return [n for n in names if n]


def current_versions(names: Iterable[str]) -> dict[str, str]:
    """The highest version among ``names`` of each product: product stem -> name."""
    current: dict[str, str] = {}
    for name in names:
        stem = product_stem(name)
        if stem and (stem not in current or version_key(product_version(name)) >
                     version_key(product_version(current[stem]))):
            current[stem] = name
    return current


def older_versions(dist: Store, site_id: str, names: Iterable[str]) -> list[str]:
    """Products published under another version than the one of ``names`` (the current ones: of two
    versions of one product in ``names``, the higher): what the publication of ``names`` supersedes."""
    current = current_versions(names)
    if not current:
        return []
    return sorted(n for n in published_names(dist, site_id)
                  if product_stem(n) in current and n != current[product_stem(n)])


def remove_published(dist: Store, site_id: str, name: str) -> list[str]:
    """Delete a product's Item, then its files (once nothing links it any more); the removed keys."""
    key = layout.item_key(site_id, name)
    removed = []
    if dist.exists(key):
        dist.delete(key)
        removed.append(key)
    for info in list(dist.list(layout.published_prefix(site_id, name))):
        dist.delete(info.key)
        removed.append(info.key)
    return removed


def update_metalinks(dist: Store, site_id: str, items: dict[str, dict], url_for: Callable[[str], str]) -> dict:
    """Write ``<SITE>/<SITE>_<LEVEL>.meta4`` for each level of ``items`` (Item dicts by key), only if changed.

    A level without products has no Metalink (an old one is removed).
    Returns ``{"levels": [levels with a Metalink], "written": [keys written]}``.
    """
    levels, written = [], []
    for level in LEVELS:
        key = layout.metalink_key(site_id, level)
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
                      url_for: Callable[[str], str] | None = None, withdrawn: Iterable[str] = (),
                      api: StacApiIndex | None = None) -> dict:
    """Link ``new_item_keys`` (published Items) from ``<SITE>/collection.json``; recompute extent and summaries.

    The collection keeps the Items it already links (whose JSON still exists)
    but ``withdrawn`` (Item keys), and gains the new ones, each once. Written
    only if it changed. With ``url_for`` (``key -> public URL``), the site's
    Metalinks are refreshed first (:func:`update_metalinks`) and linked as
    collection assets. A collection left without Items is removed (its
    Metalinks first). With ``api``, the API's collection follows the written one.
    """
    site_id = site.site_id
    prefix = layout.site_prefix(site_id)
    withdrawn = list(withdrawn)
    for key in [*new_item_keys, *withdrawn]:
        if not key.startswith(prefix) or not key.endswith(".json"):
            raise PublishError(f"{key!r} is not an Item of site {site_id}")
    old = set(item_links(read_json(dist, layout.collection_key(site_id)) or {}))
    gone = {"./" + key[len(prefix):] for key in withdrawn}
    hrefs = (old | {"./" + key[len(prefix):] for key in new_item_keys}) - gone
    items = {}
    for href in sorted(hrefs):
        doc = read_json(dist, prefix + href[2:]) if href.startswith("./") else None
        if doc is None:
            log.warning("collection %s: item %s missing, unlinked", site_id, href)
            continue
        items[href] = doc
    metalinks = {"levels": [], "written": []}
    if url_for is not None:
        metalinks = update_metalinks(dist, site_id, {prefix + h[2:]: d for h, d in items.items()}, url_for)
    if not items:
        removed = dist.exists(layout.collection_key(site_id))
        if removed:
            dist.delete(layout.collection_key(site_id))
        if api is not None:
            sync_collection(api, dist, site_id)
        return {"items": 0, "added": 0, "written": removed, "metalinks_written": metalinks["written"]}
    written = put_if_changed(dist, layout.collection_key(site_id), collection_json(site, items, tuple(metalinks["levels"])),
                             STAC_MEDIA_TYPE)
    if api is not None:
        sync_collection(api, dist, site_id)
    return {"items": len(items), "added": len(set(items) - old), "written": written,
            "metalinks_written": metalinks["written"]}


def site_collections(dist: Store) -> list[str]:
    """Site ids that have a ``<SITE>/collection.json`` in the distribution bucket."""
    return [s for s in dist.list_dirs("") if is_site_id(s) and dist.exists(layout.collection_key(s))]


def update_root_catalog(dist: Store) -> bool:
    """Rebuild ``catalog.json`` from the listing of the site collections; True if written.

    Site DAGs run this concurrently: after writing, the catalog is read again
    and compared with a fresh listing, and rewritten until they agree, so the
    last writer always leaves every listed collection linked. A run that finds the
    catalog already right writes nothing and checks nothing more: a later writer checks.
    """
    written = False
    for _ in range(CATALOG_ATTEMPTS):
        sites = site_collections(dist)
        if not put_if_changed(dist, layout.CATALOG_KEY, catalog_json(sites), STAC_MEDIA_TYPE):
            return written
        written = True
        current = read_json(dist, layout.CATALOG_KEY) or {}
        if child_sites(current) == sorted(site_collections(dist)):
            return written
    raise PublishError(f"{dist.href(layout.CATALOG_KEY)}: still changing after {CATALOG_ATTEMPTS} attempts")


def withdraw_product(work: Store, dist: Store, site: SiteConfig, name: str,
                     url_for: Callable[[str], str] | None = None, api: StacApiIndex | None = None) -> dict:
    """Withdraw a published product for good: the withdrawal record (``layout.withdrawn_key``) in
    the work bucket (no later run publishes it again), then :func:`unpublish_product`.

    Every step is idempotent: a rerun after a failure completes the withdrawal.
    Returns ``{"name", "unlinked", "removed": [keys]}``.
    """
    site_id = site.site_id
    record = {"site_id": site_id, "name": name, "withdrawn_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if not work.exists(layout.withdrawn_key(site_id, name)):
        work.put_bytes(layout.withdrawn_key(site_id, name), json.dumps(record, sort_keys=True).encode(), "application/json")
    return unpublish_product(dist, site, name, url_for, api)


def unpublish_product(dist: Store, site: SiteConfig, name: str, url_for: Callable[[str], str] | None = None,
                      api: StacApiIndex | None = None) -> dict:
    """Take a product off the distribution bucket: it leaves every listing, then its files go.

    Order: the STAC API (``api``); the collection and Metalinks without it; ``catalog.json``; the
    pages; then its Item and its files. Used by :func:`withdraw_product` and for L2A products a replay no longer produces.
    Returns ``{"name", "unlinked", "removed": [keys]}``.
    """
    from take5_ops.distribution.website import update_pages

    site_id = site.site_id
    key = layout.item_key(site_id, name)
    linked = f"./{name}/{name}.json" in item_links(read_json(dist, layout.collection_key(site_id)) or {})
    if api is not None and api.delete_item(site_id, name):
        log.info("%s: off the STAC API", name)
    update_collection(dist, site, [], url_for, withdrawn=[key], api=api)
    update_root_catalog(dist)
    update_pages(dist, site_id)
    removed = remove_published(dist, site_id, name)
    log.info("unpublished %s: %s, %d object(s) removed", name, "unlinked" if linked else "was not linked",
             len(removed))
    return {"name": name, "unlinked": linked, "removed": removed}
