"""The L2A product folder: SRE bands, CLM/MG2/SAT/EDG masks, AOT, quicklook, ``_MTD.json``, manifest.

The format is documented for users in ``docs/l2a-product.md``. Metadata
hold no wall-clock time: the same inputs give the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import rasterio

import take5_ops
from take5_ops.distribution.catalog import AOT_SCALE
from take5_ops.l1c.metadata import (
    EDG_VALUES,
    REFLECTANCE_NODATA,
    REFLECTANCE_SCALE,
    SAT_BITS,
    WAVELENGTHS,
    dump_metadata,
)
from take5_ops.l2a.inputs import BANDS, L1CInput
from take5_ops.naming import product_version
from take5_ops.products import cog
from take5_ops.products.product import Product, ProductFile
from take5_ops.products.quicklook import write_quicklook
from take5_ops.siteconfig import SiteConfig
from take5_ops.smac import OZONE, WATER_VAPOUR
from take5_ops.times import format_time

MTD_FORMAT = "take5-l2a-mtd"
MTD_VERSION = "1.0"
CLM_BITS = {"0": "cloud or cloud shadow (bit 1 or 5 or 6)", "1": "cloud (tests, correlation, extension)",
            "2": "cloud, mono-temporal test", "3": "cloud, multi-temporal test",
            "4": "cloud extension (dilation around detected clouds)", "5": "shadow of a detected cloud",
            "6": "shadow of a cloud outside the image (darkened pixels where such a shadow can fall)", "7": "cirrus (no SPOT5 band: always 0)"}
MG2_BITS = {"0": "water", "1": "cloud (CLM bit 1)", "2": "snow", "3": "cloud shadow (CLM bit 5 or 6)",
            "4": "topographic shadow (slope facing away from the sun)", "5": "hidden face (slope facing away "
            "from the sensor)", "6": "sun too low (sun elevation below 10 degrees)",
            "7": "tangent sun (sun less than 6 degrees above the slope)"}
FILES = (*(f"SRE_{b}" for b in BANDS), "CLM", "MG2", "SAT", "EDG", "AOT")


def file_names(name: str) -> dict[str, str]:
    """File name of each product file key (``SRE_XS1`` .. ``AOT``, ``QKL``, ``MTD``)."""
    out = {k: f"{name}_{k}.tif" for k in FILES}
    out.update(QKL=f"{name}_QKL.jpg", MTD=f"{name}_MTD.json")
    return out


def write_product(folder: Path, name: str, l1c: L1CInput, site: SiteConfig, rasters: dict, aot: dict,
                  stats: dict) -> Product:
    """Write the files of ``folder`` from the in-memory ``rasters`` (keys of :data:`FILES` but SAT, EDG,
    copied from the L1C) and return the :class:`Product` (manifest written)."""
    files = file_names(name)
    for key, ds in rasters.items():  # one at a time: each COG copy holds its raster again (peak memory)
        cog.write_cog(ds, folder / files[key], "average" if key.startswith("SRE_") else "nearest")
    for key in ("SAT", "EDG"):
        shutil.copyfile(l1c.files[key], folder / files[key])
    write_quicklook({b: folder / files[f"SRE_{b}"] for b in BANDS}, folder / files["QKL"], REFLECTANCE_SCALE,
                    REFLECTANCE_NODATA)
    (folder / files["MTD"]).write_bytes(dump_metadata(metadata(name, l1c, site, files, aot, stats)))

    pf = [ProductFile.from_path(folder / files[f"SRE_{b}"], b, cog.COG_MEDIA_TYPE, ("data", "reflectance"),
                                f"{b} surface reflectance x 10000") for b in BANDS]
    pf += [
        ProductFile.from_path(folder / files["CLM"], "CLM", cog.COG_MEDIA_TYPE, ("cloud", "cloud-shadow"),
                              "cloud mask (bits: docs/l2a-product.md)"),
        ProductFile.from_path(folder / files["MG2"], "MG2", cog.COG_MEDIA_TYPE, ("water-mask", "snow-ice"),
                              "geophysical mask: water, cloud, snow, shadow, topography"),
        ProductFile.from_path(folder / files["SAT"], "SAT", cog.COG_MEDIA_TYPE, ("saturation",),
                              "saturation mask, bit k = band k (XS1, XS2, XS3, SWIR) saturated"),
        ProductFile.from_path(folder / files["EDG"], "EDG", cog.COG_MEDIA_TYPE, ("data-mask",),
                              "edge mask, 1 = outside the scene"),
        ProductFile.from_path(folder / files["AOT"], "AOT", cog.COG_MEDIA_TYPE, ("data",),
                              f"aerosol optical thickness at 550 nm x {1 / AOT_SCALE:.0f}"),
        ProductFile.from_path(folder / files["QKL"], "thumbnail", "image/jpeg", ("thumbnail",),
                              "quicklook, false colour XS3/XS2/XS1 surface reflectance"),
        ProductFile.from_path(folder / files["MTD"], "metadata", "application/json", ("metadata",),
                              "product metadata"),
    ]
    props = dict(l1c.properties)
    props["eo:cloud_cover"] = round(100.0 * stats["cloud_cover"], 2)
    props["take5:l1c_product"] = l1c.name
    props["take5:aot550"] = aot["value"]
    product = Product(name, "L2A", site.site_id, str(l1c.pid), l1c.acquired, pf, props)
    product.write_manifest(folder)
    return product


def metadata(name: str, l1c: L1CInput, site: SiteConfig, files: dict, aot: dict, stats: dict) -> dict:
    """The ``_MTD.json`` document."""
    g, a = site.grid, l1c.angles
    return {
        "format": MTD_FORMAT,
        "format_version": MTD_VERSION,
        "identification": {"product_name": name, "level": "L2A", "site_id": site.site_id, "site_name": site.name,
                           "product_version": name.rsplit("_", 1)[-1]},
        "source": {"l1c_product": l1c.name, "l1a_product_id": str(l1c.pid)},
        "acquisition": {"datetime": format_time(l1c.acquired, "seconds"), "platform": "SPOT5",
                        "instrument": f"HRG{l1c.pid.instrument}"},
        "angles": {"sun_zenith": a.sun_zenith, "sun_azimuth": a.sun_azimuth, "view_zenith": a.view_zenith,
                   "view_azimuth": a.view_azimuth},
        "grid": {"crs": g.crs, "transform": list(g.transform), "shape": [g.height, g.width],
                 "resolution": g.resolution},
        "atmosphere": {"method": "SMAC (Rahman & Dedieu, 1994)", "aerosol_model": site.aerosol_model,
                       "aot550": aot["value"], "aot_source": aot["source"], "aot_file": files["AOT"],
                       "aot_scale_factor": AOT_SCALE, "aot_nodata": REFLECTANCE_NODATA,
                       "water_vapour_g_cm2": WATER_VAPOUR, "ozone_cm_atm": OZONE,
                       "pressure": "from the DEM: 1013.25 (1 - 0.0065 z / 288.15)^5.31"},
        "bands": [{"name": b, "file": files[f"SRE_{b}"], "description": WAVELENGTHS[b][0],
                   "wavelength_um": [WAVELENGTHS[b][1], WAVELENGTHS[b][2]], "data_type": "int16",
                   "scale_factor": REFLECTANCE_SCALE, "add_offset": 0.0, "nodata": REFLECTANCE_NODATA,
                   "unit": "surface reflectance"} for b in BANDS],
        "masks": {"CLM": {"file": files["CLM"], "data_type": "uint8", "bits": CLM_BITS},
                  "MG2": {"file": files["MG2"], "data_type": "uint8", "bits": MG2_BITS},
                  "SAT": {"file": files["SAT"], "data_type": "uint8", "bits": SAT_BITS},
                  "EDG": {"file": files["EDG"], "data_type": "uint8", "values": EDG_VALUES}},
        "quicklook": {"file": files["QKL"], "channels": ["XS3", "XS2", "XS1"]},
        "statistics": stats,
        "processing": {"software": "take5_ops", "version": take5_ops.__version__,
                       "processor": "take5 L2A", "processor_version": product_version(name),
                       "gdal_version": rasterio.__gdal_version__},
    }
