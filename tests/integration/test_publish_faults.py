"""Publication faults, each real: the S3 server cut off mid-publication, a checksum that does not match,
a full disk on the worker. Each is retried with backoff, then fails loudly; nothing is left half
visible; a rerun repairs.

The server "stops" from the client's view through a TCP proxy between the client and moto (cut: the
proxy refuses connections and drops the open ones; restore: it listens again), so moto keeps its
state and the test can check what a reader sees while the server is away and after it is back.
Our backoff waits (``storage.base``'s ``time.sleep``) are replaced by a recorder (a settable clock): no
real waiting on them; botocore's own short retries wait for real.
The full disk is a real 256 KiB tmpfs mounted as the worker's temporary folder (needs root; skipped
otherwise).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.config import Config

from helpers.fake_products import make_product, site_config
from helpers.published import accepted_dict
from helpers.stac_validation import validate_tree
from take5_ops import storage
from take5_ops.distribution.publish import content_version
from take5_ops.pipeline import publish, update_catalog
from take5_ops.products.product import MANIFEST, ProductFile
from take5_ops.products.workspace import upload_product
from take5_ops.storage import Buckets, S3Store, StoreError, layout

SITE = "FrancePornic"
MiB = 1024 * 1024


class Proxy:
    """A TCP proxy to ``target_port`` that can be cut (connections refused, open ones dropped) and restored."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.server: socket.socket | None = None
        self.listening = False
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        if self.listening:
            return
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.server, self.listening = server, True
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        self.listening = False
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept(): no connection slips through after the cut
        except OSError:
            pass
        self.server.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def proxy(s3_endpoint):
    p = Proxy(int(s3_endpoint.rsplit(":", 1)[1]))
    yield p
    p.cut()


@pytest.fixture
def sleeps(monkeypatch):
    """Backoff waits recorded instead of slept; ``sleeps.then`` runs at each wait (e.g. the server comes back)."""
    class Clock(list):
        then = None

        def __call__(self, seconds):
            self.append(seconds)
            if self.then:
                self.then()

    clock = Clock()
    monkeypatch.setattr(storage.base, "time", SimpleNamespace(sleep=clock))  # that module's clock only
    return clock


def through(proxy: Proxy, store: S3Store) -> S3Store:
    """The same bucket, reached through the proxy (botocore: 2 attempts, short timeouts)."""
    return S3Store.from_endpoint(store.bucket, proxy.url, config=Config(
        retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=10))


def uploaded(buckets: Buckets, root: Path, day: int, value: int = 1000):
    product = make_product(root / f"d{day}-{value}", datetime(2015, 5, day, 10), value=value)
    upload_product(buckets.work, product, root / f"d{day}-{value}" / product.name)
    return product, {"product": product.to_dict(), "accepted": accepted_dict(product)}


def visible(dist: S3Store) -> dict[str, bytes]:
    """What a reader sees: the catalog tree (validated), the Metalinks and the pages, and every asset the
    Items name (each must exist with the Item's checksum)."""
    import hashlib

    docs = validate_tree(dist.get_bytes)
    seen = {k: dist.get_bytes(k) for k in docs}
    for key, doc in docs.items():
        if doc.get("type") == "Feature":
            folder = key.rsplit("/", 1)[0]
            for asset in doc["assets"].values():
                blob = dist.get_bytes(f"{folder}/{asset['href'].removeprefix('./')}")
                assert "1220" + hashlib.sha256(blob).hexdigest() == asset["file:checksum"]
    for key in (layout.metalink_key(SITE, "L1C"), "index.html", f"{SITE}/index.html"):
        if dist.exists(key):
            seen[key] = dist.get_bytes(key)
    return seen


def test_server_cut_mid_publication_then_back(s3_buckets, proxy, sleeps, tmp_path):
    direct = Buckets(**s3_buckets)
    site = site_config(tmp_path)
    _, first = uploaded(direct, tmp_path, 3)
    update_catalog(direct, site, [publish(direct, site, first)], [first["accepted"]])
    before = visible(direct.dist)
    old, again = uploaded(direct, tmp_path, 3, value=2000)  # a redelivery of the published product
    new, second = uploaded(direct, tmp_path, 8)
    via = Buckets(direct.l1a, direct.aux, direct.work, through(proxy, direct.dist))
    via.work = S3Store(via.dist.client, direct.work.bucket)  # same server for the proxied client: server copies

    copies = []

    def cut_after_three(**kwargs):
        copies.append(1)
        if len(copies) == 3:
            proxy.cut()

    via.dist.client.meta.events.register("after-call.s3.CopyObject", cut_after_three)
    with pytest.raises(StoreError, match="failed after 3 attempts"):  # stays down: loud, after backoff
        publish(via, site, again)
    # our backoff (0.5 s, 1 s) after botocore's own retries, in each operation under way when the server went
    assert len(copies) == 3 and set(sleeps) == {0.5, 1.0} and sleeps.count(0.5) == sleeps.count(1.0)
    # while it is away and after: readers see the previous state, whole and consistent
    assert visible(direct.dist) == before
    assert len(list(direct.dist.list(f"{SITE}/{old.name}/{content_version(old)}/"))) == 3  # not named by anything

    proxy.restore()
    sleeps.clear()
    copies.clear()
    sleeps.then = proxy.restore  # cut again after 3 copies; this time it comes back during the first wait
    results = [publish(via, site, again), publish(via, site, second)]
    assert sleeps and len(copies) == 5 + 8  # 3 assets of the first try were already right: not copied again
    summary = update_catalog(via, site, results, [again["accepted"], second["accepted"]])
    assert summary["collection_items"] == 2 and summary["pruned"] == 8  # the replaced version, once switched
    after = visible(direct.dist)
    assert json.loads(after[layout.item_key(SITE, old.name)])["assets"]["XS1"]["href"].startswith(f"./{content_version(old)}/")
    assert {i.key.split("/")[2] for i in direct.dist.list(f"{SITE}/{old.name}/") if i.key.count("/") == 3} == {
        content_version(old)}
    assert new.name in after[f"{SITE}/index.html"].decode() and new.name in after[layout.metalink_key(SITE, "L1C")].decode()


def test_checksum_mismatch_is_retried_then_loud_and_nothing_replaced(s3_buckets, sleeps, tmp_path, monkeypatch):
    buckets = Buckets(**s3_buckets)
    product = make_product(tmp_path / "p", datetime(2015, 5, 3, 10))
    folder = tmp_path / "p" / product.name
    # a big asset (multipart: 5 MiB parts) and a small one, both changed on disk after their checksums were taken
    monkeypatch.setattr(storage.s3, "MULTIPART_THRESHOLD", 5 * MiB)
    monkeypatch.setattr(storage.s3, "MULTIPART_CHUNK", 5 * MiB)
    big = folder / f"{product.name}_MTD.json"
    big.write_bytes(json.dumps({"pad": "x" * (11 * MiB)}).encode())
    product.files = [ProductFile.from_path(big, "metadata", "application/json", ("metadata",), "Product metadata")
                     if f.name == big.name else f for f in product.files]
    product.write_manifest(folder)
    upload_product(buckets.work, product, folder)  # multipart upload, hashed while read: right
    prefix = layout.product_prefix(SITE, product.name)
    good = buckets.work.head(prefix + big.name)
    assert good.etag.endswith("-3") and good.sha256 == product.file("metadata").sha256

    with open(big, "r+b") as f:  # one byte flipped on the worker's disk
        f.seek(7 * MiB)
        byte = f.read(1)
        f.seek(7 * MiB)
        f.write(bytes([byte[0] ^ 1]))
    buckets.work.delete(prefix + MANIFEST)
    buckets.work.delete(prefix + product.file("XS1").name)
    with pytest.raises(StoreError, match="checksum mismatch.*expected") as err:
        buckets.work.upload(big, prefix + big.name, sha256=product.file("metadata").sha256)
    assert "failed after 3 attempts" in str(err.value)
    assert sleeps == [0.5, 1.0]  # our backoff
    assert buckets.work.head(prefix + big.name) == good  # aborted before completion: the object is untouched
    assert buckets.work.client.list_multipart_uploads(Bucket=buckets.work.bucket).get("Uploads", []) == []

    xs1 = folder / product.file("XS1").name
    xs1.write_bytes(xs1.read_bytes()[:-1] + b"\0")
    with pytest.raises(StoreError, match="checksum mismatch"):
        upload_product(buckets.work, product, folder)
    assert not buckets.work.exists(prefix + MANIFEST)  # the product is not there for publication
    assert not buckets.work.exists(prefix + xs1.name)
    with pytest.raises(Exception, match="no manifest"):
        publish(buckets, site_config(tmp_path), {"product": product.to_dict()})
    assert list(buckets.dist.list()) == []


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """A 256 KiB tmpfs as the worker's temporary folder."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                                           capture_output=True, check=False).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    monkeypatch.setattr(tempfile, "tempdir", str(mnt))
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_full_disk_fails_loudly_cleans_up_and_rerun_repairs(s3_buckets, proxy, sleeps, small_disk, tmp_path):
    buckets = Buckets(**s3_buckets)
    site = site_config(tmp_path)
    # distribution reached on another endpoint (the proxy): no server-side copy, files go through the worker's disk
    buckets.dist = through(proxy, buckets.dist)
    product = make_product(tmp_path / "p", datetime(2015, 5, 3, 10))
    folder = tmp_path / "p" / product.name
    mtd = folder / f"{product.name}_MTD.json"
    mtd.write_bytes(json.dumps({"pad": "y" * 400_000}).encode())  # larger than the disk
    product.files = [ProductFile.from_path(mtd, "metadata", "application/json", ("metadata",), "Product metadata")
                     if f.name == mtd.name else f for f in product.files]
    product.write_manifest(folder)
    upload_product(buckets.work, product, folder)
    item = {"product": product.to_dict(), "accepted": accepted_dict(product)}

    with pytest.raises(OSError, match="failed after 3 attempts") as err:
        publish(buckets, site, item)
    assert err.value.errno == errno.ENOSPC and sleeps == [0.5, 1.0]
    assert list(small_disk.iterdir()) == []  # temporary files removed
    assert not buckets.dist.exists(layout.item_key(SITE, product.name))  # nothing visible
    update_catalog(buckets, site, [None], [item["accepted"]])
    assert not buckets.dist.exists(layout.collection_key(SITE))

    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)  # space freed
    summary = update_catalog(buckets, site, [publish(buckets, site, item)], [item["accepted"]])
    assert summary["collection_items"] == 1
    visible(buckets.dist)
    assert list(small_disk.iterdir()) == []
