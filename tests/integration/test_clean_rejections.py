"""Clean rejections: a truncated or undecodable ``IMAGERY.TIF`` is rejected with a reason that names the
file and the problem — at intake from its structure, by the L1C for any read error — and not retried.

Against buckets of a real moto S3 server; deliveries from tests/helpers/l1a_builder.py.
"""

from __future__ import annotations

import json

import pytest

from helpers.l1a_builder import (
    SITE,
    build_delivery,
    garble_block,
    make_imagery,
    put_flat_dem,
    scene_site,
    site_config,
)
from take5_ops.errors import L1CError
from take5_ops.l1a import intake
from take5_ops.l1c.processor import process_l1c
from take5_ops.pipeline import run_site
from take5_ops.storage import Buckets, LocalStore, layout

LAYOUTS = {
    "strips": {},
    "tiles": dict(tiled=True, blockxsize=16, blockysize=16),
    "band-separate strips": dict(interleave="band", blockysize=8),
    "deflate strips": dict(compress="deflate", blockysize=8),
    "BigTIFF": dict(bigtiff="YES", blockysize=8),
}


def quarantined(work, product_id: str) -> list[dict]:
    return [json.loads(work.get_bytes(i.key)) for i in work.list(layout.quarantine_product_prefix(SITE, product_id))]


@pytest.mark.parametrize("options", LAYOUTS.values(), ids=list(LAYOUTS))
@pytest.mark.parametrize("cut", [1, 200, 900])
def test_truncated_imagery_listed_with_its_own_digest_is_rejected_at_intake(s3_buckets, tmp_path, options, cut):
    full = make_imagery(**options)
    assert len(full) > cut
    built = build_delivery(s3_buckets["l1a"], imagery=full[:-cut])  # DELIVERY.OK lists the truncated size and SHA-256
    assert built.manifest.file("IMAGERY.TIF").size == len(full) - cut
    work = s3_buckets["work"]
    assert intake.validate_site(s3_buckets["l1a"], work, site_config(), tmp_path) == []
    entry = intake.ledger_entry(work, SITE, built.product_id)
    assert entry["status"] == "rejected"
    assert f"{built.prefix}IMAGERY.TIF: not a readable GeoTIFF: " in entry["reason"]
    assert "truncated" in entry["reason"]
    assert [q["reason"] for q in quarantined(work, built.product_id)] == [entry["reason"]]


@pytest.mark.parametrize("options", LAYOUTS.values(), ids=list(LAYOUTS))
def test_a_whole_imagery_passes_the_structural_check(s3_buckets, tmp_path, options):
    build_delivery(s3_buckets["l1a"], imagery=make_imagery(**options))
    [accepted] = intake.validate_site(s3_buckets["l1a"], s3_buckets["work"], site_config(), tmp_path)
    assert accepted.product_id


def test_l1c_names_the_truncated_file(s3_buckets, tmp_path):
    """The L1C checks the structure too (a file changed after intake, or ``take5 run-site`` on a folder)."""
    built = build_delivery(s3_buckets["l1a"])
    folder = tmp_path / built.product_id
    folder.mkdir()
    for name, data in built.files.items():
        (folder / name).write_bytes(data)
    (folder / "IMAGERY.TIF").write_bytes(built.files["IMAGERY.TIF"][:-300])
    aux = LocalStore(tmp_path / "aux")
    put_flat_dem(aux, scene_site())
    with pytest.raises(L1CError, match=r"IMAGERY\.TIF: not a readable GeoTIFF: .*truncated"):
        process_l1c(folder, tmp_path / "aux" / layout.dem_key(SITE), scene_site(), tmp_path / "out")


def test_undecodable_imagery_is_an_l1c_rejection_naming_the_file_and_gdal_reason(s3_buckets, caplog):
    """Intact structure, a strip that does not decompress: intake accepts it (no full decode); the L1C
    read fails and becomes an :class:`L1CError` (quarantined, ledger ``rejected``), not ``processing failed``."""
    buckets = Buckets(**s3_buckets)
    put_flat_dem(buckets.aux, scene_site())
    built = build_delivery(buckets.l1a, imagery=garble_block(make_imagery(compress="deflate", blockysize=8)))
    summary = run_site(scene_site(), buckets)
    reason = summary["failed"][built.product_id]
    assert reason.startswith("L1C rejected the delivery: ") and "IMAGERY.TIF: read failed (" in reason
    assert "See previous exception" not in reason
    entry = intake.ledger_entry(buckets.work, SITE, built.product_id)
    assert entry["status"] == "rejected" and entry["reason"] == reason
    assert [q["reason"] for q in quarantined(buckets.work, built.product_id)] == [reason]
    assert not any(r.exc_info for r in caplog.records)  # a reason, not a traceback
