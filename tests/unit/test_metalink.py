"""Metalink 4 (RFC 5854) files: structure, real digests, determinism, per-site per-level files."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import defusedxml.ElementTree as DET
import pytest

from helpers.fake_products import site_config
from helpers.metalinks import M, parse
from helpers.published import publish_all
from helpers.stac_validation import validate_tree
from take5_ops.distribution.metalink import MetalinkError, build_metalink, item_files
from take5_ops.distribution.publish import content_version
from take5_ops.storage import Buckets, LocalStore, layout

SITE = "FrancePornic"
@pytest.fixture
def local(tmp_path, monkeypatch):
    monkeypatch.delenv("TAKE5_PUBLIC_URL", raising=False)
    dirs = [tmp_path / d for d in ("l1a", "aux", "work", "dist")]
    return Buckets.local(*dirs), site_config(tmp_path), tmp_path


SPECS = [(datetime(2015, 5, 3, 10), "L1C", None, 1000), (datetime(2015, 5, 8, 10), "L1C", None, 1100),
         (datetime(2015, 5, 8, 10), "L2A", 12.5, 1200)]


def test_site_metalinks_list_every_published_file_with_its_real_digest(local):
    buckets, site, tmp = local
    products, summary = publish_all(buckets, site, tmp / "src", SPECS)
    assert sorted(summary["metalinks_written"]) == [layout.metalink_key(SITE, "L1C"), layout.metalink_key(SITE, "L2A")]
    dist: LocalStore = buckets.dist
    for level in ("L1C", "L2A"):
        data = dist.get_bytes(layout.metalink_key(SITE, level))
        root = DET.fromstring(data)
        assert root.findtext(M + "published") == "2015-05-04T02:13:00Z"  # from take5:delivered_at
        files = parse(data)
        expected = {f"{SITE}/{p.name}/{content_version(p)}/{f.name}" for p in products if p.level == level
                    for f in p.files}
        assert set(files) == expected and len(expected) == 8 * sum(p.level == level for p in products)
        for name, f in files.items():
            blob = dist.get_bytes(name)
            assert f["size"] == len(blob) and f["sha256"] == hashlib.sha256(blob).hexdigest()
            [url] = f["urls"]
            assert Path(unquote(urlparse(url).path)).read_bytes() == blob  # file:// URL of the local tree

    docs = validate_tree(dist.get_bytes)  # still valid STAC, metalinks as collection assets
    col = docs[layout.collection_key(SITE)]
    assert {k: a["href"] for k, a in col["assets"].items()} == {
        "metalink-L1C": f"./{SITE}_L1C.meta4", "metalink-L2A": f"./{SITE}_L2A.meta4"}
    assert all(a["type"] == "application/metalink4+xml" for a in col["assets"].values())


def test_metalinks_are_deterministic_and_rewritten_only_on_change(local):
    buckets, site, tmp = local
    products, summary = publish_all(buckets, site, tmp / "a", SPECS[:2])
    key = layout.metalink_key(SITE, "L1C")
    before = buckets.dist.head(key)
    assert summary["metalinks_written"] == [key] and not buckets.dist.exists(layout.metalink_key(SITE, "L2A"))

    _, again = publish_all(buckets, site, tmp / "b", SPECS[:2])  # same products again: nothing rewritten
    assert again["metalinks_written"] == [] and buckets.dist.head(key) == before

    items = {k: json.loads(buckets.dist.get_bytes(k)) for k in (layout.item_key(SITE, p.name) for p in products)}

    def url(k):
        return "http://example.org/dist/" + k

    reordered = dict(reversed(list(items.items())))
    assert build_metalink(items, url) == build_metalink(reordered, url)

    _, changed = publish_all(buckets, site, tmp / "c", [(datetime(2015, 5, 8, 10), "L1C", None, 4242)])
    assert changed["metalinks_written"] == [key]  # a redelivered product changes its files' digests
    sha = {n: f["sha256"] for n, f in parse(buckets.dist.get_bytes(key)).items()}
    assert sha != {n: f["sha256"] for n, f in parse(build_metalink(items, url)).items()}


def test_bad_items_are_named_and_left_out(local):
    buckets, site, tmp = local
    products, _ = publish_all(buckets, site, tmp / "src", SPECS[:2])
    keys = [layout.item_key(SITE, p.name) for p in products]
    good, bad = (json.loads(buckets.dist.get_bytes(k)) for k in keys)
    assert len(item_files(keys[0], good)) == 8
    for field, value, message in [("file:checksum", "1220abc", "file:checksum"),
                                  ("file:size", "12", "file:size"),
                                  ("href", "../../../etc/passwd", "escapes the bucket"),
                                  ("href", "http://elsewhere/x.tif", "not a relative href")]:
        broken = json.loads(json.dumps(bad))
        broken["assets"]["XS2"][field] = value
        with pytest.raises(MetalinkError, match=f"{keys[1]}: asset XS2: .*{message}"):
            item_files(keys[1], broken)
        files = parse(build_metalink({keys[0]: good, keys[1]: broken}, lambda k: "http://x/" + k))
        assert {n.split("/")[1] for n in files} == {products[0].name}
    with pytest.raises(MetalinkError, match="nothing to download"):
        build_metalink({keys[1]: {"assets": {}}}, lambda k: k)
