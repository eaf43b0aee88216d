"""Stores: LocalStore and S3Store (moto server over HTTP) behave the same way."""

from __future__ import annotations

import hashlib

import pytest

from take5_ops.storage import (
    InvalidKey,
    LocalStore,
    S3Store,
    StoreError,
    copy_tree,
    for_each,
    put_if_changed,
    sha256_file,
)

BAD_KEYS = ["", "/abs", "a/../b", "..", "a//b", "a/./b", "a\\b", "a/", "nul\x00"]


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "bucket")
    return request.getfixturevalue("s3_buckets")["work"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_validated(store, key, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"x")
    with pytest.raises(InvalidKey):
        store.put_bytes(key, b"x")
    with pytest.raises(InvalidKey):
        store.upload(src, key)
    with pytest.raises(InvalidKey):
        store.head(key)


def test_put_head_list_roundtrip(store, tmp_path):
    data = b"take5" * 1000
    info = store.put_bytes("S/P/a.bin", data)
    assert info.size == len(data)
    assert store.head("S/P/a.bin").sha256 == hashlib.sha256(data).hexdigest()
    path = tmp_path / "b.bin"
    path.write_bytes(b"other bytes")
    store.upload(path, "S/Q/b.bin", content_type="application/octet-stream")
    assert store.head("S/Q/b.bin").sha256 == sha256_file(path)
    assert [i.key for i in store.list("S/")] == ["S/P/a.bin", "S/Q/b.bin"]
    assert store.list_dirs("S/") == ["P", "Q"]
    assert store.list_dirs("") == ["S"]
    out = tmp_path / "out.bin"
    assert store.download("S/P/a.bin", out) == hashlib.sha256(data).hexdigest()
    assert out.read_bytes() == data
    assert store.head("S/missing") is None
    assert store.href("S/P/").endswith("S/P/") and store.href("S/P/a.bin").endswith("S/P/a.bin")


def test_upload_checksum_mismatch_leaves_old_object(store, tmp_path):
    store.put_bytes("k/obj", b"old")
    path = tmp_path / "new"
    path.write_bytes(b"new content")
    with pytest.raises(StoreError, match="checksum mismatch"):
        store.upload(path, "k/obj", sha256="0" * 64)
    assert store.get_bytes("k/obj") == b"old"
    with pytest.raises(StoreError, match="checksum mismatch"):
        store.upload(path, "k/never", sha256="0" * 64)
    assert store.head("k/never") is None
    assert [i.key for i in store.list("k/")] == ["k/obj"]


def test_local_atomic_write_leaves_no_temp_file(tmp_path):
    store = LocalStore(tmp_path / "b")
    store.put_bytes("a/x", b"1")

    def boom(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        store._atomic_write("a/x", boom)
    assert store.get_bytes("a/x") == b"1"
    assert sorted(p.name for p in (tmp_path / "b" / "a").iterdir()) == ["x"]


def test_local_objects_are_world_readable(tmp_path):
    """Published folders are served by web servers: objects must not keep mkstemp's 0600."""
    store = LocalStore(tmp_path / "b")
    store.put_bytes("a/x", b"1")
    src = tmp_path / "src.bin"
    src.write_bytes(b"22")
    store.upload(src, "a/y")
    assert {(tmp_path / "b" / "a" / n).stat().st_mode & 0o777 for n in ("x", "y")} == {0o644}


def test_put_if_changed_does_not_rewrite(store):
    assert put_if_changed(store, "c/doc.json", b'{"a": 1}') is True
    before = store.head("c/doc.json")
    assert put_if_changed(store, "c/doc.json", b'{"a": 1}') is False
    after = store.head("c/doc.json")
    assert (after.etag, after.last_modified) == (before.etag, before.last_modified)
    assert put_if_changed(store, "c/doc.json", b'{"a": 2}') is True
    assert store.get_bytes("c/doc.json") == b'{"a": 2}'


def test_s3_server_side_copy(s3_buckets, monkeypatch):
    work, dist = s3_buckets["work"], s3_buckets["dist"]
    data = bytes(range(256)) * 300
    work.put_bytes("work/S/N/f.tif", data, "image/tiff")

    def no_download(*args, **kwargs):
        raise AssertionError("server-side copy expected, not a download")

    monkeypatch.setattr(work, "download", no_download)
    info = dist.copy_from(work, "work/S/N/f.tif", "S/N/f.tif")
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert dist.get_bytes("S/N/f.tif") == data


def test_copy_between_local_and_s3(s3_buckets, tmp_path):
    local = LocalStore(tmp_path / "local")
    s3 = s3_buckets["dist"]
    local.put_bytes("a/one.bin", b"one" * 1000)
    local.put_bytes("a/two.bin", b"two")
    assert copy_tree(local, s3, "a/") == 2
    assert s3.head("a/one.bin").sha256 == hashlib.sha256(b"one" * 1000).hexdigest()
    back = LocalStore(tmp_path / "back")
    back.copy_from(s3, "a/two.bin", "b/two.bin")
    assert back.get_bytes("b/two.bin") == b"two"
    other = LocalStore(tmp_path / "other")
    other.copy_from(local, "a/one.bin")
    assert other.head("a/one.bin").sha256 == local.head("a/one.bin").sha256
    with pytest.raises(StoreError):
        other.copy_from(local, "a/missing.bin")


def test_s3_detects_object_not_as_written(s3_buckets):
    """An object whose stored SHA-256 disagrees with what was written is an error, not a success."""
    store = s3_buckets["work"]
    store.client.put_object(Bucket=store.bucket, Key="x/obj", Body=b"abc", Metadata={"sha256": "0" * 64})
    assert store.head("x/obj").sha256 == "0" * 64
    with pytest.raises(StoreError, match="not stored as written"):
        store._check_stored("x/obj", 3, hashlib.sha256(b"abc").hexdigest())


def test_same_server(s3_buckets, s3_endpoint):
    a = s3_buckets["work"]
    assert a.same_server(S3Store.from_endpoint("take5-any", s3_endpoint))
    assert not a.same_server(LocalStore("/tmp"))


def test_local_store_writes_report_their_sha256(tmp_path):
    """What an upload returns is what a HEAD tells (the L2A chain records it and checks it later)."""
    import hashlib

    from take5_ops.storage import LocalStore

    store = LocalStore(tmp_path / "bucket")
    src = tmp_path / "f.bin"
    src.write_bytes(b"state" * 1000)
    info = store.upload(src, "a/f.bin")
    assert info.sha256 == hashlib.sha256(src.read_bytes()).hexdigest() == store.head("a/f.bin").sha256
    assert store.put_bytes("a/g.json", b"{}").sha256 == hashlib.sha256(b"{}").hexdigest()


def test_for_each_copies_in_parallel_and_first_error_stops(s3_buckets, tmp_path):
    local = LocalStore(tmp_path / "local")
    objects = {f"p/{k:03d}.bin": bytes([k]) * (k + 1) for k in range(40)}
    for key, data in objects.items():
        local.put_bytes(key, data)
    s3 = s3_buckets["dist"]
    seen: list[int] = []
    assert for_each(lambda info: s3.copy_from(local, info.key), local.list("p/"), 8, seen.append) == len(objects)
    assert seen == list(range(1, len(objects) + 1))
    assert {i.key: s3.get_bytes(i.key) for i in s3.list("p/")} == objects

    calls: list[int] = []

    def fails_on_the_third(k: int) -> None:
        calls.append(k)
        if k == 2:
            raise StoreError("refused")

    with pytest.raises(StoreError, match="refused"):
        for_each(fails_on_the_third, range(1000), workers=1)
    assert len(calls) <= 3 + 2  # the failed call, and at most the 2 x workers drawn ahead of it
