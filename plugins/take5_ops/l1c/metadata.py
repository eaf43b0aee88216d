"""The L1C product metadata (``<NAME>_MTD.json``) and the STAC properties of its manifest.

The ``_MTD.json`` format is described for users in ``docs/product-format.md``;
it holds no wall-clock time, so that the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from datetime import datetime

import rasterio

import take5_ops
from take5_ops.l1a.metadata import BANDS, L1AMetadata
from take5_ops.l1c.radiometry import BandCalibration, earth_sun_distance
from take5_ops.naming import ProductId, product_version
from take5_ops.products.product import REFLECTANCE_NODATA, REFLECTANCE_SCALE
from take5_ops.siteconfig import SiteConfig
from take5_ops.times import format_time

MTD_FORMAT = "take5-l1c-mtd"
MTD_VERSION = "1.0"
WAVELENGTHS = {"XS1": ("green", 0.50, 0.59), "XS2": ("red", 0.61, 0.68),
               "XS3": ("near infrared", 0.78, 0.89), "SWIR": ("short-wave infrared", 1.58, 1.75)}
SAT_BITS = {str(k): f"{name} saturated (DN 255) in the L1A" for k, name in enumerate(BANDS)}
EDG_VALUES = {"0": "inside the scene", "1": "outside the scene (no data in every band)"}


def _seconds(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment, "seconds")


def product_metadata(
    name: str,
    pid: ProductId,
    meta: L1AMetadata,
    site: SiteConfig,
    calibration: dict[str, BandCalibration],
    files: dict[str, str],
    geometry: dict,
    stats: dict,
    delivered_at: datetime | None,
    processing: dict,
) -> dict:
    """The ``_MTD.json`` document; ``files`` maps XS1..SWIR, SAT, EDG, QKL to file names."""
    g = site.grid
    return {
        "format": MTD_FORMAT,
        "format_version": MTD_VERSION,
        "identification": {"product_name": name, "level": "L1C", "site_id": site.site_id,
                           "site_name": site.name, "product_version": name.rsplit("_", 1)[-1]},
        "source": {"l1a_product_id": str(pid), "dataset_name": meta.dataset_name,
                   "delivered_at": _seconds(delivered_at), "grid_reference": meta.grid_reference,
                   "shift_value": meta.shift_value},
        "acquisition": {"datetime": _seconds(meta.acquired), "platform": "SPOT5",
                        "instrument": f"HRG{meta.instrument}", "sensor_code": "J"},
        "angles": {"sun_azimuth": meta.sun_azimuth, "sun_elevation": meta.sun_elevation,
                   "sun_zenith": meta.sun_zenith, "incidence_angle": meta.incidence_angle,
                   "view_zenith": meta.view_zenith, "view_azimuth": meta.view_azimuth,
                   "viewing_angle": meta.viewing_angle, "scene_orientation": meta.orientation},
        "grid": {"crs": g.crs, "transform": list(g.transform), "shape": [g.height, g.width],
                 "resolution": g.resolution, "bounds": list(g.bounds)},
        "footprint": geometry,
        "radiometry": {"earth_sun_distance": float(earth_sun_distance(meta.acquired.date())),
                       "formula": "rho = pi * (DN / gain + bias) * d^2 / (E_sun * cos(90 - sun_elevation))"},
        "bands": [
            {"name": b, "file": files[b], "description": WAVELENGTHS[b][0],
             "wavelength_um": [WAVELENGTHS[b][1], WAVELENGTHS[b][2]],
             "l1a_band_index": meta.bands[b].index, "physical_gain": calibration[b].gain,
             "physical_bias": calibration[b].bias, "solar_irradiance": calibration[b].e_sun,
             "solar_irradiance_source": calibration[b].e_sun_source,
             "data_type": "int16", "scale_factor": REFLECTANCE_SCALE, "add_offset": 0.0,
             "nodata": REFLECTANCE_NODATA, "unit": "TOA reflectance"}
            for b in BANDS
        ],
        "masks": {
            "SAT": {"file": files["SAT"], "data_type": "uint8", "bits": SAT_BITS},
            "EDG": {"file": files["EDG"], "data_type": "uint8", "values": EDG_VALUES},
        },
        "quicklook": {"file": files["QKL"], "channels": ["XS3", "XS2", "XS1"]},
        "statistics": stats,
        "processing": {"software": "take5_ops", "version": take5_ops.__version__,
                       "processor": "take5 L1C", "processor_version": product_version(name),
                       "gdal_version": rasterio.__gdal_version__, **processing},
    }


def dump_metadata(doc: dict) -> bytes:
    """Canonical JSON bytes of a metadata document."""
    return (json.dumps(doc, indent=1, sort_keys=False) + "\n").encode()


def stac_properties(pid: ProductId, meta: L1AMetadata, site: SiteConfig, geometry: dict, bbox: list[float],
                    delivered_at: datetime | None) -> dict:
    """The STAC properties of the product's manifest (see :class:`take5_ops.products.product.Product`)."""
    g = site.grid
    return {
        "geometry": geometry,
        "bbox": bbox,
        "proj:code": g.crs,
        "proj:shape": [g.height, g.width],
        "proj:transform": list(g.transform),
        "gsd": g.resolution,
        "view:off_nadir": abs(meta.viewing_angle),
        "view:incidence_angle": meta.view_zenith,
        "view:azimuth": meta.view_azimuth,
        "view:sun_azimuth": meta.sun_azimuth,
        "view:sun_elevation": meta.sun_elevation,
        "instruments": [f"hrg{meta.instrument}"],
        "constellation": "spot-5",
        "platform": "spot-5",
        "take5:delivered_at": _seconds(delivered_at),
        "take5:l1a_product_id": str(pid),
    }
