"""The simulator: sensor model and RPC, contract of a delivery, GDAL orthorectification vs truth, physics."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest
import rasterio
import yaml
from pyproj import Transformer
from rasterio.transform import Affine
from rasterio.warp import Resampling, reproject

from take5_ops.l1a.metadata import read_dimap
from take5_ops.l1c.rpc import rpc_image
from take5_ops.naming import parse_product_id
from take5_ops.sim import Burn, acquisition_dates, simulate_product
from take5_ops.sim.geometry import SensorModel, fit_rpc, locate
from take5_ops.sim.scene import CLOUD, OUTSIDE, SHADOW, Scene, plan
from take5_ops.sim.surface import CROP, Landscape
from take5_ops.sim.terrain import Terrain
from take5_ops.siteconfig import SiteConfig

BANDS = ("XS1", "XS2", "XS3", "SWIR")


def make_site(site_id: str, lon: float, lat: float, size: int = 700, aerosol: str = "CONT") -> SiteConfig:
    """A small site grid (``size`` px at 10 m) centred on lon, lat in its UTM zone."""
    zone = int((lon + 180) // 6) + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return SiteConfig.model_validate(dict(
        site_id=site_id, name=site_id, country="Testland", center=dict(lon=lon, lat=lat),
        grid=dict(epsg=epsg, ulx=round(x / 10) * 10 - size * 5, uly=round(y / 10) * 10 + size * 5,
                  width=size, height=size, resolution=10.0),
        cycle_day=3, first_acquisition="2015-04-10", aerosol_model=aerosol, sla=dict(contacts=["ops@example.org"])))


PORNIC = make_site("FrancePornic", -2.1, 47.1)
MOORREESBURG = make_site("SouthAfricaMoorreesburg", 18.66, -33.15, size=400)
SODANKYLA = make_site("FinlandSodankyla", 26.6, 67.4, size=400)
WHEN = datetime(2015, 6, 1, 10, 31, 7, tzinfo=UTC)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    folder = simulate_product(PORNIC, WHEN, root, size=600, cloud_cover=0.45)
    return root, folder


def to_toa(dn: np.ndarray, band, meta) -> np.ndarray:
    """Contract section 6."""
    d = 1 - 0.01672 * math.cos(math.radians(0.9856 * (meta.acquired.timetuple().tm_yday - 4)))
    radiance = dn / band.gain + band.bias
    return math.pi * radiance * d * d / (band.solar_irradiance * math.cos(math.radians(90 - meta.sun_elevation)))


# -- geometry -------------------------------------------------------------------------------------

@pytest.mark.parametrize("size,incidence,epsg,x0", [(600, 18.0, 32630, 503000.0), (6000, -25.0, 32635, 780000.0)])
def test_rpc_reproduces_the_exact_model(size, incidence, epsg, x0):
    model = SensorModel(epsg, size, x0, 7480000.0, 21.0, incidence)
    rpc = fit_rpc(model, 0.0, 2500.0)
    g = np.random.default_rng(0)
    line, sample, h = g.uniform(0, size - 1, (3, 20000)) * [[1], [1], [2500.0 / (size - 1)]]
    lon, lat = model.to_lonlat.transform(*model.ground(line, sample, h))
    rl, rs = rpc_image(rpc, lon, lat, h)
    assert max(np.abs(rl - line).max(), np.abs(rs - sample).max()) < 0.01
    assert rpc.line_den_coeff[0] == 1.0 and len(rpc.line_num_coeff) == 20


def test_parallax_moves_high_points_away_from_the_satellite():
    model = SensorModel(32630, 600, 500000.0, 5200000.0, 0.0, 20.0)  # up = north, satellite east
    line, sample = model.image(500000.0, 5200000.0, 1000.0)
    assert line == pytest.approx(299.5)
    assert sample == pytest.approx(299.5 - 1000.0 * math.tan(math.radians(20)) / 10.0)


def test_located_ground_points_hit_their_pixels(delivery, tmp_path):
    root, _ = delivery
    acq = plan(PORNIC, WHEN, 600)
    terrain = Terrain(root / "aux" / PORNIC.site_id / "DEM.tif")
    rpc = fit_rpc(acq.model, *terrain.range)
    line, sample = np.meshgrid(np.arange(0, 600, 37.0), np.arange(0, 600, 41.0))
    x, y, h = locate(acq.model, rpc, terrain, line, sample)
    np.testing.assert_allclose(h, terrain(x, y))
    rl, rs = rpc_image(rpc, *acq.model.to_lonlat.transform(x, y), h)
    assert np.abs(rl - line).max() < 1e-3 and np.abs(rs - sample).max() < 1e-3


def test_dem_covers_the_grid_with_margin(delivery):
    root, _ = delivery
    with rasterio.open(root / "aux" / PORNIC.site_id / "DEM.tif") as dem:
        assert dem.dtypes[0] == "float32" and dem.crs.to_epsg() == PORNIC.grid.epsg
        left, bottom, right, top = PORNIC.grid.bounds
        assert dem.bounds.left <= left - 2000 and dem.bounds.right >= right + 2000
        assert dem.bounds.bottom <= bottom - 2000 and dem.bounds.top >= top + 2000
        h = dem.read(1)
    assert 0.0 <= h.min() < h.max() < 2500.0 and h.std() > 5.0


# -- the delivery contract ------------------------------------------------------------------------

def test_delivery_follows_the_contract(delivery):
    _, folder = delivery
    pid = parse_product_id(folder.name)
    assert folder.parent.name == PORNIC.site_id == pid.site_id and pid.acquired == WHEN
    ok = json.loads((folder / "DELIVERY.OK").read_text(encoding="utf-8"))
    assert ok["product_id"] == folder.name and ok["site_id"] == PORNIC.site_id
    assert datetime.strptime(ok["delivered_at"], "%Y-%m-%dT%H:%M:%SZ") > WHEN.replace(tzinfo=None)
    listed = {f["name"] for f in ok["files"]}
    assert listed == {p.name for p in folder.iterdir()} - {"DELIVERY.OK"}
    assert {"METADATA.DIM", "IMAGERY.TIF"} <= listed
    for f in ok["files"]:
        data = (folder / f["name"]).read_bytes()
        assert len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"]
    assert (folder / "DELIVERY.OK").stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in folder.iterdir())

    meta = read_dimap((folder / "METADATA.DIM").read_bytes())
    assert (meta.ncols, meta.nrows, meta.acquired, meta.instrument) == (600, 600, WHEN, pid.instrument)
    assert meta.dataset_name.startswith("SCENE 5 ") and meta.dataset_name.endswith(f"{pid.instrument} J")
    assert 0 < meta.sun_elevation < 90 and abs(meta.incidence_angle) <= 27
    c = meta.center
    assert abs(c.lon - PORNIC.center.lon) < 0.05 and abs(c.lat - PORNIC.center.lat) < 0.05
    with rasterio.open(folder / "IMAGERY.TIF") as src:
        assert (src.count, src.dtypes[0], src.width, src.height) == (4, "uint8", 600, 600)
        assert src.transform.is_identity and src.crs is None and src.rpcs is not None
        by_index = {b.index: name for name, b in meta.bands.items()}
        assert [by_index[i] for i in range(1, 5)] == ["XS3", "XS2", "XS1", "SWIR"] == list(src.descriptions)
        dn = src.read()
        # the frame corners are where the RPC puts them
        for v in meta.vertices:
            line, sample = rpc_image(src.rpcs, v.lon, v.lat, 0.0)
            assert line + 1 == pytest.approx(v.row, abs=60) and sample + 1 == pytest.approx(v.col, abs=60)
    assert dn.min() >= 1  # DN 0 is "outside the scene": never inside
    assert (dn == 255).any()  # thick clouds saturate some pixels
    assert (dn == 255).mean() < 0.2
    clear_nir = dn[0][(dn < 255).all(0)]
    assert 5 < np.median(clear_nir) < 200


def test_same_arguments_give_the_same_bytes(tmp_path):
    a = simulate_product(SODANKYLA, WHEN, tmp_path / "a", size=128, truth=False)
    b = simulate_product(SODANKYLA, WHEN, tmp_path / "b", size=128, truth=False)
    for name in ("METADATA.DIM", "IMAGERY.TIF", "PREVIEW.JPG", "DELIVERY.OK"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    again = simulate_product(SODANKYLA, WHEN, tmp_path / "a", size=128, truth=False)
    assert (again / "DELIVERY.OK").read_bytes() == (b / "DELIVERY.OK").read_bytes()
    assert not (tmp_path / "a" / "truth").exists()


# -- orthorectification by GDAL matches the truth (the L1C acceptance criterion) -------------------

def test_gdal_orthorectification_matches_truth(delivery):
    root, folder = delivery
    grid = PORNIC.grid
    meta = read_dimap((folder / "METADATA.DIM").read_bytes())
    truth = root / "truth" / PORNIC.site_id / folder.name
    with rasterio.open(folder / "IMAGERY.TIF") as src:
        dn, rpcs, names = src.read().astype(np.float32), src.rpcs, src.descriptions
    ortho = np.full((4, grid.height, grid.width), np.nan, np.float32)
    for i, name in enumerate(names):
        k = BANDS.index(name)
        reproject(dn[i], ortho[k], rpcs=rpcs, src_crs="EPSG:4326", src_nodata=0, dst_nodata=np.nan,
                  dst_transform=Affine(*grid.transform), dst_crs=grid.crs, resampling=Resampling.bilinear,
                  RPC_DEM=str(root / "aux" / PORNIC.site_id / "DEM.tif"), tolerance=0)
        ortho[k] = to_toa(ortho[k], meta.bands[name], meta)
    with rasterio.open(truth / "toa.tif") as t:
        assert t.crs.to_epsg() == grid.epsg and t.transform == Affine(*grid.transform)
        assert list(t.descriptions) == list(BANDS)
        toa = t.read()
    with rasterio.open(truth / "mask.tif") as m:
        mask = m.read(1)
    inside = (mask & OUTSIDE) == 0
    assert np.isfinite(toa[:, inside]).all() and np.isnan(toa[:, ~inside]).all()
    assert 0.5 < inside.mean() < 1.0  # the rotated scene covers most of the grid, not its corners
    assert np.isfinite(ortho[:, inside]).all()  # GDAL covers everything the truth calls inside
    clear = inside & ((mask & (CLOUD | SHADOW)) == 0) & (toa[0] < 0.6)
    assert clear.mean() > 0.2
    for k in range(4):
        err = ortho[k][clear] - toa[k][clear]
        assert np.abs(err).mean() < 0.005, BANDS[k]
        assert abs(err.mean()) < 0.001, BANDS[k]
    # sub-pixel geolocation: least-squares shift between the two NIR images
    gy, gx = np.gradient(toa[2].astype(np.float64))
    sel = clear & np.isfinite(gx) & np.isfinite(gy)
    shift = np.linalg.lstsq(np.stack([gx[sel], gy[sel]], 1), (ortho[2] - toa[2])[sel], rcond=None)[0]
    assert np.hypot(*shift) < 0.3
    # and a deliberately shifted truth is detected as such (the check can fail)
    rolled = np.roll(toa[2], 1, axis=1)
    sel &= np.isfinite(rolled)
    moved = np.linalg.lstsq(np.stack([gx[sel], gy[sel]], 1), (rolled - toa[2])[sel], rcond=None)[0]
    assert abs(moved[0]) > 0.5


def test_truth_folder(delivery):
    root, folder = delivery
    truth = root / "truth" / PORNIC.site_id / folder.name
    info = json.loads((truth / "truth.json").read_text())
    assert info["product_id"] == folder.name and 0.03 <= info["aot550"] <= 0.8
    assert abs(info["cloud_cover"] - 0.45) < 0.2
    with rasterio.open(truth / "surface.tif") as s, rasterio.open(truth / "landcover.tif") as lc:
        surface, classes = s.read(), lc.read(1)
    assert np.isfinite(surface).all() and surface.min() > 0.0 and surface.max() < 1.0
    assert len(np.unique(classes)) >= 3 and set(np.unique(classes)) <= set(map(int, info["classes"]))
    water = classes == 1
    if water.any():  # water is dark in the NIR
        assert np.median(surface[2][water]) < 0.05 < np.median(surface[2][~water])


# -- physics --------------------------------------------------------------------------------------

def test_shadows_fall_opposite_the_sun_at_the_cloud_altitude(delivery):
    root, _ = delivery
    acq = dataclasses.replace(plan(PORNIC, WHEN, 600, cloud_cover=0.2), cloud_altitudes=(5000.0,))
    scene = Scene(acq, Terrain(root / "aux" / PORNIC.site_id / "DEM.tif"))
    g = PORNIC.grid
    x, y = np.meshgrid(g.ulx + 5 + 10 * np.arange(0, g.width, 2), g.uly - 5 - 10 * np.arange(0, g.height, 2))
    h = scene.terrain(x, y)
    line, sample = rpc_image(scene.rpc, *scene.model.to_lonlat.transform(x, y), h)
    mask = scene.evaluate(x, y, h, line, sample)["mask"]
    # where the cloud really is (vertical of the layer) vs where the image shows it (line of sight)
    layer = scene.layers[0]
    below = layer.opacity(x, y) >= 0.1
    seen = (mask & CLOUD) > 0
    shadow = (mask & SHADOW) > 0
    assert seen.mean() > 0.05 and shadow.mean() > 0.02
    dz = 5000.0 - h.mean()
    expected = -dz * np.array([scene.sun_dx, scene.sun_dy]) / 20.0  # pixels of 20 m, (x, y)

    def overlap(a, b, dx, dy):  # share of b covered by a moved by (dx, dy) pixels (x east, y north)
        moved = np.roll(np.roll(a, round(dx), axis=1), -round(dy), axis=0)
        return (moved & b).sum() / b.sum()

    assert np.hypot(*expected) > 5
    visible = shadow & ~seen
    assert overlap(below, visible, *expected) > 0.8  # the shadow is the cloud moved away from the sun
    assert overlap(below, visible, 0, 0) < overlap(below, visible, *expected) - 0.3
    # the cloud is seen displaced from its vertical, towards the satellite... by dz tan(view zenith)
    assert 0.5 < (below & seen).sum() / seen.sum() < 1.0 or acq.geometry.incidence == 0


def test_season_snow_crops_and_burns_at_high_latitude():
    land = Landscape(SODANKYLA)
    g = SODANKYLA.grid
    x, y = np.meshgrid(g.ulx + 10 * np.arange(0, g.width, 4), g.uly - 10 * np.arange(0, g.height, 4))
    h = np.full(x.shape, 200.0)
    spring, _, snow_s, _ = land.reflectance(x, y, h, date(2015, 4, 10))
    summer, cls, snow_j, _ = land.reflectance(x, y, h, date(2015, 7, 10))
    assert snow_s.mean() > 0.5 and not snow_j.any()
    assert np.mean(spring[0]) > 2 * np.mean(summer[0])  # snow is bright in the green
    assert np.mean(spring[3][snow_s]) < 0.15  # and dark in the SWIR
    cls2 = land.cells(x, y)[0]
    assert (cls == cls2).all()  # land cover is stable
    burn = Burn(date(2015, 7, 1), x.mean(), y.mean(), 800.0)
    before = land.reflectance(x, y, h, date(2015, 6, 26), [burn])[3]
    after = land.reflectance(x, y, h, date(2015, 7, 6), [burn])
    later = land.reflectance(x, y, h, date(2015, 8, 20), [burn])[3]
    assert not before.any() and after[3].any() and (later == after[3]).all()
    burnt = after[3]
    assert np.mean(after[0][2][burnt]) < np.mean(summer[2][burnt])  # burnt vegetation loses its NIR


def test_crops_follow_the_hemisphere():
    def crop_ndvi(site, day):
        land = Landscape(site)
        g = site.grid
        x, y = np.meshgrid(g.ulx + 10 * np.arange(0, g.width, 3), g.uly - 10 * np.arange(0, g.height, 3))
        rho, cls, _, _ = land.reflectance(x, y, np.zeros(x.shape), day)
        crop = cls == CROP
        assert crop.mean() > 0.05
        nir, red = rho[2][crop], rho[1][crop]
        return np.mean((nir - red) / (nir + red))

    assert crop_ndvi(PORNIC, date(2015, 6, 15)) > crop_ndvi(PORNIC, date(2015, 12, 15)) + 0.1
    assert crop_ndvi(MOORREESBURG, date(2015, 12, 15)) > crop_ndvi(MOORREESBURG, date(2015, 6, 15)) + 0.1


def test_acquisition_dates_follow_the_cycle_and_the_sun():
    dates = acquisition_dates(PORNIC, date(2015, 4, 1), date(2015, 5, 31))
    assert len(dates) == 12 and all(d.tzinfo == UTC for d in dates)
    assert all((b - a).days == 5 for a, b in itertools.pairwise(dates))
    assert all((d.date() - PORNIC.first_acquisition).days % 5 == 0 for d in dates)
    assert dates[1].date() == PORNIC.first_acquisition
    assert len({d.time() for d in dates}) == 1  # sun-synchronous: same time every pass
    local = dates[0].hour + dates[0].minute / 60 + PORNIC.center.lon / 15
    assert 10.3 < local < 10.7
    south = plan(MOORREESBURG, acquisition_dates(MOORREESBURG, date(2015, 6, 1), date(2015, 6, 6))[0], 64)
    assert 0 < south.sun_azimuth < 90  # morning sun in the north-east
    north = plan(PORNIC, dates[0], 64)
    assert 90 < north.sun_azimuth < 180
    assert south.sun_zenith > north.sun_zenith  # southern winter


def test_cli_simulates_a_small_campaign(tmp_path, capsys):
    from take5_ops.cli import main

    config = tmp_path / f"{SODANKYLA.site_id}.yaml"
    config.write_text(yaml.safe_dump(SODANKYLA.model_dump(mode="json")))
    rc = main(["simulate", "--site-config", str(config), "--start", "2015-06-01", "--end", "2015-06-12",
               "--size", "64", "--out", str(tmp_path / "out"), "--no-truth"])
    assert rc == 0
    folders = sorted((tmp_path / "out" / "l1a" / SODANKYLA.site_id).iterdir())
    expected = acquisition_dates(SODANKYLA, date(2015, 6, 1), date(2015, 6, 12))
    assert [parse_product_id(f.name).acquired for f in folders] == expected
    assert all((f / "DELIVERY.OK").is_file() for f in folders)
    assert (tmp_path / "out" / "aux" / SODANKYLA.site_id / "DEM.tif").is_file()
    assert not (tmp_path / "out" / "truth").exists()
    assert main(["simulate", "--site-config", str(config), "--start", "2015-06-12", "--end", "2015-06-01",
                 "--out", str(tmp_path / "x")]) == 1
