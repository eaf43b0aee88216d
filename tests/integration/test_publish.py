"""Publication on the S3 server: visible only once verified, reruns change nothing, redelivery replaces."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from helpers.fake_products import make_product, site_config
from helpers.published import accepted_dict
from helpers.stac_validation import validate_tree
from take5_ops.distribution.publish import (
    PublishError,
    content_version,
    publish_product,
    update_collection,
    update_root_catalog,
)
from take5_ops.pipeline import publish, update_catalog
from take5_ops.products.workspace import upload_product
from take5_ops.storage import Buckets, StoreError, layout

SITE = "FrancePornic"


@pytest.fixture
def env(s3_buckets, tmp_path):
    buckets = Buckets(**s3_buckets)
    return buckets, site_config(tmp_path)


def processed(buckets, tmp_path, day: int, **kw):
    """A fake L1C product uploaded to the work bucket; returns (product, run_l1c-like result)."""
    root = tmp_path / f"p{day}-{kw.get('value', 0)}"
    product = make_product(root, datetime(2015, 5, day, 10, 0, 0), **kw)
    upload_product(buckets.work, product, root / product.name)
    return product, {"product": product.to_dict(), "accepted": accepted_dict(product, kw.get("marker_etag", "etag-1"))}


def snapshot(store) -> dict:
    return {i.key: (i.etag, i.last_modified, i.size) for i in store.list()}


class WriteCounter:
    """Counts write requests the S3 client sends (PUT, COPY, DELETE, multipart)."""

    OPS = ("PutObject", "CopyObject", "DeleteObject", "CreateMultipartUpload")

    def __init__(self, *stores):
        self.calls = []
        for store in stores:
            for op in self.OPS:
                store.client.meta.events.register(f"before-parameter-build.s3.{op}", self._hook)

    def _hook(self, model, params, **kwargs):
        self.calls.append((model.name, params.get("Bucket"), params.get("Key")))


def test_full_publication_and_rerun_changes_nothing(env, tmp_path):
    buckets, site = env
    items = [processed(buckets, tmp_path, day)[1] for day in (3, 8)]
    published = [publish(buckets, site, it) for it in items]
    summary = update_catalog(buckets, site, published, [it["accepted"] for it in items])
    assert summary["published"] == 2 and summary["collection_items"] == 2 and summary["catalog_written"]
    docs = validate_tree(buckets.dist.get_bytes)
    assert set(docs) == {"catalog.json", layout.collection_key(SITE)} | {p["item_key"] for p in published}
    ledger = json.loads(buckets.work.get_bytes(layout.ledger_key(SITE, items[0]["accepted"]["product_id"])))
    assert ledger["status"] == "published" and ledger["product_name"] == items[0]["product"]["name"]

    before = {"dist": snapshot(buckets.dist), "work": snapshot(buckets.work)}
    counter = WriteCounter(buckets.dist, buckets.work)
    again = [publish(buckets, site, it) for it in items]
    summary = update_catalog(buckets, site, again + published, [it["accepted"] for it in items])
    assert again == published
    assert summary["collection_added"] == 0 and not summary["collection_written"] and not summary["catalog_written"]
    assert counter.calls == []
    assert {"dist": snapshot(buckets.dist), "work": snapshot(buckets.work)} == before
    col = json.loads(buckets.dist.get_bytes(layout.collection_key(SITE)))
    hrefs = [link["href"] for link in col["links"] if link["rel"] == "item"]
    assert len(hrefs) == len(set(hrefs)) == 2
    buckets.dist.put_bytes("probe.txt", b"x")  # the counter does see writes
    assert counter.calls == [("PutObject", buckets.dist.bucket, "probe.txt")]


def test_visible_only_after_all_assets_verified(env, tmp_path, monkeypatch):
    buckets, site = env
    _, first = processed(buckets, tmp_path, 3)
    update_catalog(buckets, site, [publish(buckets, site, first)], [first["accepted"]])
    col_before = buckets.dist.head(layout.collection_key(SITE))
    product, second = processed(buckets, tmp_path, 8)

    real_copy = buckets.dist.copy_from
    copies = []

    def failing_copy(src, key, dst_key=None):
        if len(copies) == 3:
            raise StoreError("simulated network failure")
        copies.append(key)
        return real_copy(src, key, dst_key)

    monkeypatch.setattr(buckets.dist, "copy_from", failing_copy)
    with pytest.raises(StoreError):
        publish(buckets, site, second)
    name = product.name
    assert len(list(buckets.dist.list(layout.published_prefix(SITE, name)))) == 3
    assert not buckets.dist.exists(layout.item_key(SITE, name))
    update_catalog(buckets, site, [None], [second["accepted"]])  # the failed publication
    assert buckets.dist.head(layout.collection_key(SITE)).etag == col_before.etag
    assert not buckets.work.exists(layout.ledger_key(SITE, product.product_id))

    monkeypatch.undo()
    done = publish_product(buckets.work, buckets.dist, SITE, name)
    assert len(done.skipped) == 3 and len(done.copied) == 5 and done.item_written
    summary = update_catalog(buckets, site, [publish(buckets, site, second)], [second["accepted"]])
    assert summary["collection_added"] == 1 and summary["collection_items"] == 2
    validate_tree(buckets.dist.get_bytes)


def test_corrupt_copy_is_not_published(env, tmp_path):
    buckets, site = env
    product, item = processed(buckets, tmp_path, 3)
    key = layout.product_prefix(SITE, product.name) + f"{product.name}_XS2.tif"
    buckets.work.put_bytes(key, buckets.work.get_bytes(key)[:-10] + b"0123456789")  # silent corruption
    with pytest.raises(PublishError, match="XS2.tif: size or SHA-256 differ from the manifest"):
        publish(buckets, site, item)
    assert not buckets.dist.exists(layout.item_key(SITE, product.name))
    assert update_collection(buckets.dist, site, [])["items"] == 0
    assert not buckets.dist.exists(layout.collection_key(SITE))


def test_redelivery_replaces_files_and_item(env, tmp_path):
    buckets, site = env
    old, first = processed(buckets, tmp_path, 3, value=1000)
    update_catalog(buckets, site, [publish(buckets, site, first)], [first["accepted"]])
    old_item = json.loads(buckets.dist.get_bytes(layout.item_key(SITE, old.name)))
    old_version = content_version(old)
    buckets.dist.put_bytes(f"{SITE}/{old.name}/{old_version}/{old.name}_OLD.tif", b"left over by an interrupted copy")

    new, second = processed(buckets, tmp_path, 3, value=2000, marker_etag="etag-2")
    assert new.name == old.name and content_version(new) != old_version
    done = publish_product(buckets.work, buckets.dist, SITE, new.name)
    assert len(done.copied) == 8 and done.item_written and done.version == content_version(new)
    # the Item is the switch: it names only the new version, whose files are all there and right;
    # the old version stays until the collection, the Metalinks and the pages have moved on
    item = json.loads(buckets.dist.get_bytes(layout.item_key(SITE, new.name)))
    for f in new.files:
        asset = item["assets"][f.asset]
        assert asset["href"] == f"./{done.version}/{f.name}"
        assert buckets.dist.head(f"{SITE}/{new.name}/{done.version}/{f.name}").sha256 == f.sha256
    meta4 = buckets.dist.get_bytes(f"{SITE}/{SITE}_L1C.meta4").decode()
    assert old_version in meta4 and all(buckets.dist.exists(f"{SITE}/{old.name}/{old_version}/{f.name}")
                                        for f in old.files)

    summary = update_catalog(buckets, site, [publish(buckets, site, second)], [second["accepted"]])
    assert summary["pruned"] == 9  # 8 old assets + the stray file of the old version folder
    keys = {i.key for i in buckets.dist.list(f"{SITE}/{new.name}/")}
    assert keys == {layout.item_key(SITE, new.name)} | {f"{SITE}/{new.name}/{done.version}/{f.name}" for f in new.files}
    meta4 = buckets.dist.get_bytes(f"{SITE}/{SITE}_L1C.meta4").decode()
    assert old_version not in meta4 and done.version in meta4
    item = json.loads(buckets.dist.get_bytes(layout.item_key(SITE, new.name)))
    assert item["assets"]["XS1"]["file:checksum"] == "1220" + new.file("XS1").sha256
    assert item["assets"]["XS1"]["file:checksum"] != old_item["assets"]["XS1"]["file:checksum"]
    col = json.loads(buckets.dist.get_bytes(layout.collection_key(SITE)))
    assert [link["href"] for link in col["links"] if link["rel"] == "item"] == [f"./{new.name}/{new.name}.json"]
    ledger = json.loads(buckets.work.get_bytes(layout.ledger_key(SITE, new.product_id)))
    assert ledger["marker_etag"] == "etag-2"
    validate_tree(buckets.dist.get_bytes)


def test_root_catalog_lists_every_site_collection(env, monkeypatch):
    buckets, _ = env
    dist = buckets.dist
    dist.put_bytes("stray.txt", b"not a site")
    dist.put_bytes("OtherSite/readme.txt", b"no collection here")
    for s in ("AustraliaLitchfield", "Belgium"):
        dist.put_bytes(layout.collection_key(s), b"{}")
    assert update_root_catalog(dist)
    root = json.loads(dist.get_bytes("catalog.json"))
    assert [link["href"] for link in root["links"] if link["rel"] == "child"] == [
        "./AustraliaLitchfield/collection.json", "./Belgium/collection.json"]

    # another site DAG's catalog.json, from an older listing, lands right after ours: the re-check repairs it
    stale = json.dumps({**root, "links": root["links"][:1]}).encode()
    dist.put_bytes(layout.collection_key("Burkina"), b"{}")
    real_put, raced = dist.put_bytes, []

    def racing_put(key, data, content_type=None):
        info = real_put(key, data, content_type)
        if key == "catalog.json" and not raced:
            raced.append(key)
            real_put(key, stale)
        return info

    monkeypatch.setattr(dist, "put_bytes", racing_put)
    assert update_root_catalog(dist)
    assert raced
    final = json.loads(dist.get_bytes("catalog.json"))
    assert [link["href"] for link in final["links"] if link["rel"] == "child"] == [
        "./AustraliaLitchfield/collection.json", "./Belgium/collection.json", "./Burkina/collection.json"]
    assert not update_root_catalog(dist)


def test_publish_rejects_bad_manifest(env):
    buckets, _ = env
    name = "SPOT5-HRG2-XS_20150503-100000-000_L1C_FrancePornic_D_V1-0"
    with pytest.raises(PublishError, match="no manifest"):
        publish_product(buckets.work, buckets.dist, SITE, name)
    buckets.work.put_bytes(layout.product_prefix(SITE, name) + "manifest.json", b"{not json")
    with pytest.raises(PublishError, match="manifest.json: invalid manifest"):
        publish_product(buckets.work, buckets.dist, SITE, name)
