"""The L1C processor against the simulator's truth, on a small scene and grid."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import numpy as np
import pytest
import rasterio
from rasterio.transform import RPCTransformer

from helpers.l1c_cases import ACQUIRED, phase_shift, small_site
from take5_ops.l1a.metadata import BANDS, read_dimap
from take5_ops.l1c.processor import L1CError, process_l1c
from take5_ops.l1c.radiometry import encode_toa
from take5_ops.products.product import Product

sim = pytest.importorskip("take5_ops.sim")

DELIVERED = datetime(2015, 5, 11, 2, 13, tzinfo=UTC)
SIZE, GRID = 500, 560


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One simulated delivery, its L1C, and a second L1C of the same inputs."""
    root = tmp_path_factory.mktemp("l1c")
    site = small_site()
    folder = sim.simulate_product(site, ACQUIRED, root / "sim", size=SIZE, cloud_cover=0.2, preview=False)
    dem = root / "sim" / "aux" / site.site_id / "DEM.tif"
    calls = []
    product = process_l1c(folder, dem, site, root / "out1", delivered_at=DELIVERED,
                          progress=lambda f, m: calls.append(f))
    again = process_l1c(folder, dem, site, root / "out2", delivered_at=DELIVERED)
    truth = root / "sim" / "truth" / site.site_id / folder.name
    return {"site": site, "l1a": folder, "dem": dem, "product": product, "again": again, "calls": calls,
            "out": root / "out1" / product.name, "out2": root / "out2" / again.name, "truth": truth, "root": root}


def read(run, key: str) -> np.ndarray:
    with rasterio.open(run["out"] / f"{run['product'].name}_{key}.tif") as ds:
        return ds.read(1)


def test_product_folder_and_names(run):
    p = run["product"]
    assert p.name == "SPOT5-HRG" + p.name[9] + "-XS_20150429-110011-000_L1C_FrancePornic_D_V1-0"
    names = sorted(x.name for x in run["out"].iterdir())
    expected = sorted([f"{p.name}_{k}.tif" for k in (*BANDS, "SAT", "EDG")] +
                      [f"{p.name}_QKL.jpg", f"{p.name}_MTD.json", "manifest.json"])
    assert names == expected
    assert [f.asset for f in p.files] == ["XS1", "XS2", "XS3", "SWIR", "SAT", "EDG", "thumbnail", "metadata"]
    assert Product.from_json((run["out"] / "manifest.json").read_bytes()) == p
    assert not [x for x in run["root"].joinpath("out1").iterdir() if x.name.startswith(".")]  # no leftovers
    assert run["calls"] == sorted(run["calls"]) and run["calls"][-1] == 1.0


def test_grid_and_cog_layout(run):
    g = run["site"].grid
    for key in (*BANDS, "SAT", "EDG"):
        path = run["out"] / f"{run['product'].name}_{key}.tif"
        with rasterio.open(path) as ds:
            assert ds.crs.to_epsg() == g.epsg
            assert tuple(ds.transform)[:6] == pytest.approx(g.transform, abs=1e-9)
            assert (ds.height, ds.width) == (g.height, g.width)
            assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert ds.profile["tiled"] and ds.block_shapes[0] == (512, 512)
            assert ds.compression.name.lower() == "deflate"
            assert ds.overviews(1) == [2]  # 560 px: one overview level below 512
            # COG order: the overview's tile data comes before the full resolution's
            assert int(ds.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1, ovr=0)) < \
                int(ds.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))
            if key in BANDS:
                assert ds.dtypes[0] == "int16" and ds.nodata == -10000
            else:
                assert ds.dtypes[0] == "uint8"


def test_toa_reflectance_against_truth(run):
    with rasterio.open(run["truth"] / "toa.tif") as t, rasterio.open(run["truth"] / "mask.tif") as m:
        truth, mask = t.read(), m.read(1)
    sat, edg = read(run, "SAT"), read(run, "EDG")
    # clear (no cloud, no shadow), inside, unsaturated, away from the scene edge
    from scipy.ndimage import binary_erosion
    clear = binary_erosion((mask & (1 | 2 | 32)) == 0, iterations=2) & (sat == 0) & (edg == 0)
    assert clear.sum() > 0.3 * clear.size
    for k, b in enumerate(BANDS):
        rho = read(run, b)
        assert (rho[clear] != -10000).all()
        mae = np.abs(rho[clear] * 1e-4 - truth[k][clear]).mean()
        assert mae < 0.005, (b, mae)


def test_geolocation_against_truth(run):
    with rasterio.open(run["truth"] / "toa.tif") as t:
        truth = t.read(3)
    ours = read(run, "XS3") * 1e-4
    box = (slice(150, 406), slice(150, 406))  # well inside the scene
    a, b = np.nan_to_num(truth[box]), ours[box]
    assert (read(run, "EDG")[box] == 0).all()
    dy, dx = phase_shift(a, b)
    assert abs(dy) < 0.3 and abs(dx) < 0.3, (dy, dx)
    # the measure itself sees a one-pixel shift
    _, dx1 = phase_shift(a, np.roll(b, 1, axis=1))
    assert abs(dx1 - 1) < 0.3


def test_masks(run):
    sat, edg = read(run, "SAT"), read(run, "EDG")
    with rasterio.open(run["truth"] / "mask.tif") as m:
        outside = (m.read(1) & 32) != 0
    # EDG follows the truth but for the half-pixel rim (truth: hull of pixel centres; L1C: pixel edges)
    assert (edg[outside] == 1).mean() > 0.98
    assert (edg[~outside] == 0).all()
    assert set(np.unique(edg)) == {0, 1}
    # SAT: each grid pixel whose nearest L1A pixel is saturated has that band's bit
    meta = read_dimap((run["l1a"] / "METADATA.DIM").read_bytes())
    with rasterio.open(run["l1a"] / "IMAGERY.TIF") as src:
        dn = {b: src.read(meta.bands[b].index) for b in BANDS}
        rpcs = src.rpcs
    g = run["site"].grid
    rows, cols = np.nonzero(edg == 0)
    xs, ys = rasterio.transform.xy(rasterio.transform.Affine(*g.transform), rows, cols)
    from pyproj import Transformer
    lon, lat = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    with RPCTransformer(rpcs, RPC_DEM=str(run["dem"])) as tr:
        line, sample = tr.rowcol(lon, lat, op=np.floor)  # GDAL's pixel/line: 0 at the first pixel's corner
    line, sample = np.asarray(line).astype(int), np.asarray(sample).astype(int)
    inside = (line >= 0) & (line < SIZE) & (sample >= 0) & (sample < SIZE)
    found = 0
    for k, b in enumerate(BANDS):
        hit = np.zeros_like(inside)
        hit[inside] = dn[b][line[inside], sample[inside]] == 255
        found += hit.sum()
        assert ((sat[rows[hit], cols[hit]] >> k) & 1 == 1).all(), b
    assert found > 0, "the simulated scene has saturated pixels (bright clouds)"
    assert not (sat[edg == 1]).any()


def test_metadata_and_stac_properties(run):
    p = run["product"]
    props = p.properties
    g = run["site"].grid
    assert props["proj:code"] == f"EPSG:{g.epsg}" and props["proj:shape"] == [GRID, GRID]
    assert props["proj:transform"] == list(g.transform)
    assert props["take5:delivered_at"] == "2015-05-11T02:13:00Z"
    assert props["take5:l1a_product_id"] == run["l1a"].name
    assert props["instruments"] == [f"hrg{p.name[9]}"] and props["platform"] == "spot-5"
    meta = read_dimap((run["l1a"] / "METADATA.DIM").read_bytes())
    assert props["view:sun_elevation"] == meta.sun_elevation
    assert props["view:incidence_angle"] == abs(meta.incidence_angle)
    ring = np.array(props["geometry"]["coordinates"][0])
    assert (ring[0] == ring[-1]).all() and len(ring) >= 5
    west, south, east, north = props["bbox"]
    assert west <= meta.center.lon <= east and south <= meta.center.lat <= north
    # counter-clockwise ring (positive shoelace area)
    assert np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1]) > 0
    mtd = json.loads((run["out"] / f"{p.name}_MTD.json").read_text())
    assert mtd["source"]["delivered_at"] == "2015-05-11T02:13:00Z"
    assert [b["name"] for b in mtd["bands"]] == list(BANDS)
    assert all(b["scale_factor"] == 1e-4 and b["nodata"] == -10000 for b in mtd["bands"])
    assert mtd["statistics"]["valid_pixels"] == int((read(run, "EDG") == 0).sum())
    with rasterio.open(run["out"] / f"{p.name}_QKL.jpg") as q:
        assert q.driver == "JPEG" and q.count == 3 and max(q.width, q.height) <= 1000


def test_deterministic_and_rerun_safe(run):
    for f in run["product"].files:
        assert (run["out"] / f.name).read_bytes() == (run["out2"] / f.name).read_bytes(), f.name
    assert run["product"].to_json() == run["again"].to_json()
    # a rerun over an existing product folder replaces it with the same bytes
    again = process_l1c(run["l1a"], run["dem"], run["site"], run["root"] / "out2", delivered_at=DELIVERED)
    assert again.to_json() == run["again"].to_json()


def test_encode_toa():
    # reflectance = 0.001 DN - 0.01: 0.12344 -> 1234, -0.5 -> -5000, 4.0 -> clipped 32767, one not valid
    dn = np.array([133.44, -490.0, 4010.0, 10.0, 200.0], np.float32)
    valid = np.array([True, True, True, True, False])
    assert encode_toa(dn, 0.001, -0.01, valid).tolist() == [1234, -5000, 32767, 0, -10000]
    assert encode_toa(np.array([-1e6], np.float32), 1.0, 0.0, np.array([True])).tolist() == [-9999]


def test_bad_inputs_are_named(run, tmp_path):
    bad = tmp_path / run["l1a"].name
    shutil.copytree(run["l1a"], bad)
    with rasterio.open(run["l1a"] / "IMAGERY.TIF") as src:
        data = src.read([1, 2, 3])
        profile = {**src.profile, "count": 3}
    with rasterio.open(tmp_path / "three.tif", "w", **profile) as dst:  # GDAL would delete its METADATA.DIM sibling
        dst.write(data)
    (tmp_path / "three.tif").replace(bad / "IMAGERY.TIF")
    with pytest.raises(L1CError, match=r"IMAGERY\.TIF: 3 bands"):
        process_l1c(bad, run["dem"], run["site"], tmp_path / "out")
    with pytest.raises(L1CError, match="DEM"):
        process_l1c(run["l1a"], tmp_path / "missing.tif", run["site"], tmp_path / "out")
    with rasterio.open(run["dem"]) as dem:  # the same DEM, labelled in another projection
        profile, heights = {**dem.profile, "crs": "EPSG:3857"}, dem.read()
    with rasterio.open(tmp_path / "dem3857.tif", "w", **profile) as dst:
        dst.write(heights)
    with pytest.raises(L1CError, match=r"dem3857\.tif: the DEM must be in the site's projection EPSG:32630"):
        process_l1c(run["l1a"], tmp_path / "dem3857.tif", run["site"], tmp_path / "out")
    (bad / "METADATA.DIM").write_text("<Dimap_Document/>")
    with pytest.raises(L1CError, match="METADATA.DIM"):
        process_l1c(bad, run["dem"], run["site"], tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
