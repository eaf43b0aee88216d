"""The steps of one site's chain, shared by the Airflow tasks and ``take5 run-site``.

Each step takes the stores (:class:`Buckets`) and JSON-compatible dicts, so
that an Airflow task passes its result to the next through XCom. Every step
is idempotent: state lives in the stores, and a rerun finds what is already
right and leaves it alone.

    intake -> run_l1c, then run_l1a (per accepted delivery) -> publish (per product)
           -> run_l2a (the site's series, in date order) -> publish (per L2A product) -> update_catalog
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from take5_ops.distribution.access import public_base_url, public_urls
from take5_ops.distribution.publish import (
    older_versions,
    prune_products,
    publish_product,
    published_names,
    remove_published,
    unpublish_product,
    update_collection,
    update_root_catalog,
)
from take5_ops.distribution.stacapi import index_for
from take5_ops.distribution.website import update_pages
from take5_ops.errors import L1CError
from take5_ops.l1a import intake as l1a_intake
from take5_ops.naming import parse_product_id, product_stem
from take5_ops.products.gdal import local_env
from take5_ops.products.product import Product
from take5_ops.products.workspace import MARKER_ETAG, processed_product, upload_product
from take5_ops.siteconfig import SiteConfig
from take5_ops.sla.published import record_first_publications
from take5_ops.storage import (
    Buckets,
    StoreError,
    layout,
)

log = logging.getLogger(__name__)


def _local_rasters(step):
    """Run ``step`` inside one GDAL environment without a cloud session (:func:`local_env`): a task opens its
    rasters without looking the AWS credentials up for each one."""
    @functools.wraps(step)
    def run(*args, **kwargs):
        with local_env():
            return step(*args, **kwargs)
    return run


@_local_rasters
def intake(buckets: Buckets, site: SiteConfig) -> list[dict]:
    """Validate every pending delivery of the site; return the accepted ones (``Accepted.to_dict()``).

    Raises the configuration error when the site has no DEM, before any
    product. Rejects are quarantined and recorded, stale deliveries recorded,
    stray objects logged once.
    """
    l1a_intake.check_site_aux(buckets.aux, site.site_id)
    with tempfile.TemporaryDirectory(prefix="take5-intake-") as tmp:
        accepted = l1a_intake.validate_site(buckets.l1a, buckets.work, site, Path(tmp))
    return [a.to_dict() for a in accepted]


def _already_made(buckets: Buckets, site: SiteConfig, acc: l1a_intake.Accepted, level: str) -> tuple[str, Product | None]:
    """The name of the delivery's product of ``level``, and the product when the work bucket already holds it
    for this very delivery (same ``DELIVERY.OK`` ETag, every file present and right)."""
    if acc.site_id != site.site_id:
        raise ValueError(f"delivery {acc.product_id} is not of site {site.site_id}")
    name = parse_product_id(acc.product_id).product_name(level)
    product = processed_product(buckets.work, site.site_id, name, acc.marker_etag)
    if product is not None:
        log.info("%s %s already in %s for this delivery, skipped", level, name, buckets.work.url)
    return name, product


def _upload(buckets: Buckets, product: Product, folder: Path, marker_etag: str) -> None:
    """Upload a product made from the delivery whose ``DELIVERY.OK`` ETag is ``marker_etag`` (kept in its manifest)."""
    product.properties[MARKER_ETAG] = marker_etag
    product.write_manifest(folder)
    upload_product(buckets.work, product, folder)


@_local_rasters
def run_l1c(buckets: Buckets, site: SiteConfig, accepted: dict) -> dict:
    """Process one accepted delivery to L1C in a temporary folder and upload it to the work bucket.

    Skipped when the work bucket already holds the product of this very
    delivery (same ``DELIVERY.OK`` ETag, every file present and right).
    Returns ``{"product": Product.to_dict(), "accepted": accepted}``. An input
    the processor rejects (:class:`~take5_ops.errors.L1CError`: retrying cannot
    help) is quarantined and recorded as rejected before the error goes up.
    """
    from take5_ops.l1c.processor import process_l1c

    acc = l1a_intake.Accepted.from_dict(accepted)
    name, product = _already_made(buckets, site, acc, "L1C")
    if product is not None:
        return {"product": product.to_dict(), "accepted": accepted}
    with tempfile.TemporaryDirectory(prefix="take5-l1c-") as tmp:
        tmp = Path(tmp)
        l1a_dir = l1a_intake.fetch(buckets.l1a, acc, tmp / "l1a")
        dem = tmp / "DEM.tif"
        buckets.aux.download(f"{site.site_id}/DEM.tif", dem)
        try:
            product = process_l1c(l1a_dir, dem, site, tmp / "out", delivered_at=acc.delivered_at)
        except L1CError as exc:
            _reject(buckets, accepted, f"L1C rejected the delivery: {exc}")
            raise
        if product.name != name:
            raise RuntimeError(f"L1C of {acc.product_id} is named {product.name}, expected {name}")
        _upload(buckets, product, tmp / "out" / product.name, acc.marker_etag)
    return {"product": product.to_dict(), "accepted": accepted}


@_local_rasters
def run_l1a(buckets: Buckets, site: SiteConfig, accepted: dict) -> dict:
    """Package one accepted delivery as its L1A product (:mod:`take5_ops.l1c.l1a_product`) in the work bucket.

    Skipped when the work bucket already holds the L1A of this very delivery. Returns
    ``{"product": Product.to_dict(), "accepted": None}`` for :func:`publish` (the ledger follows the L1C).
    """
    from take5_ops.l1c.l1a_product import make_l1a_product

    acc = l1a_intake.Accepted.from_dict(accepted)
    name, product = _already_made(buckets, site, acc, "L1A")
    if product is None:
        with tempfile.TemporaryDirectory(prefix="take5-l1a-") as tmp:
            tmp = Path(tmp)
            l1a_dir = l1a_intake.fetch(buckets.l1a, acc, tmp / acc.product_id)
            product = make_l1a_product(l1a_dir, site, tmp / "out", delivered_at=acc.delivered_at)
            _upload(buckets, product, tmp / "out" / name, acc.marker_etag)
    return {"product": product.to_dict(), "accepted": None}


def publish_l1a(buckets: Buckets, site: SiteConfig, accepted: dict) -> dict | None:
    """The L1A product of one accepted delivery, made (:func:`run_l1a`) and published (:func:`publish`).

    Runs after the delivery's L1C: ``None`` (nothing published) when the L1C rejected this very
    delivery (unreadable imagery is not distributed).
    """
    entry = l1a_intake.ledger_entry(buckets.work, site.site_id, accepted["product_id"]) or {}
    if entry.get("status") == "rejected" and entry.get("marker_etag") == accepted["marker_etag"]:
        log.warning("%s rejected (%s): no L1A published", accepted["product_id"], entry.get("reason"))
        return None
    return publish(buckets, site, run_l1a(buckets, site, accepted))


def publish(buckets: Buckets, site: SiteConfig, item: dict) -> dict:
    """Copy one processed product's assets to the distribution bucket, verify them, write its Item.

    ``item`` is a :func:`run_l1c` result, or ``{"product": ...}`` for an L2A product. Returns
    ``{"name", "item_key", "accepted"}`` (``accepted`` is ``None`` for an L2A product; ``item_key`` is ``None``
    for a withdrawn product, not linked again).
    """
    name = item["product"]["name"]
    done = publish_product(buckets.work, buckets.dist, site.site_id, name, index_for(buckets.api))
    return {"name": name, "item_key": None if done.withdrawn else done.item_key, "accepted": item.get("accepted")}


@_local_rasters
def l2a_gate(buckets: Buckets, site: SiteConfig) -> tuple[bool, str]:
    """Whether the site's L2A series has a segment whose 30-day gate is open, and why (e.g. ``history 18/30 days``)."""
    from take5_ops.l2a.chain import check_gate

    return check_gate(buckets.work, site)


@_local_rasters
def run_l2a(buckets: Buckets, site: SiteConfig, *, progress: Callable | None = None) -> dict:
    """Bring the site's L2A series up to date (:func:`take5_ops.l2a.chain.run_l2a`); its ``to_publish``
    entries are ``{"product": ...}`` items for :func:`publish`. Published L2A products the series no
    longer gives (``removed``) are taken off the distribution bucket."""
    from take5_ops.l2a.chain import run_l2a as run

    done = run(buckets.work, buckets.aux, buckets.dist, site, progress=progress)
    done["to_publish"] = [{"product": p} for p in done["to_publish"]]
    # another version of a removed product (to publish, or published): the old one is withdrawn after
    # the new one is published (update_catalog), never before
    versions = [p["product"]["name"] for p in done["to_publish"]] + published_names(buckets.dist, site.site_id)
    for name in done["removed"]:  # e.g. too cloudy after a replay: off every listing
        if any(v != name and product_stem(v) == product_stem(name) for v in versions):
            continue
        if buckets.dist.exists(layout.item_key(site.site_id, name)):
            unpublish_product(buckets.dist, site, name, public_urls(public_base_url(buckets.dist)),
                              index_for(buckets.api))
    return done


def update_catalog(buckets: Buckets, site: SiteConfig, published: list[dict], accepted: list[dict]) -> dict:
    """Refresh the site's Metalinks, link the published Items from its Collection, refresh
    ``catalog.json`` and the web pages, remove the replaced versions of the products, then commit the ledger.

    ``published`` holds :func:`publish` results (``None`` entries, from failed
    publications, are ignored); the ledger marks their deliveries
    ``published``. Older versions of the published products (another processor version) leave the
    collection in the same write that links the new ones, and their Items and files (and their
    processed products) go after the pages: there is always one version, never none. Accepted deliveries without a publication stay pending. The first publication
    time of each product is kept for the SLA (:mod:`take5_ops.sla.published`).
    """
    done = [p for p in published if p]
    names = [p["name"] for p in done if p["item_key"]]
    # a new version replaces the older ones in the same collection write; they go after the pages
    older = older_versions(buckets.dist, site.site_id, names)
    collection = update_collection(buckets.dist, site, [p["item_key"] for p in done if p["item_key"]],
                                   public_urls(public_base_url(buckets.dist)),
                                   withdrawn=[layout.item_key(site.site_id, n) for n in older],
                                   api=index_for(buckets.api))
    catalog_written = update_root_catalog(buckets.dist)
    pages = update_pages(buckets.dist, site.site_id)
    pruned = prune_products(buckets.dist, site.site_id, names)
    for name in older:
        remove_published(buckets.dist, site.site_id, name)
        for info in list(buckets.work.list(layout.product_prefix(site.site_id, name))):
            buckets.work.delete(info.key)
        log.info("%s withdrawn: a newer version is published", name)
    record_first_publications(buckets.work, site.site_id, [p["name"] for p in done if p["item_key"]],
                              datetime.now(UTC))
    for p in done:
        if p.get("accepted"):
            l1a_intake.record(buckets.work, l1a_intake.Accepted.from_dict(p["accepted"]), "published",
                              product_name=p["name"])
    names = {p["accepted"]["product_id"] for p in done if p.get("accepted")}
    return {
        "published": len(done),
        "not_published": sorted(a["product_id"] for a in accepted if a["product_id"] not in names),
        "collection_items": collection["items"],
        "collection_added": collection["added"],
        "collection_written": collection["written"],
        "metalinks_written": collection["metalinks_written"],
        "catalog_written": catalog_written,
        "pages_written": pages["written"],
        "pruned": len(pruned),
        "withdrawn_versions": older,
    }


def _reject(buckets: Buckets, accepted: dict, reason: str) -> None:
    acc = l1a_intake.Accepted.from_dict(accepted)
    rejected = l1a_intake.Rejected(acc.site_id, acc.product_id, acc.marker_etag, reason,
                                   delivered_at=acc.delivered_at)
    l1a_intake.quarantine(buckets.work, rejected)
    l1a_intake.record(buckets.work, rejected, "rejected")


def run_site(site: SiteConfig, buckets: Buckets, *, progress: Callable | None = None) -> dict:
    """The whole chain for one site without Airflow: intake, then L1C and L1A and their publication per
    delivery (no L1A for a delivery whose L1C failed), then the L2A series and its publications, then the catalog and the ledger.

    A delivery whose L1C or publication fails is recorded as rejected with the
    reason and quarantined (a store failure leaves it pending instead); the
    others go on. ``progress(total, title)`` makes a
    :class:`~take5_ops.progress.Progress`-like context. Returns a summary.
    """
    accepted = intake(buckets, site)
    published, failed = [], {}
    show = progress is not None and bool(accepted)
    bar = progress(len(accepted), f"{site.site_id} L1C") if show else contextlib.nullcontext()
    with bar:
        for acc in sorted(accepted, key=lambda a: a["product_id"]):
            try:
                published.append(publish(buckets, site, run_l1c(buckets, site, acc)))
            except StoreError as exc:
                log.error("%s left pending: %s", acc["product_id"], exc)
                failed[acc["product_id"]] = f"left pending: {exc}"
            except L1CError as exc:  # already quarantined and recorded by run_l1c
                log.error("%s rejected: %s", acc["product_id"], exc)
                failed[acc["product_id"]] = f"L1C rejected the delivery: {exc}"
            except Exception as exc:
                log.exception("%s failed", acc["product_id"])
                reason = f"processing failed: {type(exc).__name__}: {exc}"
                _reject(buckets, acc, reason)
                failed[acc["product_id"]] = reason
            if acc["product_id"] not in failed:  # the L1A of a delivery the L1C accepted
                try:
                    published.append(publish_l1a(buckets, site, acc))
                except Exception as exc:  # its L1C is published; the L1A is retried with the next delivery
                    log.exception("%s: L1A not published", acc["product_id"])
                    failed[f"{acc['product_id']} L1A"] = f"L1A not published: {type(exc).__name__}: {exc}"
            if show:
                bar.advance(acc["product_id"])
    try:
        l2a = run_l2a(buckets, site, progress=progress)
    except Exception as exc:  # the L1C results are still committed below; the L2A resumes next run
        log.exception("%s: L2A failed", site.site_id)
        failed["L2A"] = f"L2A failed: {type(exc).__name__}: {exc}"
        l2a = {"gate": "unknown", "message": str(exc), "processed": 0, "skipped": {}, "to_publish": [],
               "removed": []}
    for item in l2a["to_publish"]:
        try:
            published.append(publish(buckets, site, item))
        except Exception as exc:  # left for the next run: its Item still differs
            log.exception("%s not published", item["product"]["name"])
            failed[item["product"]["name"]] = f"publication failed: {type(exc).__name__}: {exc}"
    summary = update_catalog(buckets, site, published, accepted)
    summary.update(site_id=site.site_id, accepted=len(accepted), failed=failed,
                   l2a={k: l2a[k] for k in ("gate", "message", "processed", "skipped", "removed")})
    return summary
