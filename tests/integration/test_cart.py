"""``take5 cart`` and the site Metalinks, downloaded by the real aria2c from the S3 server.

What the moto server enforces (checked here): an anonymous GET of an object is
refused (403) unless the bucket policy allows it; presigned URLs are accepted.
It does not verify presigned signatures or expiry, nor refuse anonymous
listing or writes: those are AWS's, not asserted here (docs/distribution.md).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import urllib.error
import urllib.request
from datetime import datetime

import defusedxml.ElementTree as DET
import pytest

from helpers.fake_products import site_config
from helpers.metalinks import M, parse
from helpers.published import publish_all
from helpers.stac_validation import validate_tree
from take5_ops.cli import main
from take5_ops.distribution.access import public_read_policy, set_public_read
from take5_ops.distribution.publish import content_version
from take5_ops.storage import Buckets, layout

SITE = "FrancePornic"
ARIA2C = shutil.which("aria2c")
pytestmark = pytest.mark.skipif(ARIA2C is None, reason="aria2c (Debian package aria2) not installed")


@pytest.fixture
def published(s3_buckets, tmp_path, monkeypatch):
    monkeypatch.delenv("TAKE5_PUBLIC_URL", raising=False)
    buckets = Buckets(**s3_buckets)
    products, _ = publish_all(buckets, site_config(tmp_path), tmp_path / "src", [
        (datetime(2015, 5, 3, 10), "L1C", None, 1000), (datetime(2015, 5, 8, 10), "L1C", None, 1100),
        (datetime(2015, 5, 8, 10), "L2A", 12.5, 1200)])
    return buckets, products


def aria2c(meta4, out) -> subprocess.CompletedProcess:
    return subprocess.run([ARIA2C, f"--metalink-file={meta4}", "-d", str(out), "--check-integrity=true",
                           "--allow-overwrite=true", "--auto-file-renaming=false", "-q"],
                          capture_output=True, text=True, timeout=120)


def assert_downloaded(dist, meta4, out) -> int:
    """Every file of the Metalink is in ``out`` with the bucket object's bytes; returns the count."""
    files = parse(meta4.read_bytes())
    for name, f in files.items():
        blob = (out / name).read_bytes()
        assert blob == dist.get_bytes(name)
        assert hashlib.sha256(blob).hexdigest() == f["sha256"]
    return len(files)


def cart(endpoint, bucket, out, *options) -> int:
    return main(["cart", "--endpoint", endpoint, "--bucket", bucket, "--out", str(out), *options])


def test_aria2c_fetches_and_verifies_the_site_metalink_and_a_cart(published, s3_endpoint, tmp_path):
    buckets, products = published
    dist = buckets.dist
    set_public_read(dist)
    assert dist.client.get_bucket_policy(Bucket=dist.bucket)["Policy"]
    # the site's L1C Metalink, read anonymously over HTTP like any user
    url = f"{s3_endpoint}/{dist.bucket}/{layout.metalink_key(SITE, 'L1C')}"
    site_meta4 = tmp_path / "site.meta4"
    site_meta4.write_bytes(urllib.request.urlopen(url, timeout=30).read())
    run = aria2c(site_meta4, tmp_path / "site")
    assert run.returncode == 0, run.stdout + run.stderr
    assert assert_downloaded(dist, site_meta4, tmp_path / "site") == 16

    meta4 = tmp_path / "cart.meta4"
    assert cart(s3_endpoint, dist.bucket, meta4, "--site", SITE, "--level", "L1C", "--from", "2015-05-08") == 0
    names = {n.split("/")[1] for n in parse(meta4.read_bytes())}
    assert names == {p.name for p in products[1:2]}
    assert all(u.startswith(f"{s3_endpoint}/{dist.bucket}/") for f in parse(meta4.read_bytes()).values()
               for u in f["urls"])
    run = aria2c(meta4, tmp_path / "cart")
    assert run.returncode == 0, run.stdout + run.stderr
    assert assert_downloaded(dist, meta4, tmp_path / "cart") == 8
    validate_tree(dist.get_bytes)


def test_a_corrupted_object_fails_the_hash_check(published, s3_endpoint, tmp_path):
    buckets, products = published
    dist = buckets.dist
    set_public_read(dist)
    meta4 = tmp_path / "cart.meta4"
    assert cart(s3_endpoint, dist.bucket, meta4, "--level", "L2A") == 0
    name = products[2].name
    key = f"{SITE}/{name}/{content_version(products[2])}/{name}_XS3.tif"
    good = dist.get_bytes(key)
    dist.put_bytes(key, good[:-4] + bytes(b ^ 0xFF for b in good[-4:]))  # same size, other bytes
    run = aria2c(meta4, tmp_path / "dl")
    assert run.returncode != 0
    dist.put_bytes(key, good)
    run = aria2c(meta4, tmp_path / "dl")
    assert run.returncode == 0, run.stdout + run.stderr
    assert assert_downloaded(dist, meta4, tmp_path / "dl") == 8


def test_private_bucket_needs_presigned_urls(published, s3_endpoint, tmp_path):
    buckets, _ = published
    dist = buckets.dist
    plain, signed = tmp_path / "plain.meta4", tmp_path / "signed.meta4"
    assert cart(s3_endpoint, dist.bucket, plain, "--level", "L2A") == 0
    with pytest.raises(urllib.error.HTTPError, match="403"):  # no policy: anonymous GET refused
        urllib.request.urlopen(next(iter(parse(plain.read_bytes()).values()))["urls"][0], timeout=30)
    assert aria2c(plain, tmp_path / "plain").returncode != 0  # anonymous GET refused without the policy

    assert cart(s3_endpoint, dist.bucket, signed, "--level", "L2A", "--presign", "600") == 0
    urls = [u for f in parse(signed.read_bytes()).values() for u in f["urls"]]
    assert len(urls) == 8 and all("Signature=" in u or "X-Amz-Signature=" in u for u in urls)
    run = aria2c(signed, tmp_path / "signed")
    assert run.returncode == 0, run.stdout + run.stderr
    assert assert_downloaded(dist, signed, tmp_path / "signed") == 8
    assert DET.fromstring(signed.read_bytes()).findtext(M + "published") == "2015-05-04T02:13:00Z"


def test_public_read_policy_allows_get_object_only():
    policy = public_read_policy("take5-dist")
    [statement] = policy["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Allow", "*", ["s3:GetObject"])
    assert statement["Resource"] == ["arn:aws:s3:::take5-dist/*"]  # objects only: the bucket (listing) is not


def test_cart_with_no_match_writes_nothing(published, s3_endpoint, tmp_path, capsys):
    buckets, _ = published
    out = tmp_path / "none.meta4"
    assert cart(s3_endpoint, buckets.dist.bucket, out, "--from", "2016-01-01") == 1
    assert not out.exists() and "no product matches" in capsys.readouterr().err
