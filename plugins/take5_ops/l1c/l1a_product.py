"""The L1A as distributed: a delivery repackaged as a product, with a footprint from its RPCs.

The files are the delivery's own bytes under MUSCATE-style names
(``<NAME>_IMAGERY.TIF``, ``<NAME>_METADATA.DIM``, ``<NAME>_PREVIEW.JPG`` when
delivered); the footprint is the outline of the image (pixel edges) projected
to the ground through the RPCs (:func:`rpc_ground`, at the RPCs' mean height
``HEIGHT_OFF``), made a polygon by :func:`take5_ops.l1c.footprint.footprint`
on the site grid. No projection (raw sensor geometry): no ``proj:*`` property.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.rpc import RPC
from rasterio.transform import Affine

from take5_ops.l1a.delivery import IMAGERY, METADATA, PREVIEW
from take5_ops.l1c.footprint import footprint
from take5_ops.l1c.metadata import stac_properties
from take5_ops.l1c.processor import read_l1a
from take5_ops.l1c.reading import reading
from take5_ops.l1c.rpc import rpc_image
from take5_ops.products.product import Product, ProductFile, write_folder
from take5_ops.siteconfig import SiteConfig

EDGE_POINTS = 32  # points per image edge
NEWTON_STEPS = 20
DELTA_DEG = 1e-5  # finite-difference step of the Jacobian (degrees)
# file of the delivery -> (suffix, asset key, media type, roles, title)
FILES = {
    IMAGERY: ("IMAGERY.TIF", "IMAGERY", "image/tiff; application=geotiff", ("data",),
              "L1A imagery: DN of the 4 bands in raw sensor geometry, RPCs in the TIFF"),
    METADATA: ("METADATA.DIM", "metadata", "application/xml", ("metadata",), "DIMAP metadata (SPOTSCENE_1A)"),
    PREVIEW: ("PREVIEW.JPG", "thumbnail", "image/jpeg", ("thumbnail", "overview"), "preview of the producer"),
}


def rpc_ground(rpc: RPC, line, sample, height: float) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of image points (line, sample; RPC convention, 0 = centre of the first pixel) at ``height``:
    the RPC model (:func:`rpc_image`) inverted by Newton's method."""
    line, sample = np.asarray(line, np.float64), np.asarray(sample, np.float64)
    lon = np.full(line.shape, rpc.long_off, np.float64)
    lat = np.full(line.shape, rpc.lat_off, np.float64)
    for _ in range(NEWTON_STEPS):
        l0, s0 = rpc_image(rpc, lon, lat, height)
        l1, s1 = rpc_image(rpc, lon + DELTA_DEG, lat, height)
        l2, s2 = rpc_image(rpc, lon, lat + DELTA_DEG, height)
        a, b = (l1 - l0) / DELTA_DEG, (l2 - l0) / DELTA_DEG  # d line / d lon, d line / d lat
        c, d = (s1 - s0) / DELTA_DEG, (s2 - s0) / DELTA_DEG
        dl, ds = line - l0, sample - s0
        det = a * d - b * c
        step_lon, step_lat = (d * dl - b * ds) / det, (a * ds - c * dl) / det
        lon, lat = lon + step_lon, lat + step_lat
        if max(np.abs(step_lon).max(), np.abs(step_lat).max()) < 1e-10:
            break
    return lon, lat


def image_outline(rpc: RPC, nrows: int, ncols: int) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of :data:`EDGE_POINTS` points along each edge of the image (pixel edges)."""
    t = np.linspace(0.0, 1.0, EDGE_POINTS, endpoint=False)
    top, bottom, left, right = -0.5, nrows - 0.5, -0.5, ncols - 0.5
    lines = np.concatenate([np.full_like(t, top), top + t * nrows, np.full_like(t, bottom), bottom - t * nrows])
    samples = np.concatenate([left + t * ncols, np.full_like(t, right), right - t * ncols, np.full_like(t, left)])
    return rpc_ground(rpc, lines, samples, rpc.height_off)


def rpc_footprint(rpc: RPC, nrows: int, ncols: int, site: SiteConfig) -> tuple[dict, list[float]]:
    """GeoJSON polygon and bbox of the image's ground outline, simplified on the site grid's pixels."""
    g = site.grid
    lon, lat = image_outline(rpc, nrows, ncols)
    x, y = Transformer.from_crs("EPSG:4326", g.crs, always_xy=True).transform(lon, lat)
    col, row = ~Affine(*g.transform) @ (x, y)
    return footprint(np.column_stack([col, row]), g.transform, g.crs)


def make_l1a_product(l1a_dir: Path, site: SiteConfig, out_root: Path, *,
                     delivered_at: datetime | None = None) -> Product:
    """The L1A product of the delivery in ``l1a_dir`` (validated as by the L1C); writes ``out_root/<NAME>/``."""
    l1a_dir = Path(l1a_dir)
    pid, meta = read_l1a(l1a_dir, site.site_id)
    with reading(l1a_dir / IMAGERY, "cannot open as a GeoTIFF"), rasterio.open(l1a_dir / IMAGERY) as src:
        rpc = src.rpcs
    geometry, bbox = rpc_footprint(rpc, meta.nrows, meta.ncols, site)
    name = pid.product_name("L1A")
    properties = {k: v for k, v in stac_properties(pid, meta, site, geometry, bbox, delivered_at).items()
                  if not k.startswith("proj:") and k != "gsd"}

    def build(folder: Path) -> Product:
        files = []
        for source, (suffix, asset, media_type, roles, title) in FILES.items():
            if (l1a_dir / source).is_file():
                shutil.copyfile(l1a_dir / source, folder / f"{name}_{suffix}")
                files.append(ProductFile.from_path(folder / f"{name}_{suffix}", asset, media_type, roles, title))
        product = Product(name, "L1A", site.site_id, str(pid), meta.acquired, files, properties)
        product.write_manifest(folder)
        return product

    return write_folder(out_root, name, build)
