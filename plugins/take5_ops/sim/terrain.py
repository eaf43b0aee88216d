"""The site DEM: smooth synthetic relief written as ``aux/<SITE_ID>/DEM.tif``, and read back.

Heights are metres above the WGS84 ellipsoid, deterministic from the site id.
The simulation reads the DEM raster back and interpolates it bilinearly
between pixel centres, as GDAL's RPC transformer does, so that the L1C sees
exactly the heights the simulator used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import Affine

from take5_ops.sim.fields import SmoothNoise, rng, seed_of
from take5_ops.siteconfig import SiteConfig

RESOLUTION = 30.0
MARGIN = 4000.0  # metres around the site grid (the contract asks for >= 2 km)


def relief(site: SiteConfig):
    """The analytic height function h(x, y) of ``site`` (metres)."""
    g = rng("relief", site.site_id)
    mountainous = g.random() < 0.3 or "mountain" in site.tags
    base = g.uniform(0.0, 400.0)
    amplitude = g.uniform(600.0, 1400.0) if mountainous else g.uniform(60.0, 350.0)
    left, bottom, right, top = site.grid.bounds
    origin = ((left + right) / 2.0, (bottom + top) / 2.0)
    hills = SmoothNoise(seed_of("hills", site.site_id), 2500.0, 30000.0, waves=10, origin=origin)
    detail = SmoothNoise(seed_of("detail", site.site_id), 600.0, 2500.0, waves=6, origin=origin)

    def height(x, y):
        n = hills(x, y) + 0.15 * detail(x, y)
        return base + amplitude * (0.5 + 0.5 * np.tanh(0.8 * n))

    return height


def write_dem(site: SiteConfig, path: Path) -> Path:
    """Write the DEM of ``site`` (float32 GeoTIFF, site UTM, 30 m, grid + 4 km); return ``path``."""
    left, bottom, right, top = site.grid.bounds
    left = np.floor((left - MARGIN) / RESOLUTION) * RESOLUTION
    top = np.ceil((top + MARGIN) / RESOLUTION) * RESOLUTION
    width = int(np.ceil((right + MARGIN - left) / RESOLUTION))
    height = int(np.ceil((top - bottom + MARGIN) / RESOLUTION))
    transform = Affine(RESOLUTION, 0.0, left, 0.0, -RESOLUTION, top)
    h = relief(site)
    xs = left + (np.arange(width) + 0.5) * RESOLUTION
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with rasterio.open(tmp, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs=site.grid.crs, transform=transform, compress="deflate", predictor=3,
                       tiled=True, blockxsize=256, blockysize=256) as dst:
        for row0 in range(0, height, 256):
            rows = np.arange(row0, min(row0 + 256, height))
            ys = top - (rows + 0.5) * RESOLUTION
            block = h(xs[None, :], ys[:, None]).astype(np.float32)
            dst.write(block, 1, window=((row0, row0 + len(rows)), (0, width)))
        dst.set_band_description(1, "height above the WGS84 ellipsoid (m)")
    tmp.replace(path)
    return path


class Terrain:
    """A DEM raster in memory with GDAL-like bilinear interpolation (edges clamped)."""

    def __init__(self, path: Path):
        with rasterio.open(path) as src:
            self.data = src.read(1).astype(np.float64)
            self.transform = src.transform
            self.epsg = src.crs.to_epsg()
        self.inverse = ~self.transform

    @property
    def range(self) -> tuple[float, float]:
        return float(self.data.min()), float(self.data.max())

    def __call__(self, x, y) -> np.ndarray:
        """Height at UTM (x, y), bilinear between pixel centres."""
        a, b, c, d, e, f = self.inverse[:6]
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        col, row = a * x + b * y + c, d * x + e * y + f
        ny, nx = self.data.shape
        col = np.clip(col - 0.5, 0.0, nx - 1.0)
        row = np.clip(row - 0.5, 0.0, ny - 1.0)
        c0 = np.minimum(col.astype(np.int64), nx - 2)
        r0 = np.minimum(row.astype(np.int64), ny - 2)
        fc, fr = col - c0, row - r0
        d = self.data
        top = d[r0, c0] * (1 - fc) + d[r0, c0 + 1] * fc
        bottom = d[r0 + 1, c0] * (1 - fc) + d[r0 + 1, c0 + 1] * fc
        return top * (1 - fr) + bottom * fr
