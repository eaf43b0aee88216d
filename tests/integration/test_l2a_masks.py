"""L2A pieces: the per-pixel tests, the composite update and state file, shadow geometry, input errors,
determinism and the STAC Item of a product (one small simulated series of 3 dates)."""

from __future__ import annotations

import json
import shutil
from datetime import date

import numpy as np
import pytest
import rasterio

from helpers.paths import SITE_CONFIGS
from take5_ops.distribution.catalog import build_item
from take5_ops.l1c.processor import process_l1c
from take5_ops.l2a import L2AInputError, L2AStateError, composite, masks, process_date, shadows
from take5_ops.l2a.inputs import Angles
from take5_ops.sim import acquisition_dates, simulate_product
from take5_ops.siteconfig import load_site_config

SIZE, GRID = 300, 340


def px(*bands):
    """A (4, 1, 1) reflectance array."""
    return np.array(bands, np.float32).reshape(4, 1, 1)


def test_spectral_tests_on_typical_spectra():
    cloud, veg, water, snow, desert = (px(0.5, 0.5, 0.48, 0.35), px(0.06, 0.035, 0.42, 0.17),
                                       px(0.04, 0.025, 0.015, 0.008), px(0.82, 0.8, 0.7, 0.06),
                                       px(0.25, 0.34, 0.4, 0.52))
    no = np.zeros((1, 1), bool)
    assert masks.mono_cloud(cloud, no, no)[0, 0] and not masks.mono_cloud(veg, no, no)[0, 0]
    assert not masks.mono_cloud(desert, no, no)[0, 0]  # bright but NIR < SWIR
    assert masks.mono_cloud(veg, ~no, no)[0, 0]  # saturated
    assert masks.water(water)[0, 0] and not masks.water(veg)[0, 0]
    assert masks.snow(snow)[0, 0] and not masks.snow(cloud)[0, 0]
    assert masks.mono_cloud(px(0.1, 0.08, 0.06, 0.03), no, ~no)[0, 0]  # bright green over water


def test_multi_temporal_threshold_and_ratios():
    assert masks.threshold(np.array([0.0, 30.0, 300.0])).tolist() == pytest.approx([0.03, 0.06, 0.07])
    veg = px(0.06, 0.035, 0.42, 0.17)
    hazy = veg + px(0.05, 0.05, 0.03, 0.02)
    harvest = px(0.10, 0.13, 0.18, 0.26)  # red rises more than green: soil, not cloud
    age = np.array([[5.0]])
    assert masks.multi_cloud(hazy, veg, age)[0, 0]
    assert not masks.multi_cloud(harvest, veg, age)[0, 0]
    assert not masks.multi_cloud(veg + px(0.02, 0.02, 0.0, 0.0), veg, age)[0, 0]  # below T_MIN
    assert not masks.multi_cloud(veg + px(0.05, 0.05, 0.03, 0.02), veg, np.array([[200.0]]))[0, 0]  # T_MAX 0.07


def test_local_correlation():
    rng = np.random.default_rng(1)
    a = rng.random((40, 40)).astype(np.float32)
    corr = masks.local_correlation(a, 0.5 * a + 0.2)
    assert np.nanmin(corr) > 0.999
    assert np.nanmean(masks.local_correlation(a, rng.random((40, 40)).astype(np.float32))) < 0.3
    assert np.isnan(masks.local_correlation(a, np.full_like(a, 0.3))).all()  # flat: undefined


def test_dilate_and_grow():
    from scipy import ndimage

    rng = np.random.default_rng(2)
    mask = rng.random((60, 45)) < 0.03
    for radius in (1, 4):  # a square, nothing outside the array: as scipy's maximum filter
        assert (masks.dilate(mask, radius) == ndimage.maximum_filter(mask, size=2 * radius + 1, mode="constant")).all()
    seed = np.zeros((5, 40), bool)
    seed[2, 0] = True
    into = np.zeros_like(seed)
    into[2, :30] = True  # a dimmed line from the seed
    into[:, 35:] = True  # dimmed, but not connected to the seed
    grown = masks.grow(seed, into, 8)
    assert grown[2, :9].all() and grown.sum() == 9  # 8 pixels along the line, nothing else


def test_composite_update_keeps_drops_and_later_dates():
    comp = composite.empty(1, 3)
    comp["reflectance"].values[:] = 0.1
    comp["date"].values[:] = [[1000, 1000, 1200]]  # the third is later than the date (backward mode)
    new = np.full((4, 1, 3), 0.3, np.float32)
    assert composite.age(comp, 1050)[0].tolist() == [50, 50, 150]  # absolute age
    out = composite.update(comp, new, np.array([[True, False, False]]), 1050)
    assert out["reflectance"].dims == ("band", "y", "x")
    dates = out["date"].values[0]
    assert dates[:2].tolist() == [1050, 1000] and np.isnan(dates[2])  # taken, kept (50 d), dropped (150 d)
    refl = out["reflectance"].values[:, 0]
    assert refl[:, 0] == pytest.approx([0.3] * 4) and refl[:, 1] == pytest.approx([0.1] * 4)
    assert np.isnan(refl[:, 2]).all()
    scaled = composite.scaled(np.array([0.1234, np.nan, 5.0, -2.0], np.float32))  # the state's int16 encoding
    assert scaled.dtype == np.int16 and scaled.tolist() == [1234, composite.NODATA, 32767, -9999]


def test_shadow_offsets_point_away_from_the_sun():
    site = load_site_config(SITE_CONFIGS / "FrancePornic.yaml")
    south_sun = Angles(sun_zenith=45.0, sun_azimuth=180.0, view_zenith=0.0, view_azimuth=90.0)
    steps = shadows.offsets(site, south_sun, 100.0)
    assert steps[0].tolist() == [0, 0]
    assert abs(steps[-1][0] + 80) <= 1 and abs(steps[-1][1]) <= 3  # 8000 m cloud, sun south: 8 km north
    cloud = np.zeros((200, 50), bool)
    cloud[150:155, 20:25] = True
    dark = np.zeros((200, 50), np.float32)
    dark[150 - 30:155 - 30, 20:25] = 1.0  # the shadow of a 3000 m cloud
    zone = shadows.shadow_zone(cloud, dark, np.ones_like(cloud), steps)
    assert zone[120:125, 20:25].all() and not zone[60:110].any()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Three dates of FrancePornic (300 px scenes on a 340 px grid) and their L1C."""
    root = tmp_path_factory.mktemp("l2a-small")
    site = load_site_config(SITE_CONFIGS / "FrancePornic.yaml")
    g = site.grid
    shift = (g.width - GRID) // 2 * g.resolution
    site = site.model_copy(update={"grid": g.model_copy(update={"ulx": g.ulx + shift, "uly": g.uly - shift,
                                                                "width": GRID, "height": GRID})})
    l1c = []
    for when in acquisition_dates(site, date(2015, 4, 19), date(2015, 4, 30)):
        delivery = simulate_product(site, when, root / "sim", size=SIZE, preview=False, truth=False)
        l1c.append(root / "l1c" / process_l1c(delivery, root / "sim" / "aux" / site.site_id / "DEM.tif", site,
                                              root / "l1c").name)
    return {"site": site, "root": root, "l1c": l1c, "dem": root / "sim" / "aux" / site.site_id / "DEM.tif"}


def run(small, out: str, k: int = 1, backward: bool = False, prior=None):
    root = small["root"] / out
    root.mkdir(exist_ok=True)
    if prior is None:
        prior = root / "s0.tif"
        process_date(small["l1c"][0], small["dem"], small["site"], None, [], prior, None)
    out_dir = None if backward else root / "l2a"
    return process_date(small["l1c"][k], small["dem"], small["site"], prior, small["l1c"][:k][::-1],
                        root / f"s{k}.tif", out_dir), root


def test_product_state_and_item(small):
    result, root = run(small, "a")
    _, root_b = run(small, "b")
    p = result.product
    assert result.aot_source == "multi-temporal" and 0 < result.aot < 1 and not result.too_cloudy
    assert result.to_dict()["product"] == p.name and json.loads(json.dumps(result.to_dict()))
    assert p.name == result.name and "_L2A_FrancePornic_" in p.name
    folder = root / "l2a" / p.name
    for f in p.files:  # same inputs, same bytes: product files and state
        assert (folder / f.name).read_bytes() == (root_b / "l2a" / p.name / f.name).read_bytes(), f.name
    assert (root / "s1.tif").read_bytes() == (root_b / "s1.tif").read_bytes()
    with rasterio.open(folder / f"{p.name}_SRE_XS1.tif") as ds:
        assert ds.dtypes[0] == "int16" and ds.nodata == -10000
        sre = ds.read(1)
    with rasterio.open(folder / f"{p.name}_EDG.tif") as ds:
        edg = ds.read(1)
    assert (sre[edg == 1] == -10000).all() and (sre[edg == 0] > -10000).all()
    with rasterio.open(folder / f"{p.name}_CLM.tif") as ds:
        clm = ds.read(1)
    assert ((clm & 2 > 0) <= (clm & 1 > 0)).all() and ((clm & 32 > 0) <= (clm & 1 > 0)).all()
    assert p.properties["eo:cloud_cover"] == pytest.approx(100 * result.cloud_cover, abs=0.01)
    item = build_item(p).to_dict()
    assert set(item["assets"]) >= {"XS1", "XS2", "XS3", "SWIR", "CLM", "MG2", "SAT", "EDG", "AOT"}
    assert item["properties"]["eo:cloud_cover"] == p.properties["eo:cloud_cover"]
    assert item["assets"]["AOT"]["raster:bands"][0]["scale"] == 0.001
    mtd = json.loads((folder / f"{p.name}_MTD.json").read_text())
    assert mtd["atmosphere"]["aot550"] == result.aot and mtd["masks"]["CLM"]["bits"]["5"]
    with rasterio.open(root / "s1.tif") as ds:
        assert ds.count == 5 and ds.descriptions[-1] == "DATE" and ds.tags()["SITE_ID"] == "FrancePornic"


def test_backward_mode_writes_only_the_state(small):
    result, root = run(small, "c", k=2, backward=True)
    assert result.product is None and (root / "s2.tif").is_file() and not (root / "l2a").exists()


def test_bad_inputs_raise_named_errors(small):
    root = small["root"] / "bad"
    root.mkdir()
    broken = root / small["l1c"][1].name
    shutil.copytree(small["l1c"][1], broken)
    (broken / f"{broken.name}_XS2.tif").write_bytes(b"not a tiff")
    with pytest.raises(L2AInputError, match="_XS2.tif"):
        process_date(broken, small["dem"], small["site"], None, [], root / "s.tif", root / "out")
    shutil.copyfile(small["l1c"][1] / f"{broken.name}_XS2.tif", broken / f"{broken.name}_XS2.tif")
    mtd = broken / f"{broken.name}_MTD.json"
    doc = json.loads(mtd.read_text())
    doc["angles"]["sun_zenith"] = "high"
    mtd.write_text(json.dumps(doc))
    with pytest.raises(L2AInputError, match="angles.sun_zenith"):
        process_date(broken, small["dem"], small["site"], None, [], root / "s.tif", root / "out")
    bad_state = root / "state.tif"
    bad_state.write_bytes(b"garbage")
    with pytest.raises(L2AStateError, match="state.tif"):
        process_date(small["l1c"][1], small["dem"], small["site"], bad_state, [], root / "s.tif", None)
    _, state_root = run(small, "d", k=1, backward=True)
    old = root / "old.tif"
    shutil.copyfile(state_root / "s1.tif", old)
    with rasterio.open(old, "r+") as ds:
        ds.update_tags(TAKE5_STATE_VERSION="0")
    with pytest.raises(L2AStateError, match="TAKE5_STATE_VERSION"):
        process_date(small["l1c"][1], small["dem"], small["site"], old, [], root / "s.tif", None)
    assert not (root / "s.tif").exists() and not (root / "out").exists()
