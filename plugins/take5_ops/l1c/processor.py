"""The L1C processor: an L1A delivery -> orthorectified TOA reflectance product.

:func:`process_l1c` validates the L1A (``METADATA.DIM`` + ``IMAGERY.TIF``),
orthorectifies it strip by strip onto the site grid (:mod:`take5_ops.l1c.ortho`),
converts DN to TOA reflectance (:mod:`take5_ops.l1c.radiometry`) and writes the
product folder described in ``docs/product-format.md``: one COG per band,
the SAT and EDG masks, a quicklook, ``_MTD.json`` and ``manifest.json``.
The folder is built aside and moved into place at the end, so a failed run
leaves nothing half written; the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.windows import Window

from take5_ops.errors import L1CError, TiffStructureError
from take5_ops.l1a.metadata import BANDS, L1AMetadata, MetadataError, read_dimap
from take5_ops.l1a.tiff import check_tiff
from take5_ops.l1c.footprint import footprint, row_extremes
from take5_ops.l1c.metadata import (
    dump_metadata,
    product_metadata,
    stac_properties,
)
from take5_ops.l1c.ortho import warp_strips
from take5_ops.l1c.radiometry import calibration, encode_toa
from take5_ops.l1c.reading import reading
from take5_ops.naming import ProductId, match_product_id, parse_product_id
from take5_ops.products import cog
from take5_ops.products.gdal import local_env
from take5_ops.products.product import (
    REFLECTANCE_NODATA,
    REFLECTANCE_SCALE,
    Product,
    ProductFile,
    write_folder,
)
from take5_ops.products.quicklook import write_quicklook
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import sha256_file

STRIP_ROWS = 512
RESAMPLING = Resampling.bilinear

Progress = Callable[[float, str], None]


def read_l1a(l1a_dir: Path, site_id: str) -> tuple[ProductId, L1AMetadata]:
    """Validate an L1A folder (``METADATA.DIM``, ``IMAGERY.TIF``) of site ``site_id``."""
    l1a_dir = Path(l1a_dir)
    dim = l1a_dir / "METADATA.DIM"
    try:
        with reading(dim, "cannot read"):
            meta = read_dimap(dim.read_bytes(), str(dim))
    except MetadataError as exc:
        raise L1CError(str(exc)) from None
    pid = ProductId(meta.acquired, meta.instrument, site_id)
    if match_product_id(l1a_dir.name) and parse_product_id(l1a_dir.name) != pid:
        raise L1CError(f"{dim}: IMAGING_DATE/IMAGING_TIME/INSTRUMENT_INDEX give {pid}, "
                       f"but the folder is {l1a_dir.name}")
    imagery = l1a_dir / "IMAGERY.TIF"
    try:
        check_tiff(imagery, meta.ncols, meta.nrows, str(imagery))
    except TiffStructureError as exc:
        raise L1CError(str(exc)) from None
    with reading(imagery, "cannot open as a GeoTIFF"), rasterio.open(imagery) as src:
        rpcs = src.rpcs
    if rpcs is None:
        raise L1CError(f"{imagery}: no RPC metadata")
    return pid, meta


def check_dem(dem_path: Path, crs: str) -> None:
    """Raise :class:`L1CError` unless ``dem_path`` is a single-band raster in ``crs`` (the site's), north up."""
    with reading(dem_path, "cannot open the DEM"), rasterio.open(dem_path) as dem:
        if dem.crs is None or dem.count < 1:
            raise L1CError(f"{dem_path}: the DEM has no CRS or no band")
        if dem.crs != CRS.from_user_input(crs) or dem.transform.b or dem.transform.d:
            raise L1CError(f"{dem_path}: the DEM must be in the site's projection {crs}, north up "
                           f"(it is {dem.crs})")


def process_l1c(
    l1a_dir: Path,
    dem_path: Path,
    site: SiteConfig,
    out_root: Path,
    *,
    delivered_at: datetime | None = None,
    progress: Progress | None = None,
) -> Product:
    """Make the L1C of the L1A in ``l1a_dir``; write ``out_root/<NAME>/`` and return the :class:`Product`.

    ``delivered_at`` (the delivery's ``DELIVERY.OK`` time) goes into the
    metadata; ``progress(fraction, message)`` is called as work advances.
    """
    report = progress or (lambda fraction, message: None)
    pid, meta = read_l1a(l1a_dir, site.site_id)
    check_dem(dem_path, site.grid.crs)
    name = pid.product_name("L1C")

    def build(work: Path) -> Product:
        with local_env():
            return _write_product(work, name, pid, meta, Path(l1a_dir), Path(dem_path), site, delivered_at, report)

    product = write_folder(out_root, name, build)
    report(1.0, f"{name} written")
    return product


def _write_band(outputs: dict, cal: dict, strip, window: Window, k: int) -> None:
    """Encode band ``k`` of ``strip`` and write it into its output."""
    b = BANDS[k]
    outputs[b].write(encode_toa(strip.dn[k], cal[b].scale, cal[b].offset, strip.valid), 1, window=window)


def _write_product(folder: Path, name: str, pid: ProductId, meta: L1AMetadata, l1a_dir: Path, dem_path: Path,
                   site: SiteConfig, delivered_at: datetime | None, report: Progress) -> Product:
    g = site.grid
    shape = (g.height, g.width)
    cal = calibration(meta)
    files = {b: f"{name}_{b}.tif" for b in (*BANDS, "SAT", "EDG")}
    files.update(QKL=f"{name}_QKL.jpg", MTD=f"{name}_MTD.json")
    outputs = {b: cog.memory_raster("int16", g.crs, g.transform, shape, REFLECTANCE_NODATA) for b in BANDS}
    outputs.update(SAT=cog.memory_raster("uint8", g.crs, g.transform, shape),
                   EDG=cog.memory_raster("uint8", g.crs, g.transform, shape))
    n_valid = 0
    n_saturated = np.zeros(len(BANDS), np.int64)
    outline = []
    try:
        with ThreadPoolExecutor(2) as pool:
            strips = warp_strips(l1a_dir / "IMAGERY.TIF", {b: meta.bands[b].index for b in BANDS}, dem_path,
                                 g.crs, g.transform, shape, strip_rows=STRIP_ROWS)
            for strip in strips:
                rows = strip.valid.shape[0]
                window = Window(0, strip.row0, g.width, rows)

                list(pool.map(partial(_write_band, outputs, cal, strip, window), range(len(BANDS))))
                saturated = strip.saturated
                saturated &= strip.valid
                bits = saturated[0].astype(np.uint8)
                for k in range(1, len(BANDS)):
                    bits |= saturated[k].view(np.uint8) << k
                outputs["SAT"].write(bits, 1, window=window)
                outputs["EDG"].write((~strip.valid).view(np.uint8), 1, window=window)
                n_valid += int(np.count_nonzero(strip.valid))
                n_saturated += [np.count_nonzero(saturated[k]) for k in range(len(BANDS))]
                outline.append(row_extremes(strip.valid, strip.row0))
                report(0.7 * (strip.row0 + rows) / g.height, f"orthorectified rows {strip.row0 + rows}/{g.height}")
        if n_valid == 0:
            raise L1CError(f"{l1a_dir / 'IMAGERY.TIF'}: the scene does not overlap the grid of site {site.site_id}")
        keys = (*BANDS, "SAT", "EDG")
        with ThreadPoolExecutor(2) as pool:
            done = pool.map(lambda key: cog.write_cog(outputs[key], folder / files[key],
                                                      "average" if key in BANDS else "nearest"), keys)
            for k, _ in enumerate(done):
                report(0.7 + 0.25 * (k + 1) / len(keys), f"wrote {files[keys[k]]}")
    finally:
        for ds in outputs.values():
            ds.close()
    write_quicklook({b: folder / files[b] for b in BANDS}, folder / files["QKL"], REFLECTANCE_SCALE, REFLECTANCE_NODATA)

    geometry, bbox = footprint(np.concatenate(outline), g.transform, g.crs)
    total = g.width * g.height
    stats = {"valid_pixels": n_valid, "valid_fraction": round(n_valid / total, 6),
             "saturated_pixels": {b: int(n_saturated[k]) for k, b in enumerate(BANDS)}}
    processing = {"resampling": RESAMPLING.name, "dem": dem_path.name, "dem_sha256": sha256_file(dem_path)}
    doc = product_metadata(name, pid, meta, site, cal, files, geometry, stats, delivered_at, processing)
    (folder / files["MTD"]).write_bytes(dump_metadata(doc))

    product_files = [
        ProductFile.from_path(folder / files[b], b, cog.COG_MEDIA_TYPE, ("data", "reflectance"),
                              f"{b} TOA reflectance x 10000") for b in BANDS
    ]
    product_files += [
        ProductFile.from_path(folder / files["SAT"], "SAT", cog.COG_MEDIA_TYPE, ("saturation",),
                              "saturation mask, bit k = band k (XS1, XS2, XS3, SWIR) saturated"),
        ProductFile.from_path(folder / files["EDG"], "EDG", cog.COG_MEDIA_TYPE, ("data-mask",),
                              "edge mask, 1 = outside the scene"),
        ProductFile.from_path(folder / files["QKL"], "thumbnail", "image/jpeg", ("thumbnail",),
                              "quicklook, false colour XS3/XS2/XS1"),
        ProductFile.from_path(folder / files["MTD"], "metadata", "application/json", ("metadata",),
                              "product metadata"),
    ]
    product = Product(name, "L1C", site.site_id, str(pid), meta.acquired, product_files,
                      stac_properties(pid, meta, site, geometry, bbox, delivered_at))
    product.write_manifest(folder)
    return product
