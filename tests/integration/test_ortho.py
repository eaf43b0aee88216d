"""The numpy orthorectification against GDAL: its RPC transformer (geometry) and its exact warp (pixels)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.transform import Affine, RPCTransformer
from rasterio.warp import reproject

from helpers.l1c_cases import ACQUIRED, phase_shift, small_site
from take5_ops.l1a.metadata import BANDS, read_dimap
from take5_ops.l1c.ortho import NODATA_FLAG, Geometry, Heights, SourceRows, resample, warp_strips
from take5_ops.l1c.rpc import rpc_image

sim = pytest.importorskip("take5_ops.sim")

SIZE = 400


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A simulated 400 x 400 L1A on the 560 x 560 test grid, and a rugged DEM (0 - 1500 m, 1 km detail)."""
    root = tmp_path_factory.mktemp("ortho")
    site = small_site()
    folder = sim.simulate_product(site, ACQUIRED, root / "sim", size=SIZE, cloud_cover=0.3, preview=False)
    g = site.grid
    left, bottom, right, top = g.bounds
    res = 20.0
    width, height = int((right - left) / res) + 200, int((top - bottom) / res) + 200
    transform = Affine(res, 0, left - 100 * res, 0, -res, top + 100 * res)
    x = transform.c + (np.arange(width) + 0.5) * res
    y = transform.f - (np.arange(height) + 0.5) * res
    xx, yy = np.meshgrid(x - left, y - bottom)
    h = 700 + 600 * np.sin(xx / 2100) * np.cos(yy / 1700) + 150 * np.sin(xx / 170 + yy / 230)
    dem = root / "DEM.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs=g.crs, transform=transform) as dst:
        dst.write(h.astype(np.float32), 1)
    meta = read_dimap((folder / "METADATA.DIM").read_bytes())
    with rasterio.open(folder / "IMAGERY.TIF") as src:
        rpcs = src.rpcs
    return {"site": site, "imagery": folder / "IMAGERY.TIF", "dem": dem, "rpcs": rpcs,
            "band_index": {b: meta.bands[b].index for b in BANDS}}


def gdal_image(rpcs, dem, crs, lon_lat_of, rows, cols, transform):
    """GDAL's exact (line, sample) of grid pixel centres, in the RPC convention (0 = first pixel's centre)."""
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    lon, lat = lon_lat_of.transform(xs, ys)
    with RPCTransformer(rpcs, RPC_DEM=str(dem)) as tr:
        line, sample = tr.rowcol(lon, lat, op=lambda v: np.asarray(v, dtype=float))
    return np.asarray(line) - 0.5, np.asarray(sample) - 0.5  # GDAL's pixel/line has 0 at the corner


def test_rpc_image_is_gdals_model(scene):
    rpcs = scene["rpcs"]
    rng = np.random.default_rng(1)
    lon = rpcs.long_off + rpcs.long_scale * rng.uniform(-1, 1, 200)
    lat = rpcs.lat_off + rpcs.lat_scale * rng.uniform(-1, 1, 200)
    for h in (-50.0, 800.0):
        line, sample = rpc_image(rpcs, lon, lat, h)
        with RPCTransformer(rpcs, RPC_HEIGHT=h) as tr:
            gl, gs = tr.rowcol(lon, lat, op=lambda v: np.asarray(v, dtype=float))
        assert np.abs(line - (np.asarray(gl) - 0.5)).max() < 1e-6
        assert np.abs(sample - (np.asarray(gs) - 0.5)).max() < 1e-6


def test_heights_are_gdals_bilinear(scene):
    g = scene["site"].grid
    grid = Affine(*g.transform)
    ours = np.empty((100, g.width), np.float32)
    ref = np.full_like(ours, np.nan)
    with rasterio.open(scene["dem"]) as dem:
        Heights(dem, g.crs, grid, g.width).read(230, ours)
        reproject(rasterio.band(dem, 1), ref, dst_crs=g.crs, dst_transform=grid @ Affine.translation(0, 230),
                  resampling=Resampling.bilinear, dst_nodata=np.nan)
    assert np.isfinite(ours).all() and np.ptp(ours) > 500
    assert np.abs(ours - ref).max() < 1e-3


def test_lattice_geometry_within_a_hundredth_of_a_pixel(scene):
    """The lattice + quadratic-in-height model against GDAL's exact RPC + DEM transformer, per pixel."""
    g = scene["site"].grid
    grid = Affine(*g.transform)
    geometry = Geometry(scene["rpcs"], g.crs, grid)
    h = np.empty((g.height, g.width), np.float32)
    with rasterio.open(scene["dem"]) as dem:
        Heights(dem, g.crs, grid, g.width).read(0, h)
    line, sample = geometry.image(0, h)
    rng = np.random.default_rng(2)
    rows, cols = rng.integers(0, g.height, 3000), rng.integers(0, g.width, 3000)
    to_lonlat = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True)
    gl, gs = gdal_image(scene["rpcs"], scene["dem"], g.crs, to_lonlat, rows, cols, grid)
    err = np.hypot(line[rows, cols] - gl, sample[rows, cols] - gs)
    assert err.max() < 0.01, err.max()
    # the relief matters: a model ignoring it would be off by pixels
    flat = geometry.image(0, np.full_like(h, float(h.mean())))[1]
    assert np.abs(flat[rows, cols] - gs).max() > 2


def test_resample_bilinear_and_flags():
    """A 3 x 4 image: exact values on pixel centres, bilinear in between, flags from positive weights only."""
    dn = np.zeros((4, 3, 4), np.uint8)
    dn[0] = [[10, 20, 30, 40], [50, 60, 70, 80], [90, 100, 110, 255]]
    dn[1] = 7
    dn[2] = [[0, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]  # a 0 in XS3 is not no-data
    dn[3] = 200

    class Src:  # the two things SourceRows reads from a rasterio dataset
        width, height = 4, 3

        def read(self, indexes, window, out):
            out[:] = dn[[i - 1 for i in indexes]][:, window.row_off:window.row_off + window.height]

    buf = SourceRows([Src()], [1, 2, 3, 4]).rows(0, 3)
    line = np.array([0.0, 1.0, 0.5, 0.25, 1.0, 1.5, 2.0, 2.0], np.float32)
    sample = np.array([0.0, 2.0, 0.5, 1.0, 2.0, 2.5, 2.5, 3.0], np.float32)
    out = np.empty((4, len(line)), np.float32)
    flags = resample(buf, 0, (3, 4), line.copy(), sample.copy(), out)
    expected = [10, 70, 35, 30, 70, (70 + 80 + 110 + 255) / 4, (110 + 255) / 2, 255]
    assert out[0] == pytest.approx(expected, abs=1e-4)
    assert (out[1] == 7).all() and (out[3] == 200).all()
    assert out[2][2] == pytest.approx(0.75)
    sat0 = (flags & 1) != 0
    assert sat0.tolist() == [False, False, False, False, False, True, True, True]
    assert not (flags & NODATA_FLAG).any()
    # XS1 DN 0 (no-data) flags the pixels it contributes to, not the others
    dn[0, 0, 0] = 0
    buf = SourceRows([Src()], [1, 2, 3, 4]).rows(0, 3)
    flags = resample(buf, 0, (3, 4), line.copy(), sample.copy(), out)
    assert ((flags & NODATA_FLAG) != 0).tolist() == [True, False, True, False, False, False, False, False]


def warp(scene, **kw) -> dict[str, np.ndarray]:
    g = scene["site"].grid
    parts = {"dn": [], "saturated": [], "valid": []}
    for strip in warp_strips(scene["imagery"], scene["band_index"], scene["dem"], g.crs, g.transform,
                             (g.height, g.width), **kw):
        for key, arrays in parts.items():
            arrays.append(getattr(strip, key).copy())  # the strip's arrays are reused
    return {"dn": np.concatenate(parts["dn"], axis=1), "saturated": np.concatenate(parts["saturated"], axis=1),
            "valid": np.concatenate(parts["valid"])}


@pytest.fixture(scope="module")
def ours(scene):
    return warp(scene, strip_rows=96)


def test_warp_matches_gdal_exact_warp(scene, ours):
    g = scene["site"].grid
    ref = np.zeros((4, g.height, g.width), np.float32)
    with rasterio.open(scene["imagery"]) as src:
        reproject(rasterio.band(src, [scene["band_index"][b] for b in BANDS]), ref, rpcs=src.rpcs,
                  dst_crs=g.crs, dst_transform=Affine(*g.transform), resampling=Resampling.bilinear,
                  RPC_DEM=str(scene["dem"]), INIT_DEST=0, XSCALE=1, YSCALE=1)
    gdal_valid = ref[0] > 0
    assert 0.3 < ours["valid"].mean() < 0.9
    assert (ours["valid"] != gdal_valid).mean() < 1e-3
    both = ours["valid"] & gdal_valid
    diff = np.abs(ours["dn"][:, both] - ref[:, both])
    assert diff.mean() < 0.05 and np.percentile(diff, 99.9) < 0.5, (diff.mean(), np.percentile(diff, 99.9))
    rows, cols = np.nonzero(both)
    r, c = int(rows.mean()) - 80, int(cols.mean()) - 80
    box = (slice(r, r + 160), slice(c, c + 160))  # inside the scene
    assert both[box].all()
    for k in range(len(BANDS)):
        dy, dx = phase_shift(ref[k][box], ours["dn"][k][box])
        assert abs(dy) < 0.02 and abs(dx) < 0.02, (BANDS[k], dy, dx)
    # saturation: a grid pixel whose GDAL-resampled DN is 255 has only saturated neighbours
    for k in range(len(BANDS)):
        assert ours["saturated"][k][both & (ref[k] > 254.999)].all()


def test_warp_threads_and_strips(scene, ours):
    """Threads change nothing; other strips change the lattice fit only (per-strip height range)."""
    one_thread = warp(scene, strip_rows=96, threads=1)
    for key in ours:
        assert np.array_equal(ours[key], one_thread[key]), key
    other = warp(scene, strip_rows=256)
    assert (ours["valid"] != other["valid"]).sum() <= 10
    both = ours["valid"] & other["valid"]
    assert np.abs(ours["dn"][:, both] - other["dn"][:, both]).max() < 0.05
