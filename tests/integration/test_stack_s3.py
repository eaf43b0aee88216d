"""The embedded stack's S3 snapshot (``make stop``) and restore (``make run``) keep every object's content type,
on the moto S3 server: a restored website must still be served as HTML."""

from __future__ import annotations

import sys

from helpers.paths import ROOT
from take5_ops.storage import S3Store

sys.path.insert(0, str(ROOT / "scripts"))
import stack_s3

OBJECTS = {  # key: (bytes, content type as published)
    "index.html": (b"<!doctype html><title>x</title>", "text/html; charset=utf-8"),
    "S/S_L1C.meta4": (b"<metalink/>", "application/metalink4+xml"),
    "S/P/v1/P_XS1.tif": (b"II*\x00", "image/tiff; application=geotiff; profile=cloud-optimized"),
    "S/P/P.json": (b"{}", "application/json"),
}


def _bucket(endpoint: str, name: str) -> S3Store:
    store = S3Store.from_endpoint(name, endpoint)
    store.client.create_bucket(Bucket=name)
    return store


def test_snapshot_and_restore_keep_content_types(s3_endpoint, tmp_path):
    source = _bucket(s3_endpoint, "snapshot-source")
    for key, (data, kind) in OBJECTS.items():
        source.put_bytes(key, data, kind)
    folder = tmp_path / "s3" / "take5-dist"
    folder.parent.mkdir()
    saved, loaded = [], []
    assert stack_s3.snapshot(source, folder, saved.append) == len(OBJECTS)
    assert saved == list(range(1, len(OBJECTS) + 1))  # the progress of `make stop`

    restored = _bucket(s3_endpoint, "snapshot-restored")
    assert stack_s3.restore(folder, restored, loaded.append) == len(OBJECTS)
    assert loaded == saved
    for key, (data, kind) in OBJECTS.items():
        assert restored.get_bytes(key) == data and restored.content_type(key) == kind, key

    # a snapshot saved before the types were kept: the types the names imply
    stack_s3.types_file(folder).unlink()
    guessed = _bucket(s3_endpoint, "snapshot-guessed")
    stack_s3.restore(folder, guessed)
    assert {k: guessed.content_type(k) for k in OBJECTS} == {
        "index.html": "text/html", "S/S_L1C.meta4": "application/metalink4+xml", "S/P/v1/P_XS1.tif": "image/tiff",
        "S/P/P.json": "application/json"}


def test_an_empty_bucket_is_saved_where_nothing_was_saved_yet(s3_endpoint, tmp_path):
    empty = _bucket(s3_endpoint, "snapshot-empty")
    folder = tmp_path / "var" / "s3" / "take5-l1a"  # a first stop: var/s3 does not exist
    assert stack_s3.snapshot(empty, folder) == 0
    assert folder.is_dir() and stack_s3.types_file(folder).read_text().strip() == "{}"
    assert stack_s3.restore(folder, _bucket(s3_endpoint, "snapshot-empty-restored")) == 0
