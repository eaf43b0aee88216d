"""The reconciliation of one site, read only: deliveries ↔ ledger ↔ quarantine ↔ work products (L1A, L1C) ↔ L2A
status ↔ SLA records ↔ Items and their files ↔ collection links ↔ Metalinks ↔ pages ↔ the STAC API.

Derived documents (collection, Metalinks, pages, pruning) are checked by running the publication
code itself on a :class:`~take5_ops.audit.dryrun.DryRun` of the distribution bucket: whatever it
would rewrite is out of date. Asset files are read and hashed, not trusted from their metadata.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from take5_ops.audit.dryrun import DryRun
from take5_ops.audit.findings import Finding
from take5_ops.distribution.access import public_base_url, public_urls
from take5_ops.distribution.catalog import item_json, item_links
from take5_ops.distribution.metalink import MetalinkError, item_files
from take5_ops.distribution.publish import content_version, current_versions, prune_products, update_collection
from take5_ops.distribution.stacapi import diff_site, index_for
from take5_ops.distribution.website import update_pages
from take5_ops.errors import PublishError
from take5_ops.l1a.intake import scan
from take5_ops.l2a.status import PUBLISHED
from take5_ops.naming import parse_product_id, parse_product_name, product_stem
from take5_ops.products.workspace import read_manifest
from take5_ops.siteconfig import SiteConfig
from take5_ops.sla.published import by_product, first_publications, stem
from take5_ops.storage import Buckets, Store, layout, read_json


def _ledger(work: Store, site_id: str) -> dict[str, dict]:
    keys = (i.key for i in work.list(layout.ledger_prefix(site_id)))
    entries = {pid: read_json(work, layout.ledger_key(site_id, pid)) for pid in map(layout.ledger_product_id, keys) if pid}
    return {pid: e for pid, e in entries.items() if e}


def _product(work: Store, site_id: str, name: str):
    try:
        return read_manifest(work, site_id, name)
    except PublishError:
        return None


def _items(dist: Store, site_id: str) -> dict[str, dict]:
    """The site's Items by product name."""
    names = (layout.item_name_of(site_id, i.key) for i in dist.list(layout.site_prefix(site_id)))
    docs = {name: read_json(dist, layout.item_key(site_id, name)) for name in names if name}
    return {name: doc for name, doc in docs.items() if doc is not None}


def _asset_findings(dist: Store, site_id: str, name: str, doc: dict, tmp: Path) -> list[Finding]:
    found = []
    try:
        files = item_files(layout.item_key(site_id, name), doc)
    except MetalinkError as exc:
        return [Finding("item-outdated", site_id, name, str(exc))]
    for f in files:
        if not dist.exists(f.key):
            found.append(Finding("asset-missing", site_id, f.key))
            continue
        digest = dist.download(f.key, tmp / "asset")
        size = (tmp / "asset").stat().st_size
        if (size, digest) != (f.size, f.sha256):
            found.append(Finding("asset-corrupt", site_id, f.key, f"{size} bytes, SHA-256 {digest}; "
                                                                    f"the Item says {f.size} bytes, {f.sha256}"))
    return found


def _l1a_product_id(name: str) -> str | None:
    try:
        return str(parse_product_name(name)[0])
    except ValueError:
        return None


def _l1a_name(product_id: str) -> list[str]:
    """The L1A product name of a delivery (none for a PRODUCT_ID that does not parse)."""
    try:
        return [parse_product_id(product_id).product_name("L1A")]
    except ValueError:
        return []


def _record_findings(work: Store, site_id: str, ledger: dict) -> tuple[list[Finding], set[str]]:
    """Ledger ↔ quarantine ↔ work products ↔ L2A status; and the names that should be published."""
    found, expected = [], set()
    for pid, entry in sorted(ledger.items()):
        name = entry.get("product_name")
        if entry.get("status") == "rejected" and not any(work.list(layout.quarantine_product_prefix(site_id, pid))):
            found.append(Finding("ledger-without-quarantine", site_id, pid))
        elif entry.get("status") == "published" and name:
            names = [name, *_l1a_name(pid)]  # the L1C and the L1A of the delivery
            missing = [n for n in names if _product(work, site_id, n) is None]
            if missing:
                found.append(Finding("ledger-without-product", site_id, pid, ", ".join(missing)))
            expected.update(n for n in names if n not in missing)
    status = read_json(work, layout.l2a_status_key(site_id)) or {}
    for day, d in sorted((status.get("dates") or {}).items()):
        if isinstance(d, dict) and d.get("outcome") == PUBLISHED and d.get("name"):
            if _product(work, site_id, d["name"]) is None:
                found.append(Finding("l2a-status-mismatch", site_id, day, d["name"]))
            else:
                expected.add(d["name"])
    return found, {n for n in expected if not work.exists(layout.withdrawn_key(site_id, n))}


def _item_findings(buckets: Buckets, site_id: str, expected: set[str], items: dict,
                   pending: list[str]) -> list[Finding]:
    """Items ↔ work products ↔ their files ↔ SLA records."""
    work = buckets.work
    found = [Finding("item-missing", site_id, name) for name in sorted(expected - set(items))]
    first = by_product(first_publications(work, site_id))  # any version's: the SLA judges the first
    with tempfile.TemporaryDirectory(prefix="take5-audit-") as tmp:
        for name, doc in sorted(items.items()):
            product = _product(work, site_id, name)
            if product is None:
                if _l1a_product_id(name) in pending:  # the next run rebuilds and republishes it
                    continue
                found.append(Finding("item-without-product", site_id, name))
            elif _bytes(buckets.dist, layout.item_key(site_id, name)) != item_json(product,
                                                                                       content_version(product)):
                found.append(Finding("item-outdated", site_id, name))
            found += _asset_findings(buckets.dist, site_id, name, doc, Path(tmp))
            if stem(name) not in first:
                found.append(Finding("sla-unrecorded", site_id, name))
    return found


def _bytes(dist: Store, key: str) -> bytes | None:
    return dist.get_bytes(key) if dist.exists(key) else None


def _derived_findings(dist: Store, site: SiteConfig, items: dict, old: set[str]) -> list[Finding]:
    """Collection links, Metalinks, pages, orphan objects; ``old``: Item keys of old versions (found as such)."""
    site_id, found = site.site_id, []
    prefix = layout.site_prefix(site_id)
    links = {prefix + h[2:] for h in item_links(read_json(dist, layout.collection_key(site_id)) or {})
             if h.startswith("./")} - old
    keys = {layout.item_key(site_id, n) for n in items}
    found += [Finding("item-unlinked", site_id, k) for k in sorted(keys - links)]
    found += [Finding("link-to-missing-item", site_id, k) for k in sorted(links - keys)]
    dry = DryRun(dist)
    update_collection(dry, site, [], public_urls(public_base_url(dist)))
    for _, key in dry.changes:
        if key.endswith(".meta4"):
            found.append(Finding("stale-metalink", site_id, key))
        elif key == layout.collection_key(site_id) and keys == links:
            found.append(Finding("stale-collection", site_id, key))
    dry = DryRun(dist)
    update_pages(dry, site_id)
    found += [Finding("stale-page", site_id, key) for _, key in dry.changes]
    dry = DryRun(dist)
    prune_products(dry, site_id, list(items))
    found += [Finding("orphan-version", site_id, key) for _, key in dry.changes]
    return found


def _old_versions(items: dict, expected: set[str]) -> set[str]:
    """Items of a product that also has its current version published: the one the ledger or the L2A
    status names, else the highest."""
    current = current_versions(items)
    current.update({product_stem(name): name for name in expected & set(items)})
    return {name for name in items if product_stem(name) and current[product_stem(name)] != name}


def _api_findings(buckets: Buckets, site_id: str) -> list[Finding]:
    """The STAC API's copy ↔ the bucket (none without an API configured)."""
    api = index_for(buckets.api)
    if api is None:
        return []
    diff, _ = diff_site(api, buckets.dist, site_id)
    found = [Finding("api-item-missing", site_id, name) for name in diff.missing]
    found += [Finding("api-item-different", site_id, name, "not in the bucket") for name in diff.extra]
    found += [Finding("api-item-different", site_id, name, "content differs") for name in diff.different]
    if diff.collection:
        found.append(Finding("api-item-different", site_id, layout.collection_key(site_id), "the collection differs"))
    return found


def audit_site(buckets: Buckets, site: SiteConfig) -> tuple[list[Finding], list[str]]:
    """The inconsistencies of one site, and its pending deliveries (waiting for a run: not inconsistencies)."""
    pending = [p.product_id for p in scan(buckets.l1a, buckets.work, site.site_id).pending]
    ledger = _ledger(buckets.work, site.site_id)
    items = _items(buckets.dist, site.site_id)
    found, expected = _record_findings(buckets.work, site.site_id, ledger)
    old = _old_versions(items, expected)
    found += [Finding("old-version", site.site_id, name) for name in sorted(old)]
    items = {name: doc for name, doc in items.items() if name not in old}
    found += _item_findings(buckets, site.site_id, expected, items, pending)
    found += _derived_findings(buckets.dist, site, items, {layout.item_key(site.site_id, n) for n in old})
    found += _api_findings(buckets, site.site_id)
    return found, pending
