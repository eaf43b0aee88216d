"""``take5 run-site`` end to end on simulated deliveries (local folders, real GDAL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpers.sites import write_pornic_config
from helpers.stac_validation import validate_tree
from take5_ops.cli import main
from take5_ops.commands.run_site import work_folder
from take5_ops.l1a.intake import SiteAuxError
from take5_ops.pipeline import run_site
from take5_ops.siteconfig import load_site_config
from take5_ops.storage import Buckets, LocalStore

SITE = "FrancePornic"
GRID_PX = 640  # 6.4 km at 10 m
SCENE_PX = 700
DATES = [datetime(2015, 4, 8, 10, 40, 0, tzinfo=UTC), datetime(2015, 4, 13, 10, 40, 0, tzinfo=UTC),
         datetime(2015, 4, 18, 10, 40, 0, tzinfo=UTC)]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Three simulated deliveries of a small site; the second one's IMAGERY.TIF is corrupted."""
    try:
        from take5_ops.l1c.processor import process_l1c  # noqa: F401
        from take5_ops.sim import simulate_product
    except ImportError as exc:
        pytest.skip(f"simulator or L1C not available yet ({exc})")
    root = tmp_path_factory.mktemp("runsite")
    cfg = write_pornic_config(root, GRID_PX)
    site = load_site_config(cfg)
    for acquired in DATES:
        simulate_product(site, acquired, root / "sim", size=SCENE_PX, truth=False)
    l1a = root / "sim" / "l1a"
    deliveries = sorted((l1a / SITE).iterdir())
    assert len(deliveries) == 3
    imagery = deliveries[1] / "IMAGERY.TIF"
    data = bytearray(imagery.read_bytes())
    data[-100] ^= 0xFF
    imagery.write_bytes(bytes(data))
    return {"root": root, "cfg": cfg, "site": site, "l1a": l1a, "aux": root / "sim" / "aux",
            "corrupt": deliveries[1].name, "good": [deliveries[0].name, deliveries[2].name]}


def tree_state(folder: Path) -> dict:
    return {i.key: (i.etag, i.size) for i in LocalStore(folder).list()}


def test_run_site_end_to_end_and_rerun(simulated, tmp_path, capsys):
    s = simulated
    out = tmp_path / "dist"
    args = ["run-site", "--site-config", str(s["cfg"]), "--l1a", str(s["l1a"]), "--aux", str(s["aux"]),
            "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 published" in printed  # the L1A and the L1C of each good delivery
    work = tmp_path / "dist.work"
    assert work.is_dir()

    dist = LocalStore(out)
    docs = validate_tree(dist.get_bytes)  # starts at catalog.json, every document valid STAC
    items = {k: d for k, d in docs.items() if d["type"] == "Feature"}
    assert len(items) == 4
    for level in ("L1A", "L1C"):
        chosen = [d for d in items.values() if d["properties"]["processing:level"] == level]
        assert sorted(d["properties"]["take5:l1a_product_id"] for d in chosen) == s["good"]
    for item in items.values():
        if item["properties"]["processing:level"] == "L1A":
            assert set(item["assets"]) == {"IMAGERY", "metadata", "thumbnail"}
            assert_rpc_footprint(item, s["l1a"] / SITE / item["properties"]["take5:l1a_product_id"])
    assert {i.key.split("/")[0] for i in dist.list()} == {"catalog.json", "index.html", "sites.json", "config.json",
                                                          "assets", SITE}
    for key, item in items.items():
        folder = out / Path(key).parent
        for asset in item["assets"].values():
            assert (folder / asset["href"]).stat().st_size == asset["file:size"]

    ledger = {p.stem: json.loads(p.read_text()) for p in (work / "ledger" / SITE).glob("*.json")}
    assert {k: v["status"] for k, v in ledger.items()} == {
        s["good"][0]: "published", s["good"][1]: "published", s["corrupt"]: "rejected"}
    assert "IMAGERY.TIF" in ledger[s["corrupt"]]["reason"]
    assert list((work / "quarantine" / SITE / s["corrupt"]).glob("*.json"))

    before = (tree_state(out), tree_state(work))
    assert main(args) == 0
    assert "0 accepted" in capsys.readouterr().out
    assert (tree_state(out), tree_state(work)) == before


def assert_rpc_footprint(item: dict, delivery: Path) -> None:
    """The L1A footprint's vertices include the image corners as GDAL's RPC transformer puts them on the ground
    (at the RPCs' HEIGHT_OFF), and the L1A files are the delivery's bytes."""
    import rasterio
    from rasterio.transform import RPCTransformer

    with rasterio.open(delivery / "IMAGERY.TIF") as src:
        rpcs, width, height = src.rpcs, src.width, src.height
    with RPCTransformer(rpcs, RPC_HEIGHT=rpcs.height_off) as gdal:
        lon, lat = gdal.xy([0, 0, height, height], [0, width, width, 0], offset="ul")
    ring = item["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) >= 5
    for x, y in zip(lon, lat):
        assert min(abs(x - vx) + abs(y - vy) for vx, vy in ring) < 2e-5, (x, y, ring)
    assert all(abs(a - b) < 2e-5 for a, b in zip(item["bbox"], (min(lon), min(lat), max(lon), max(lat))))


def test_one_failing_l1c_does_not_stop_the_others(simulated, tmp_path, monkeypatch):
    import take5_ops.l1c.processor as l1c

    s = simulated
    real = l1c.process_l1c
    bad = s["good"][0]

    def flaky(l1a_dir, *args, **kwargs):
        if _product_of(l1a_dir) == bad:
            raise RuntimeError("simulated processing failure")
        return real(l1a_dir, *args, **kwargs)

    monkeypatch.setattr(l1c, "process_l1c", flaky)
    out, work = tmp_path / "out", tmp_path / "work"
    buckets = Buckets.local(s["l1a"], s["aux"], work, out)
    summary = run_site(s["site"], buckets)
    assert summary["published"] == 2  # the L1C and the L1A of the other delivery; no L1A for the failed one
    assert list(summary["failed"]) == [bad]
    assert "simulated processing failure" in summary["failed"][bad]
    entry = json.loads((work / "ledger" / SITE / f"{bad}.json").read_text())
    assert entry["status"] == "rejected" and "simulated processing failure" in entry["reason"]
    assert list((work / "quarantine" / SITE / bad).glob("*.json"))
    docs = validate_tree(LocalStore(out).get_bytes)
    assert [d["properties"]["take5:l1a_product_id"] for d in docs.values() if d["type"] == "Feature"] == [s["good"][1]] * 2


def test_an_input_the_processor_rejects_is_quarantined_by_run_l1c(simulated, tmp_path, monkeypatch):
    """The Airflow path (run_l1c alone) records the rejection too, so the delivery is not retried forever."""
    import take5_ops.l1c.processor as l1c
    from take5_ops.pipeline import intake, run_l1c

    s = simulated
    bad = s["good"][0]

    def refuse(l1a_dir, *args, **kwargs):
        raise l1c.L1CError(f"{l1a_dir}/IMAGERY.TIF: simulated unreadable strip")

    monkeypatch.setattr(l1c, "process_l1c", refuse)
    buckets = Buckets.local(s["l1a"], s["aux"], tmp_path / "work", tmp_path / "out")
    accepted = {a["product_id"]: a for a in intake(buckets, s["site"])}
    with pytest.raises(l1c.L1CError):
        run_l1c(buckets, s["site"], accepted[bad])
    entry = json.loads((tmp_path / "work" / "ledger" / SITE / f"{bad}.json").read_text())
    assert entry["status"] == "rejected" and "simulated unreadable strip" in entry["reason"]
    assert list((tmp_path / "work" / "quarantine" / SITE / bad).glob("*.json"))
    assert bad not in {a["product_id"] for a in intake(buckets, s["site"])}  # not pending any more


def test_rerun_after_lost_ledger_skips_processing(simulated, tmp_path, monkeypatch):
    """A run that died before committing the ledger: the rerun finds the products already made."""
    import take5_ops.l1c.processor as l1c

    s = simulated
    out, work = tmp_path / "out", tmp_path / "work"
    buckets = Buckets.local(s["l1a"], s["aux"], work, out)
    assert run_site(s["site"], buckets)["published"] == 4
    before = tree_state(out)
    for name in s["good"]:
        (work / "ledger" / SITE / f"{name}.json").unlink()

    def must_not_run(*args, **kwargs):
        raise AssertionError("L1C must not run again for the same delivery")

    monkeypatch.setattr(l1c, "process_l1c", must_not_run)
    summary = run_site(s["site"], buckets)
    assert (summary["accepted"], summary["published"], summary["failed"]) == (2, 4, {})
    assert tree_state(out) == before
    assert all((work / "ledger" / SITE / f"{name}.json").is_file() for name in s["good"])


def test_reprocess_makes_a_delivery_pending_and_runs_it_again(simulated, tmp_path, monkeypatch, capsys):
    """``take5 reprocess``: the chosen delivery is processed again, the other is left alone."""
    import take5_ops.l1c.processor as l1c

    s = simulated
    out, work = tmp_path / "out", tmp_path / "work"
    buckets = Buckets.local(s["l1a"], s["aux"], work, out)
    assert run_site(s["site"], buckets)["published"] == 4
    target, other = s["good"]
    other_ledger = (work / "ledger" / SITE / f"{other}.json").read_bytes()

    assert main(["reprocess", "--site", SITE, "--product", target, "--work", str(work)]) == 0
    assert f"pending again: {target}" in capsys.readouterr().out
    assert not (work / "ledger" / SITE / f"{target}.json").exists()

    calls = []
    real = l1c.process_l1c
    monkeypatch.setattr(l1c, "process_l1c", lambda l1a_dir, *a, **k: calls.append(l1a_dir) or real(l1a_dir, *a, **k))
    summary = run_site(s["site"], buckets)
    assert (summary["accepted"], summary["published"]) == (1, 2)
    assert len(calls) == 1
    assert (work / "ledger" / SITE / f"{other}.json").read_bytes() == other_ledger
    assert json.loads((work / "ledger" / SITE / f"{target}.json").read_text())["status"] == "published"
    assert main(["reprocess", "--site", SITE, "--product", "SPOT5-HRG2-XS_20150101-000000_L1A_" + SITE,
                 "--work", str(work)]) == 1


def _product_of(l1a_dir) -> str | None:
    from take5_ops.l1a.metadata import read_dimap

    meta = read_dimap((Path(l1a_dir) / "METADATA.DIM").read_bytes(), source="test")
    stamp = meta.acquired.strftime("%Y%m%d-%H%M%S")
    return f"SPOT5-HRG{meta.instrument}-XS_{stamp}_L1A_{SITE}"


def test_missing_dem_is_a_configuration_error(tmp_path):
    site = load_site_config(write_pornic_config(tmp_path, GRID_PX))
    (tmp_path / "l1a" / SITE / "SPOT5-HRG2-XS_20150408-104000_L1A_FrancePornic").mkdir(parents=True)
    buckets = Buckets.local(tmp_path / "l1a", tmp_path / "aux", tmp_path / "work", tmp_path / "out")
    with pytest.raises(SiteAuxError, match="no DEM"):
        run_site(site, buckets)
    assert not (tmp_path / "work").exists() and not (tmp_path / "out").exists()


def test_work_folder_never_inside_out(tmp_path, capsys):
    out = tmp_path / "dist"
    assert work_folder(out, None) == tmp_path / "dist.work"
    for bad in (out, out / "work", tmp_path):
        with pytest.raises(ValueError, match="must not be"):
            work_folder(out, bad)
    cfg = write_pornic_config(tmp_path, GRID_PX)
    (tmp_path / "l1a").mkdir()
    (tmp_path / "aux").mkdir()
    rc = main(["run-site", "--site-config", str(cfg), "--l1a", str(tmp_path / "l1a"), "--aux",
               str(tmp_path / "aux"), "--out", str(out), "--work", str(out / "w")])
    assert rc == 1
    assert "must not be" in capsys.readouterr().err
