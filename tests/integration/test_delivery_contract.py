"""The L1A delivery contract, case by case: DELIVERY.OK, METADATA.DIM, IMAGERY.TIF.

Parsers are tested on bytes; deliveries are written by tests/helpers/l1a_builder.py
into buckets of a real moto S3 server and checked with ``intake.validate``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
import rasterio

from helpers.l1a_builder import (
    ACQUIRED,
    BAND_DN,
    DELIVERED,
    SITE,
    build_delivery,
    make_imagery,
    make_metadata,
    site_config,
)
from take5_ops.l1a import intake
from take5_ops.l1a.delivery import DeliveryError, DeliveryManifest, ManifestFile, delivery_ok_bytes, parse_delivery_ok
from take5_ops.l1a.metadata import MetadataError, read_dimap, write_dimap

PID = "SPOT5-HRG2-XS_20150428-103235_L1A_AustraliaLitchfield"
SHA = "ab" * 32


def manifest(**changes) -> DeliveryManifest:
    m = DeliveryManifest(PID, SITE, DELIVERED, (ManifestFile("METADATA.DIM", 10423, SHA),
                                                ManifestFile("IMAGERY.TIF", 144012345, "cd" * 32)))
    return replace(m, **changes)


def parse(data: bytes, product_id: str = PID, site_id: str = SITE) -> DeliveryManifest:
    return parse_delivery_ok(data, site_id=site_id, product_id=product_id, source="X/DELIVERY.OK")


def edited(edit) -> bytes:
    doc = json.loads(delivery_ok_bytes(manifest()))
    edit(doc)
    return json.dumps(doc).encode()


# ---- DELIVERY.OK --------------------------------------------------------------------------

def test_delivery_ok_canonical_bytes_round_trip_and_layout():
    m = manifest()
    data = delivery_ok_bytes(m)
    assert parse(data) == m
    assert delivery_ok_bytes(parse(data)) == data
    doc = json.loads(data)
    assert list(doc) == ["product_id", "site_id", "delivered_at", "files"]
    assert doc["delivered_at"] == "2015-05-04T02:13:00Z"
    assert doc["files"][1] == {"name": "IMAGERY.TIF", "size": 144012345, "sha256": "cd" * 32}
    # one file per line, as in the contract's example
    assert '    {"name": "METADATA.DIM", "size": 10423, "sha256": "' + SHA + '"},' in data.decode().splitlines()


def test_delivery_ok_offset_time_normalised_to_utc():
    m = parse(edited(lambda d: d.update(delivered_at="2015-05-04T04:13:00+02:00")))
    assert m.delivered_at == DELIVERED


@pytest.mark.parametrize("data, words", [
    (b"{not json", ["not valid UTF-8 JSON"]),
    (b"\xff\xfe{}", ["not valid UTF-8 JSON"]),
    (b"[]", ["top level"]),
    (edited(lambda d: d.pop("files")), ["'files'"]),
    (edited(lambda d: d.update(product_id="SPOT5-HRG2-XS_20150429-103235_L1A_AustraliaLitchfield")),
     ["'product_id'", "prefix"]),
    (edited(lambda d: d.update(site_id="FrancePornic")), ["'site_id'", "FrancePornic"]),
    (edited(lambda d: d.update(delivered_at="2015-05-04T02:13:00")), ["'delivered_at'"]),
    (edited(lambda d: d.update(delivered_at="2015-02-30T02:13:00Z")), ["'delivered_at'"]),
    (edited(lambda d: d.update(delivered_at=12)), ["'delivered_at'"]),
    (edited(lambda d: d["files"][0].update(sha256="ab" * 31)), ["files[0]", "'sha256'"]),
    (edited(lambda d: d["files"][0].update(sha256="zz" * 32)), ["files[0]", "'sha256'"]),
    (edited(lambda d: d["files"][1].update(size="12")), ["files[1]", "'size'"]),
    (edited(lambda d: d["files"][1].update(size=-1)), ["files[1]", "'size'"]),
    (edited(lambda d: d["files"][1].update(name="../IMAGERY.TIF")), ["files[1]", "'name'"]),
    (edited(lambda d: d["files"].pop(1)), ["IMAGERY.TIF"]),
    (edited(lambda d: d["files"].pop(0)), ["METADATA.DIM"]),
    (edited(lambda d: d["files"].append(dict(d["files"][0]))), ["twice"]),
    (b'{"product_id": "a", "product_id": "b"}', ["duplicate"]),
])
def test_delivery_ok_rejects_with_the_field_named(data, words):
    with pytest.raises(DeliveryError) as err:
        parse(data)
    assert str(err.value).startswith("X/DELIVERY.OK")
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("product_id, words", [
    ("SPOT5-HRG2-XS_20150431-103235_L1A_AustraliaLitchfield", ["impossible"]),
    ("SPOT5-HRG2-XS_20150428-253235_L1A_AustraliaLitchfield", ["impossible"]),
    ("SPOT5-HRG2-XS_20150428-103235_L1A_FrancePornic", ["FrancePornic", "site"]),
])
def test_prefix_product_id_is_checked_before_the_json(product_id, words):
    data = delivery_ok_bytes(manifest(product_id=product_id))  # the marker agrees with its prefix
    with pytest.raises(DeliveryError) as err:
        parse(data, product_id=product_id)
    for word in words:
        assert word in str(err.value)


# ---- METADATA.DIM -------------------------------------------------------------------------

def dim_text() -> str:
    return write_dimap(make_metadata()).decode()


def test_dimap_round_trip():
    meta = make_metadata(band_order=("SWIR", "XS1", "XS3", "XS2"))
    back = read_dimap(write_dimap(meta))
    assert back == meta
    assert back.bands["XS1"].index == 2 and back.bands["SWIR"].index == 1


@pytest.mark.parametrize("pattern, repl, element", [
    (r"<SUN_ELEVATION>.*?</SUN_ELEVATION>", "", "SUN_ELEVATION"),
    (r"<NCOLS>.*?</NCOLS>", "<NCOLS>abc</NCOLS>", "Raster_Dimensions/NCOLS"),
    (r"<NROWS>.*?</NROWS>", "<NROWS>0</NROWS>", "NROWS"),
    (r"<IMAGING_DATE>.*?</IMAGING_DATE>", "<IMAGING_DATE>2015-04-31</IMAGING_DATE>", "IMAGING_DATE"),
    (r"<IMAGING_TIME>.*?</IMAGING_TIME>", "<IMAGING_TIME>10:32</IMAGING_TIME>", "IMAGING_TIME"),
    (r"<PHYSICAL_GAIN>.*?</PHYSICAL_GAIN>", "<PHYSICAL_GAIN>nan</PHYSICAL_GAIN>", "PHYSICAL_GAIN"),
    (r"<SOLAR_IRRADIANCE_VALUE>.*?</SOLAR_IRRADIANCE_VALUE>",
     "<SOLAR_IRRADIANCE_VALUE>-1</SOLAR_IRRADIANCE_VALUE>", "Band_Solar_Irradiance"),
    (r"<GRID_REFERENCE>.*?</GRID_REFERENCE>", "<GRID_REFERENCE>31240</GRID_REFERENCE>", "GRID_REFERENCE"),
    (r"<Scene_Center>.*?</Scene_Center>", "", "Scene_Center"),
    (r'version="1.1"', 'version="2.0"', "METADATA_FORMAT@version"),
    (r"<BAND_DESCRIPTION>XS1</BAND_DESCRIPTION>", "<BAND_DESCRIPTION>XS4</BAND_DESCRIPTION>", "BAND_DESCRIPTION"),
])
def test_dimap_missing_or_bad_element_is_named(pattern, repl, element):
    text, n = re.subn(pattern, repl, dim_text(), count=1, flags=re.S)
    assert n == 1
    with pytest.raises(MetadataError) as err:
        read_dimap(text.encode(), source="s3://b/METADATA.DIM")
    assert element in str(err.value) and str(err.value).startswith("s3://b/METADATA.DIM")


DTD = '<?xml version="1.0"?>\n<!DOCTYPE Dimap_Document [<!ENTITY x "1.1">]>\n'
XXE = '<?xml version="1.0"?>\n<!DOCTYPE Dimap_Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'


@pytest.mark.parametrize("prolog", [DTD, XXE])
def test_dimap_with_dtd_or_entities_is_refused(prolog):
    body = dim_text().split("\n", 1)[1].replace("<DATASET_NAME>", "<DATASET_NAME>&x;", 1)
    with pytest.raises(MetadataError, match="forbidden XML"):
        read_dimap((prolog + body).encode())


# ---- whole deliveries in S3 ---------------------------------------------------------------

def check(stores, tmp_path, built=None):
    """Validate the delivery of ``built`` (or the only pending one)."""
    found = intake.scan(stores["l1a"], stores["work"], SITE)
    pending = next(p for p in found.pending if built is None or p.product_id == built.product_id)
    outcome = intake.validate(stores["l1a"], stores["work"], site_config(), pending, tmp_path / "tmp")
    assert not any((tmp_path / "tmp").glob("*"))  # downloads removed
    return outcome


def test_valid_delivery_is_accepted(s3_buckets, tmp_path):
    built = build_delivery(s3_buckets["l1a"])
    out = check(s3_buckets, tmp_path)
    assert isinstance(out, intake.Accepted)
    assert (out.product_id, out.acquired, out.instrument, out.delivered_at) == (built.product_id, ACQUIRED, 2, DELIVERED)
    assert out.manifest == built.manifest
    assert out.marker_etag == s3_buckets["l1a"].head(built.prefix + "DELIVERY.OK").etag
    assert intake.Accepted.from_dict(json.loads(json.dumps(out.to_dict()))) == out


def flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize("knobs, words", [
    (dict(tamper={"IMAGERY.TIF": None}), ["IMAGERY.TIF", "missing"]),
    (dict(preview=True, tamper={"PREVIEW.JPG": None}), ["PREVIEW.JPG", "missing"]),
    (dict(tamper={"IMAGERY.TIF": b"short"}), ["IMAGERY.TIF", "size 5"]),
    (dict(tamper={"METADATA.DIM": flip(write_dimap(make_metadata()))}), ["METADATA.DIM", "SHA-256"]),
    (dict(marker=b'{"product_id": '), ["DELIVERY.OK", "JSON"]),
    (dict(manifest_edit=lambda d: d.update(site_id="FrancePornic")), ["'site_id'"]),
    (dict(manifest_edit=lambda d: d.update(product_id="SPOT5-HRG1-XS_20150428-103235_L1A_AustraliaLitchfield")),
     ["'product_id'"]),
    (dict(manifest_edit=lambda d: d.update(delivered_at="yesterday")), ["'delivered_at'"]),
    (dict(product_id="SPOT5-HRG2-XS_20150428-103235_L1A_FrancePornic"), ["FrancePornic"]),
    (dict(product_id="SPOT5-HRG2-XS_20150431-103235_L1A_AustraliaLitchfield"), ["impossible"]),
    (dict(dim=re.sub(rb"<SUN_AZIMUTH>.*?</SUN_AZIMUTH>", b"", write_dimap(make_metadata()))),
     ["METADATA.DIM", "SUN_AZIMUTH"]),
    (dict(dim=(DTD + dim_text().split("\n", 1)[1]).encode()), ["METADATA.DIM", "forbidden XML"]),
    (dict(meta_edit=lambda m: replace(m, acquired=m.acquired + timedelta(seconds=1))),
     ["IMAGING_DATE", "PRODUCT_ID"]),
    (dict(meta_edit=lambda m: replace(m, instrument=1)), ["INSTRUMENT_INDEX"]),
    (dict(imagery=make_imagery(with_rpcs=False)), ["IMAGERY.TIF", "RPC"]),
    (dict(imagery=make_imagery(count=3)), ["IMAGERY.TIF", "3 bands"]),
    (dict(imagery=make_imagery(dtype="uint16")), ["IMAGERY.TIF", "uint16"]),
    (dict(imagery=make_imagery(ncols=41)), ["IMAGERY.TIF", "NCOLS"]),
    (dict(imagery=b"II*\x00 not really a tiff"), ["IMAGERY.TIF", "not a readable GeoTIFF"]),
])
def test_corrupt_delivery_is_rejected_with_its_reason(s3_buckets, tmp_path, knobs, words):
    built = build_delivery(s3_buckets["l1a"], **knobs)
    out = check(s3_buckets, tmp_path)
    assert isinstance(out, intake.Rejected), out
    assert out.product_id == built.product_id
    for word in words:
        assert word in out.reason
    assert "DELIVERY.OK" in {f["name"] for f in out.files_seen}


def test_shuffled_band_order_is_mapped_by_description(s3_buckets, tmp_path):
    order = ("SWIR", "XS1", "XS3", "XS2")
    build_delivery(s3_buckets["l1a"], band_order=order)
    out = check(s3_buckets, tmp_path)
    assert isinstance(out, intake.Accepted)
    folder = intake.fetch(s3_buckets["l1a"], out, tmp_path / "l1a")
    meta = read_dimap((folder / "METADATA.DIM").read_bytes())
    with rasterio.open(folder / "IMAGERY.TIF") as src:
        for name, dn in BAND_DN.items():
            band = src.read(meta.bands[name].index)
            assert band[0].max() == 0 and (band[1:] == dn).all(), name
    assert [meta.bands[n].index for n in order] == [1, 2, 3, 4]


def test_unlisted_file_is_ignored_and_logged(s3_buckets, tmp_path, caplog):
    build_delivery(s3_buckets["l1a"], unlisted={"NOTES.TXT": b"hello", "PREVIEW.JPG": b"\xff\xd8"})
    caplog.set_level("INFO", logger="take5_ops.l1a.intake")
    out = check(s3_buckets, tmp_path)
    assert isinstance(out, intake.Accepted)
    assert [f.name for f in out.manifest.files] == ["METADATA.DIM", "IMAGERY.TIF"]
    ignored = [r.getMessage() for r in caplog.records if "not listed" in r.getMessage()]
    assert len(ignored) == 2 and "NOTES.TXT" in ignored[0] and "PREVIEW.JPG" in ignored[1]


def test_listed_preview_is_verified_and_optional(s3_buckets, tmp_path):
    with_preview = build_delivery(s3_buckets["l1a"], preview=True)
    without = build_delivery(s3_buckets["l1a"], acquired=ACQUIRED + timedelta(days=5))
    assert [f.name for f in with_preview.manifest.files][-1] == "PREVIEW.JPG"
    assert isinstance(check(s3_buckets, tmp_path, with_preview), intake.Accepted)
    assert isinstance(check(s3_buckets, tmp_path, without), intake.Accepted)


def test_fetch_reverifies_the_objects(s3_buckets, tmp_path):
    built = build_delivery(s3_buckets["l1a"])
    out = check(s3_buckets, tmp_path)
    folder = intake.fetch(s3_buckets["l1a"], out, tmp_path / "a")
    for name in ("METADATA.DIM", "IMAGERY.TIF"):
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == built.manifest.file(name).sha256
    s3_buckets["l1a"].put_bytes(built.prefix + "IMAGERY.TIF", flip(built.files["IMAGERY.TIF"]))
    with pytest.raises(DeliveryError, match="IMAGERY.TIF.*changed since validation"):
        intake.fetch(s3_buckets["l1a"], out, tmp_path / "b")
    assert not (tmp_path / "b" / "IMAGERY.TIF").exists()

