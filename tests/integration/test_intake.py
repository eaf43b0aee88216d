"""Intake of a site's deliveries: scan, ledger, quarantine, redeliveries, site checks.

Against buckets of a real moto S3 server; deliveries from tests/helpers/l1a_builder.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from helpers.l1a_builder import (
    ACQUIRED,
    DELIVERED,
    SITE,
    build_delivery,
    make_imagery,
    site_config,
)
from take5_ops.l1a import intake
from take5_ops.storage import LocalStore, S3Store, StoreError, layout


class SpyStore(S3Store):
    """The same S3 bucket, remembering which keys were read (GET) and optionally failing some."""

    def __init__(self, store: S3Store, fail: str | None = None):
        super().__init__(store.client, store.bucket)
        self.read: list[str] = []
        self.fail = fail

    def get_bytes(self, key):
        self.read.append(key)
        return super().get_bytes(key)

    def download(self, key, path):
        self.read.append(key)
        if self.fail and self.fail in key:
            raise StoreError(f"{self.url}: GET {key!r} failed: simulated outage")
        return super().download(key, path)


def pending_ids(stores) -> list[str]:
    return [p.product_id for p in intake.scan(stores["l1a"], stores["work"], SITE).pending]


def run_site(stores, tmp_path, l1a=None):
    return intake.validate_site(l1a or stores["l1a"], stores["work"], site_config(), tmp_path / "tmp")


def test_in_transfer_prefix_is_never_pending_nor_read(s3_buckets, tmp_path):
    spy = SpyStore(s3_buckets["l1a"])
    partial = build_delivery(spy, write_marker=False)
    done = build_delivery(spy, acquired=ACQUIRED + timedelta(days=5))
    found = intake.scan(spy, s3_buckets["work"], SITE)
    assert [p.product_id for p in found.pending] == [done.product_id]
    assert found.ignored == []
    assert spy.read == []  # the scan only lists
    accepted = run_site(s3_buckets, tmp_path, spy)
    assert [a.product_id for a in accepted] == [done.product_id]
    assert spy.read and not any(key.startswith(partial.prefix) for key in spy.read)
    # the marker arrives: now it is a delivery
    build_delivery(s3_buckets["l1a"])
    assert partial.product_id in pending_ids(s3_buckets)


def test_stray_keys_are_ignored_and_listed_once(s3_buckets, tmp_path, caplog):
    l1a = s3_buckets["l1a"]
    good = build_delivery(l1a)
    for key in (f"{SITE}/README.txt", f"{SITE}/bad name/DELIVERY.OK", f"{SITE}/bad name/IMAGERY.TIF",
                f"{SITE}/../escape/DELIVERY.OK", f"{SITE}/{good.product_id} /DELIVERY.OK",
                f"{SITE}/SPOT5-HRG3-XS_20150428-103235_L1A_{SITE}/DELIVERY.OK",
                "FrancePornic/README.txt", "stray-at-root.txt"):
        l1a.client.put_object(Bucket=l1a.bucket, Key=key, Body=b"{}")
    try:
        check_strays(s3_buckets, tmp_path, caplog, good)
    finally:  # the fixture's cleanup refuses unsafe keys
        l1a.client.delete_object(Bucket=l1a.bucket, Key=f"{SITE}/../escape/DELIVERY.OK")


def check_strays(s3_buckets, tmp_path, caplog, good):
    l1a = s3_buckets["l1a"]
    found = intake.scan(l1a, s3_buckets["work"], SITE)
    assert [p.product_id for p in found.pending] == [good.product_id]
    assert sorted(found.ignored) == sorted([
        f"{SITE}/README.txt", f"{SITE}/bad name/", f"{SITE}/../", f"{SITE}/{good.product_id} /",
        f"{SITE}/SPOT5-HRG3-XS_20150428-103235_L1A_{SITE}/"])
    caplog.set_level("WARNING", logger="take5_ops.l1a.intake")
    accepted = run_site(s3_buckets, tmp_path)
    assert [a.product_id for a in accepted] == [good.product_id]
    lines = [r.getMessage() for r in caplog.records if "not a delivery" in r.getMessage()]
    assert len(lines) == len(found.ignored)
    assert not any(k.key.startswith(layout.quarantine_prefix()) for k in s3_buckets["work"].list())


def test_one_corrupt_product_does_not_block_the_others(s3_buckets, tmp_path):
    l1a, work = s3_buckets["l1a"], s3_buckets["work"]
    good1 = build_delivery(l1a)
    bad = build_delivery(l1a, acquired=ACQUIRED + timedelta(days=5), tamper={"IMAGERY.TIF": make_imagery(ncols=39)})
    good2 = build_delivery(l1a, acquired=ACQUIRED + timedelta(days=10), instrument=1)
    accepted = run_site(s3_buckets, tmp_path)
    assert sorted(a.product_id for a in accepted) == sorted([good1.product_id, good2.product_id])
    entry = intake.ledger_entry(work, SITE, bad.product_id)
    assert entry["status"] == "rejected" and "IMAGERY.TIF" in entry["reason"]
    assert entry["marker_etag"] == l1a.head(bad.prefix + "DELIVERY.OK").etag
    # the reject is done; the accepted ones stay pending until the run records them
    assert pending_ids(s3_buckets) == sorted([good1.product_id, good2.product_id])


def test_store_failure_leaves_that_delivery_pending(s3_buckets, tmp_path, caplog):
    good = build_delivery(s3_buckets["l1a"])
    flaky = build_delivery(s3_buckets["l1a"], acquired=ACQUIRED + timedelta(days=5))
    spy = SpyStore(s3_buckets["l1a"], fail=flaky.prefix + "IMAGERY.TIF")
    accepted = run_site(s3_buckets, tmp_path, spy)
    assert [a.product_id for a in accepted] == [good.product_id]
    assert intake.ledger_entry(s3_buckets["work"], SITE, flaky.product_id) is None
    assert flaky.product_id in pending_ids(s3_buckets)
    assert any("left pending" in r.getMessage() for r in caplog.records)


def test_quarantine_record(s3_buckets, tmp_path):
    l1a, work = s3_buckets["l1a"], s3_buckets["work"]
    bad = build_delivery(l1a, preview=True, tamper={"PREVIEW.JPG": b"another preview"},
                         unlisted={"EXTRA.BIN": b"x"})
    [pending] = intake.scan(l1a, work, SITE).pending
    rejected = intake.validate(l1a, work, site_config(), pending, tmp_path)
    key = intake.quarantine(work, rejected)
    assert key == layout.quarantine_key(SITE, bad.product_id, pending.marker_etag)
    doc = json.loads(work.get_bytes(key))
    assert doc["reason"] == rejected.reason and "PREVIEW.JPG" in doc["reason"] and "size 15" in doc["reason"]
    assert doc["marker_etag"] == pending.marker_etag and doc["delivered_at"] == "2015-05-04T02:13:00Z"
    assert sorted(f["name"] for f in doc["files_seen"]) == [
        "DELIVERY.OK", "EXTRA.BIN", "IMAGERY.TIF", "METADATA.DIM", "PREVIEW.JPG"]
    assert {f["name"]: f["size"] for f in doc["files_seen"]}["PREVIEW.JPG"] == 15
    assert intake.Rejected.from_dict(doc) == rejected
    # idempotent: a second quarantine keeps the first record
    before = work.head(key)
    later = intake.Rejected.from_dict({**doc, "rejected_at": "2030-01-01T00:00:00Z"})
    assert intake.quarantine(work, later) == key
    assert work.head(key).etag == before.etag


def test_ledger_makes_scan_idempotent(s3_buckets, tmp_path):
    l1a, work = s3_buckets["l1a"], s3_buckets["work"]
    good = build_delivery(l1a)
    build_delivery(l1a, acquired=ACQUIRED + timedelta(days=5), marker=b"garbage")
    [accepted] = run_site(s3_buckets, tmp_path)
    intake.record(work, accepted, "published", "SPOT5-HRG2-XS_20150428-103235-000_L1C_AustraliaLitchfield_D_V1-0")
    assert pending_ids(s3_buckets) == []
    assert run_site(s3_buckets, tmp_path) == []
    entry = intake.ledger_entry(work, SITE, good.product_id)
    assert entry["status"] == "published" and entry["applied"]["delivered_at"] == "2015-05-04T02:13:00Z"
    assert entry["product_name"].endswith("_D_V1-0") and entry["marker_etag"] == accepted.marker_etag
    # recording the same outcome again writes nothing
    key = layout.ledger_key(SITE, good.product_id)
    etag = work.head(key).etag
    intake.record(work, accepted, "published", entry["product_name"])
    assert work.head(key).etag == etag
    with pytest.raises(ValueError):
        intake.record(work, accepted, "rejected")


def redeliver(stores, tmp_path, delivered_at, **knobs):
    """Deliver the default product again; return the outcome of its validation."""
    build_delivery(stores["l1a"], delivered_at=delivered_at, **knobs)
    [pending] = intake.scan(stores["l1a"], stores["work"], SITE).pending
    return intake.validate(stores["l1a"], stores["work"], site_config(), pending, tmp_path)


def publish_first(stores, tmp_path):
    first = redeliver(stores, tmp_path, DELIVERED)
    intake.record(stores["work"], first, "published", "P1")
    assert pending_ids(stores) == []
    return first


def test_later_redelivery_supersedes(s3_buckets, tmp_path):
    first = publish_first(s3_buckets, tmp_path)
    second = redeliver(s3_buckets, tmp_path, DELIVERED + timedelta(days=7), preview=True)
    assert isinstance(second, intake.Accepted)
    assert second.marker_etag != first.marker_etag and second.delivered_at == DELIVERED + timedelta(days=7)
    intake.record(s3_buckets["work"], second, "published", "P2")
    entry = intake.ledger_entry(s3_buckets["work"], SITE, first.product_id)
    assert entry["applied"]["product_name"] == "P2" and entry["delivered_at"] == "2015-05-11T02:13:00Z"
    assert pending_ids(s3_buckets) == []


def test_older_redelivery_is_stale(s3_buckets, tmp_path):
    first = publish_first(s3_buckets, tmp_path)
    old = redeliver(s3_buckets, tmp_path, DELIVERED - timedelta(hours=1), preview=True)
    assert isinstance(old, intake.Stale)
    assert old.applied_delivered_at == DELIVERED and old.delivered_at == DELIVERED - timedelta(hours=1)
    assert intake.Stale.from_dict(json.loads(json.dumps(old.to_dict()))) == old
    intake.record(s3_buckets["work"], old, "stale")
    entry = intake.ledger_entry(s3_buckets["work"], SITE, first.product_id)
    assert entry["status"] == "stale" and entry["marker_etag"] == old.marker_etag
    assert entry["applied"]["marker_etag"] == first.marker_etag and entry["applied"]["product_name"] == "P1"
    assert pending_ids(s3_buckets) == []


def test_tie_on_delivered_at_goes_to_the_marker_written_last(s3_buckets, tmp_path):
    first = publish_first(s3_buckets, tmp_path)
    again = redeliver(s3_buckets, tmp_path, DELIVERED, preview=True)  # same delivered_at, overwritten marker
    assert isinstance(again, intake.Accepted) and again.marker_etag != first.marker_etag
    assert again.marker_last_modified >= first.marker_last_modified
    # a ledger that applied a marker written after this one: this one loses the tie
    later = intake.Accepted.from_dict({**first.to_dict(), "marker_last_modified": "2099-01-01T00:00:00Z"})
    intake.record(s3_buckets["work"], later, "published", "P1")
    lost = intake.validate(s3_buckets["l1a"], s3_buckets["work"], site_config(),
                           intake.Pending(SITE, again.product_id, again.marker_etag), tmp_path)
    assert isinstance(lost, intake.Stale) and lost.delivered_at == lost.applied_delivered_at


def test_newer_delivery_after_a_reject_is_pending_again(s3_buckets, tmp_path):
    bad = redeliver(s3_buckets, tmp_path, DELIVERED, tamper={"METADATA.DIM": b"<Dimap_Document/>"})
    assert isinstance(bad, intake.Rejected)
    intake.record(s3_buckets["work"], bad, "rejected")
    assert pending_ids(s3_buckets) == []
    fixed = redeliver(s3_buckets, tmp_path, DELIVERED + timedelta(days=1))
    assert isinstance(fixed, intake.Accepted)


def test_marker_gone_before_validation(s3_buckets, tmp_path):
    built = build_delivery(s3_buckets["l1a"])
    [pending] = intake.scan(s3_buckets["l1a"], s3_buckets["work"], SITE).pending
    marker = s3_buckets["l1a"].get_bytes(built.prefix + "DELIVERY.OK")
    s3_buckets["l1a"].delete(built.prefix + "DELIVERY.OK")
    out = intake.validate(s3_buckets["l1a"], s3_buckets["work"], site_config(), pending, tmp_path)
    assert isinstance(out, intake.Rejected) and "disappeared" in out.reason
    intake.quarantine(s3_buckets["work"], out)
    intake.record(s3_buckets["work"], out, "rejected")
    s3_buckets["l1a"].put_bytes(built.prefix + "DELIVERY.OK", marker)  # same bytes, same ETag
    assert pending_ids(s3_buckets) == [built.product_id]


def test_missing_dem_is_a_configuration_error(s3_buckets):
    aux = s3_buckets["aux"]
    with pytest.raises(intake.SiteAuxError, match=f"{SITE}.*{SITE}/DEM.tif"):
        intake.check_site_aux(aux, SITE)
    aux.put_bytes(f"{SITE}/DEM.tif", b"II*\x00")
    intake.check_site_aux(aux, SITE)


def test_local_store_intake(tmp_path):
    l1a, work = LocalStore(tmp_path / "l1a"), LocalStore(tmp_path / "work")
    built = build_delivery(l1a)
    build_delivery(l1a, acquired=ACQUIRED + timedelta(days=5), tamper={"IMAGERY.TIF": None})
    [accepted] = intake.validate_site(l1a, work, site_config(), tmp_path / "tmp")
    assert accepted.product_id == built.product_id
    intake.record(work, accepted, "published", "P")
    assert intake.scan(l1a, work, SITE).pending == []
    assert [i.key.split("/")[1] for i in work.list(layout.quarantine_prefix())] == [SITE]
