"""Small product folders for the publication tests (tiny GeoTIFFs via rasterio).

They stand for what ``process_l1c`` writes: the files of docs/architecture.md
and a ``manifest.json`` whose properties carry what the STAC Item needs.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from pyproj import Transformer
from rasterio.transform import Affine

from take5_ops.naming import ProductId
from take5_ops.products.product import Product, ProductFile

SITE = "FrancePornic"
EPSG = 32630
ULX, ULY, RES, SIZE = 500000.0, 5220000.0, 10.0, 48


def _tif(path: Path, data: np.ndarray, nodata) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=1, dtype=data.dtype,
                       crs=f"EPSG:{EPSG}", transform=Affine(RES, 0, ULX, 0, -RES, ULY), nodata=nodata,
                       tiled=True, blockxsize=16, blockysize=16) as dst:
        dst.write(data, 1)


def footprint() -> tuple[dict, list[float]]:
    """GeoJSON polygon and bbox (lon/lat) of the fake grid."""
    to_ll = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True)
    xs = [ULX, ULX + SIZE * RES, ULX + SIZE * RES, ULX, ULX]
    ys = [ULY, ULY, ULY - SIZE * RES, ULY - SIZE * RES, ULY]
    lon, lat = to_ll.transform(xs, ys)
    ring = [[round(x, 7), round(y, 7)] for x, y in zip(lon, lat)]
    return ({"type": "Polygon", "coordinates": [ring]},
            [min(lon), min(lat), max(lon), max(lat)])


def make_product(out_root: Path, acquired: datetime, *, value: int = 1000, instrument: int = 2,
                 site_id: str = SITE, marker_etag: str = "etag-1") -> Product:
    """Write a product folder below ``out_root``; ``value`` changes the reflectance bytes."""
    pid = ProductId(acquired.replace(tzinfo=UTC), instrument, site_id)
    name = pid.product_name("L1C")
    folder = Path(out_root) / name
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    rng = np.random.default_rng(value)
    for i, band in enumerate(("XS1", "XS2", "XS3", "SWIR")):
        data = (value + 100 * i + rng.integers(0, 50, (SIZE, SIZE))).astype("int16")
        data[:4, :] = -10000
        path = folder / f"{name}_{band}.tif"
        _tif(path, data, -10000)
        files.append(ProductFile.from_path(path, band, "image/tiff; application=geotiff; profile=cloud-optimized",
                                           ("data", "reflectance"), f"TOA reflectance {band}"))
    for mask in ("SAT", "EDG"):
        path = folder / f"{name}_{mask}.tif"
        _tif(path, (rng.integers(0, 2, (SIZE, SIZE))).astype("uint8"), None)
        files.append(ProductFile.from_path(path, mask, "image/tiff; application=geotiff; profile=cloud-optimized",
                                           ("data-mask",), f"{mask} mask"))
    qkl = folder / f"{name}_QKL.jpg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(qkl, "w", driver="JPEG", width=SIZE, height=SIZE, count=3, dtype="uint8") as dst:
            dst.write(np.full((3, SIZE, SIZE), value % 256, "uint8"))
    files.append(ProductFile.from_path(qkl, "thumbnail", "image/jpeg", ("thumbnail", "overview"), "Quicklook"))
    mtd = folder / f"{name}_MTD.json"
    mtd.write_text(json.dumps({"name": name, "value": value}, sort_keys=True))
    files.append(ProductFile.from_path(mtd, "metadata", "application/json", ("metadata",), "Product metadata"))
    geometry, bbox = footprint()
    product = Product(name, "L1C", site_id, str(pid), pid.acquired, files, {
        "geometry": geometry, "bbox": bbox, "proj:code": f"EPSG:{EPSG}", "proj:shape": [SIZE, SIZE],
        "proj:transform": [RES, 0.0, ULX, 0.0, -RES, ULY], "view:incidence_angle": 12.5,
        "view:azimuth": 101.0, "view:sun_azimuth": 150.2, "view:sun_elevation": 55.1,
        "instruments": [f"hrg{instrument}"], "take5:delivered_at": "2015-05-04T02:13:00Z",
        "take5:l1a_marker_etag": marker_etag,
    })
    product.write_manifest(folder)
    return product


def site_config(tmp_path: Path, site_id: str = SITE, name: str = "Pornic", country: str = "France"):
    """A valid SiteConfig for ``site_id`` written to ``tmp_path``."""
    import yaml

    from take5_ops.siteconfig import load_site_config

    path = Path(tmp_path) / f"{site_id}.yaml"
    path.write_text(yaml.safe_dump({
        "site_id": site_id, "name": name, "country": country, "center": {"lon": -2.0, "lat": 47.1},
        "grid": {"epsg": EPSG, "ulx": ULX, "uly": ULY, "width": SIZE, "height": SIZE, "resolution": RES},
        "cycle_day": 1, "first_acquisition": "2015-04-08", "aerosol_model": "CONT",
        "sla": {"contacts": ["ops@example.org"]},
    }))
    return load_site_config(path)
