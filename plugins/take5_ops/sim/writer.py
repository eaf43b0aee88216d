"""Files of a simulated delivery (contract sections 2-5) and of its truth folder.

Everything is written block by block (bounded memory), to a temporary name
then renamed, and ``DELIVERY.OK`` last.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

from take5_ops import smac
from take5_ops.l1a.metadata import BandInfo, FramePoint, L1AMetadata, write_dimap
from take5_ops.l1c.rpc import rpc_image
from take5_ops.naming import ProductId
from take5_ops.sim.scene import OUTSIDE, Scene
from take5_ops.sim.surface import BANDS, CLASSES, Burn
from take5_ops.storage import sha256_file

FILE_ORDER = ("XS3", "XS2", "XS1", "SWIR")  # as real deliveries
BLOCK = 256  # rows per block


def _replace(tmp: Path, path: Path) -> None:
    tmp.replace(path)
    aux = tmp.with_name(tmp.name + ".aux.xml")
    if aux.exists():
        aux.unlink()


def _open_raw(path: Path, **profile):
    """Open a raster without geotransform for writing (raw sensor geometry, on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path, "w", **profile)


def grid_reference(lon: float, lat: float) -> tuple[int, int]:
    """A plausible SPOT GRS (K, J) for a scene centre."""
    return 1 + int((lon + 180.0) / 360.0 * 998.0), round(400.0 - 3.0 * lat)


def metadata(scene: Scene) -> L1AMetadata:
    """The ``METADATA.DIM`` content of ``scene``; frame rows and columns are 1-based (DIMAP)."""
    a, n = scene.acq, scene.acq.size
    rows = np.array([0.0, 0.0, n - 1.0, n - 1.0, (n - 1) / 2.0])
    cols = np.array([0.0, n - 1.0, n - 1.0, 0.0, (n - 1) / 2.0])
    x, y, _ = scene.locate(rows, cols)
    lon, lat = scene.model.to_lonlat.transform(x, y)
    points = [FramePoint(round(float(lo), 7), round(float(la), 7), float(r + 1), float(c + 1))
              for lo, la, r, c in zip(lon, lat, rows, cols)]
    k, j = grid_reference(points[4].lon, points[4].lat)
    t = a.acquired
    bands = {b: BandInfo(FILE_ORDER.index(b) + 1, b, "W/m2/sr/um", a.gains[b], 0.0, a.esun[b]) for b in BANDS}
    return L1AMetadata(
        dataset_name=f"SCENE 5 {k:03d}-{j:03d}/0 {t:%y/%m/%d %H:%M:%S} {a.geometry.instrument} J",
        vertices=tuple(points[:4]), center=points[4], orientation=a.geometry.orientation, ncols=n, nrows=n,
        grid_reference=f"{k:03d}{j:03d}", shift_value=0, acquired=t, instrument=a.geometry.instrument,
        incidence_angle=a.geometry.incidence, viewing_angle=round(abs(a.geometry.incidence) * 0.9, 3),
        sun_azimuth=a.sun_azimuth, sun_elevation=round(90.0 - a.sun_zenith, 4), bands=bands)


def write_metadata(scene: Scene, path: Path) -> None:
    """``METADATA.DIM`` through :func:`take5_ops.l1a.metadata.write_dimap`."""
    path.write_bytes(write_dimap(metadata(scene), FILE_ORDER))


def write_imagery(scene: Scene, path: Path) -> None:
    """``IMAGERY.TIF``: uint8, bands XS3, XS2, XS1, SWIR, no geotransform, the RPCs."""
    n = scene.acq.size
    tmp = path.with_name(path.name + ".tmp")
    profile = dict(driver="GTiff", width=n, height=n, count=4, dtype="uint8", compress="deflate",
                   interleave="band")
    order = [BANDS.index(b) for b in FILE_ORDER]
    with _open_raw(tmp, **profile) as dst:
        dst.rpcs = scene.rpc
        for i, b in enumerate(FILE_ORDER, start=1):
            dst.set_band_description(i, b)
        samples = np.arange(n, dtype=np.float64)[None, :]
        for r0 in range(0, n, BLOCK):
            lines = np.arange(r0, min(r0 + BLOCK, n), dtype=np.float64)[:, None]
            lines, smp = np.broadcast_arrays(lines, samples)
            x, y, h = scene.locate(lines, smp)
            truth = scene.evaluate(x, y, h, lines, smp)
            dn = scene.digital_numbers(truth["toa"])[order]
            dst.write(dn, window=((r0, r0 + lines.shape[0]), (0, n)))
    _replace(tmp, path)


def write_preview(imagery: Path, path: Path, size: int = 256) -> None:
    """``PREVIEW.JPG``: a small XS3/XS2/XS1 false-colour quicklook."""
    with rasterio.open(imagery) as src:
        step = max(1, src.width // size)
        data = src.read((1, 2, 3), out_shape=(3, src.height // step, src.width // step))
    tmp = path.with_name(path.name + ".tmp")
    with _open_raw(tmp, driver="JPEG", width=data.shape[2], height=data.shape[1], count=3, dtype="uint8",
                   quality=80) as dst:
        dst.write(data)
    _replace(tmp, path)


def write_delivery_ok(folder: Path, product_id: ProductId, delivered_at: datetime) -> Path:
    """``DELIVERY.OK`` (contract section 2) listing every file of ``folder``."""
    files = [{"name": name, "size": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
             for name in ("METADATA.DIM", "IMAGERY.TIF", "PREVIEW.JPG") if (folder / name).is_file()]
    doc = {"product_id": str(product_id), "site_id": product_id.site_id,
           "delivered_at": delivered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "files": files}
    path = folder / "DELIVERY.OK"
    tmp = folder / "DELIVERY.OK.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def write_truth(scene: Scene, folder: Path) -> None:
    """``toa.tif``, ``surface.tif``, ``mask.tif``, ``landcover.tif`` on the site grid, and ``truth.json``."""
    a, grid = scene.acq, scene.acq.site.grid
    folder.mkdir(parents=True, exist_ok=True)
    base = dict(driver="GTiff", width=grid.width, height=grid.height, crs=grid.crs,
                transform=Affine(*grid.transform), compress="deflate", tiled=True, blockxsize=256, blockysize=256)
    specs = {"toa": dict(count=4, dtype="float32", nodata=float("nan"), predictor=3),
             "surface": dict(count=4, dtype="float32", predictor=3),
             "mask": dict(count=1, dtype="uint8"), "landcover": dict(count=1, dtype="uint8")}
    tmps = {k: folder / f"{k}.tif.tmp" for k in specs}
    outs = {k: rasterio.open(tmps[k], "w", **base, **v) for k, v in specs.items()}
    stats = {"inside": 0, "cloud": 0, "heights": []}
    try:
        for k in ("toa", "surface"):
            for i, b in enumerate(BANDS, start=1):
                outs[k].set_band_description(i, b)
        xs = grid.ulx + (np.arange(grid.width) + 0.5) * grid.resolution
        for r0 in range(0, grid.height, BLOCK):
            rows = np.arange(r0, min(r0 + BLOCK, grid.height))
            x, y = np.broadcast_arrays(xs[None, :], (grid.uly - (rows + 0.5) * grid.resolution)[:, None])
            h = scene.terrain(x, y)
            lon, lat = scene.model.to_lonlat.transform(x, y)
            line, sample = rpc_image(scene.rpc, lon, lat, h)
            t = scene.evaluate(x, y, h, line, sample)
            n = a.size - 1
            outside = (line < 0) | (line > n) | (sample < 0) | (sample > n)
            t["toa"][:, outside] = np.nan
            t["mask"][outside] |= OUTSIDE
            window = ((r0, r0 + len(rows)), (0, grid.width))
            outs["toa"].write(t["toa"].astype(np.float32), window=window)
            outs["surface"].write(t["surface"].astype(np.float32), window=window)
            outs["mask"].write(t["mask"], 1, window=window)
            outs["landcover"].write(t["landcover"], 1, window=window)
            stats["inside"] += int((~outside).sum())
            stats["cloud"] += int(((t["mask"] & 1) > 0)[~outside].sum())
            stats["heights"].append((float(h.min()), float(h.max())))
    finally:
        for f in outs.values():
            f.close()
    for k in specs:
        _replace(tmps[k], folder / f"{k}.tif")
    h_lo = min(lo for lo, _ in stats["heights"])
    h_hi = max(hi for _, hi in stats["heights"])
    doc = {
        "product_id": str(ProductId(a.acquired, a.geometry.instrument, a.site.site_id)),
        "aot550": a.aot, "water_vapour": a.water_vapour, "ozone": a.ozone, "aerosol_model": a.site.aerosol_model,
        "pressure_hpa": {"min": round(float(smac.pressure(h_hi)), 3), "max": round(float(smac.pressure(h_lo)), 3)},
        "sun_zenith": a.sun_zenith, "sun_azimuth": a.sun_azimuth, "view_zenith": abs(a.geometry.incidence),
        "view_azimuth": a.view_azimuth, "scene_orientation": a.geometry.orientation,
        "incidence_angle": a.geometry.incidence, "earth_sun_distance": a.distance,
        "cloud_altitudes": list(a.cloud_altitudes), "cloud_cover_requested": a.cloud_cover,
        "cloud_cover": round(stats["cloud"] / max(stats["inside"], 1), 4),
        "scene_centre_utm": [a.model.x0, a.model.y0], "gains": a.gains,
        "classes": {str(k): v for k, v in CLASSES.items()},
        "mask_bits": {"1": "cloud (smoke included)", "2": "cloud shadow", "4": "water", "8": "snow", "16": "burnt",
                      "32": "outside scene", "64": "harvested", "128": "smoke"},
        "bands": list(BANDS),
        "burns": [{"start": b.start.isoformat(), "x": b.x, "y": b.y, "radius": b.radius} for b in scene.events
                  if isinstance(b, Burn)],
    }
    (folder / "truth.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
