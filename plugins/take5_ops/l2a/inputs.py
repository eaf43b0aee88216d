"""The inputs of one L2A date, validated: the L1C folder, the stack of recent dates and the DEM.

Every problem raises :class:`L2AInputError` naming the file and the field.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.transform import Affine
from rasterio.warp import reproject

from take5_ops.errors import L2AInputError
from take5_ops.naming import ProductId, parse_product_name
from take5_ops.products.product import MANIFEST, Product
from take5_ops.siteconfig import SiteConfig

log = logging.getLogger(__name__)

BANDS = ("XS1", "XS2", "XS3", "SWIR")
L1C_FILES = {**dict.fromkeys(BANDS, "int16"), "SAT": "uint8", "EDG": "uint8"}


@dataclass(frozen=True)
class Angles:
    """Scene angles in degrees; azimuths clockwise from true north, view azimuth towards the satellite."""

    sun_zenith: float
    sun_azimuth: float
    view_zenith: float
    view_azimuth: float


@dataclass(frozen=True)
class L1CInput:
    """A validated L1C folder: ``files`` maps XS1..SWIR, SAT, EDG to paths."""

    name: str
    pid: ProductId
    acquired: datetime
    angles: Angles
    files: dict[str, Path]
    properties: dict  # the STAC properties of the L1C manifest (footprint, view angles, ...)


def _check_raster(path: Path, site: SiteConfig, dtype: str) -> None:
    g = site.grid
    try:
        with rasterio.open(path) as ds:
            problems = []
            if (ds.height, ds.width) != (g.height, g.width):
                problems.append(f"shape {ds.height} x {ds.width}, the grid is {g.height} x {g.width}")
            if ds.crs is None or ds.crs != CRS.from_user_input(g.crs):
                problems.append(f"CRS {ds.crs}, the grid is {g.crs}")
            if not ds.transform.almost_equals(Affine(*g.transform)):
                problems.append(f"transform {tuple(ds.transform)[:6]}, the grid is {g.transform}")
            if ds.dtypes[0] != dtype:
                problems.append(f"data type {ds.dtypes[0]}, expected {dtype}")
    except RasterioError as exc:
        raise L2AInputError(f"{path}: cannot open as a GeoTIFF ({exc})") from None
    if problems:
        raise L2AInputError(f"{path}: " + "; ".join(problems))


def _number(doc: dict, where: str, section: str, key: str, lo: float, hi: float) -> float:
    try:
        value = doc[section][key]
    except (KeyError, TypeError):
        raise L2AInputError(f"{where}: missing field {section}.{key}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise L2AInputError(f"{where}: field {section}.{key} = {value!r}, expected a number in [{lo}, {hi}]")
    return float(value)


def read_l1c(folder: Path, site: SiteConfig) -> L1CInput:
    """Validate the L1C folder of ``site`` (name, ``_MTD.json`` angles and date, rasters on the grid)."""
    folder = Path(folder)
    try:
        pid, level = parse_product_name(folder.name)
    except ValueError:
        raise L2AInputError(f"{folder}: not an L1C product folder name") from None
    if level != "L1C" or pid.site_id != site.site_id:
        raise L2AInputError(f"{folder}: not an L1C product of site {site.site_id}")
    mtd = folder / f"{folder.name}_MTD.json"
    try:
        doc = json.loads(mtd.read_bytes())
    except OSError as exc:
        raise L2AInputError(f"{mtd}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise L2AInputError(f"{mtd}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise L2AInputError(f"{mtd}: top level must be an object")
    try:
        acquired = datetime.fromisoformat(str(doc["acquisition"]["datetime"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        raise L2AInputError(f"{mtd}: field acquisition.datetime missing or not an ISO time") from None
    if acquired != pid.acquired:
        raise L2AInputError(f"{mtd}: field acquisition.datetime {acquired.isoformat()} differs from the "
                            f"product name ({pid.acquired.isoformat()})")
    angles = Angles(_number(doc, str(mtd), "angles", "sun_zenith", 0.0, 89.0),
                    _number(doc, str(mtd), "angles", "sun_azimuth", -360.0, 360.0),
                    _number(doc, str(mtd), "angles", "view_zenith", 0.0, 60.0),
                    _number(doc, str(mtd), "angles", "view_azimuth", -360.0, 360.0))
    files = {}
    for key, dtype in L1C_FILES.items():
        path = folder / f"{folder.name}_{key}.tif"
        if not path.is_file():
            raise L2AInputError(f"{path}: missing ({key} of the L1C)")
        _check_raster(path, site, dtype)
        files[key] = path
    manifest = folder / MANIFEST
    try:
        properties = Product.from_json(manifest.read_bytes()).properties
    except OSError as exc:
        raise L2AInputError(f"{manifest}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise L2AInputError(f"{manifest}: not a product manifest ({exc})") from None
    for key in ("geometry", "bbox"):
        if not properties.get(key):
            raise L2AInputError(f"{manifest}: missing field properties.{key}")
    return L1CInput(folder.name, pid, acquired, angles, files, properties)


def read_stack(recent, site: SiteConfig, assets: tuple[str, ...]) -> list[dict[str, Path]]:
    """The usable folders of ``recent`` as {asset: path}; a folder with a bad file is left out (logged)."""
    stack = []
    for folder in map(Path, recent):
        try:
            files = {}
            for key in assets:
                path = folder / f"{folder.name}_{key}.tif"
                if not path.is_file():
                    raise L2AInputError(f"{path}: missing")
                _check_raster(path, site, L1C_FILES[key])
                files[key] = path
            stack.append(files)
        except L2AInputError as exc:
            log.warning("stack date left out: %s", exc)
    return stack


def coarse_heights(dem: Path, site: SiteConfig, factor: int) -> np.ndarray:
    """DEM heights (float32, m) averaged onto the site grid coarsened ``factor`` times (ceil)."""
    g = site.grid
    shape = (-(-g.height // factor), -(-g.width // factor))
    out = np.zeros(shape, np.float32)
    try:
        with rasterio.open(dem) as src:
            if src.crs is None or src.crs != CRS.from_user_input(g.crs):
                raise L2AInputError(f"{dem}: CRS {src.crs}, expected the site's {g.crs}")
            left, bottom, right, top = src.bounds
            gl, gb, gr, gt = g.bounds
            if left > gl or right < gr or bottom > gb or top < gt:
                raise L2AInputError(f"{dem}: bounds {tuple(src.bounds)} do not cover the grid {g.bounds}")
            reproject(rasterio.band(src, 1), out, dst_transform=Affine(*g.transform) @ Affine.scale(factor),
                      dst_crs=g.crs, resampling=Resampling.average, dst_nodata=np.nan)
    except RasterioError as exc:
        raise L2AInputError(f"{dem}: cannot read the DEM ({exc})") from None
    if not np.isfinite(out).all():
        raise L2AInputError(f"{dem}: no height for part of the grid")
    return out

