"""Cloud-Optimized GeoTIFF writing, one band per file, in bounded memory.

A raster is first written strip by strip to an uncompressed tiled scratch
GeoTIFF (:func:`scratch_raster`), then converted by GDAL's COG driver
(:func:`write_cog`): 512 x 512 tiles, DEFLATE with predictor, overviews,
multi-threaded compression. Neither GDAL nor this module writes timestamps,
so the same pixels give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import rasterio
import rasterio.shutil
from rasterio.transform import Affine

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
COG_OPTIONS = {
    "BLOCKSIZE": 512,
    "COMPRESS": "DEFLATE",
    "LEVEL": 6,
    "PREDICTOR": "YES",
    "NUM_THREADS": "ALL_CPUS",
    "BIGTIFF": "IF_SAFER",
    "OVERVIEWS": "AUTO",
}


def scratch_raster(path: Path, dtype: str, crs: str, transform: tuple[float, ...], shape: tuple[int, int],
                   nodata: float | None = None):
    """Open a single-band uncompressed tiled GeoTIFF for strip writes (the COG's source)."""
    height, width = shape
    return rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype=dtype, crs=crs,
        transform=Affine(*transform), nodata=nodata, tiled=True, blockxsize=512, blockysize=512,
        compress="NONE", interleave="band",
    )


def write_cog(src: Path, dst: Path, overview_resampling: str) -> None:
    """Convert the GeoTIFF ``src`` to the COG ``dst``; overviews with ``overview_resampling``
    (``average`` for reflectance, ``nearest`` for bit masks)."""
    rasterio.shutil.copy(src, dst, driver="COG", OVERVIEW_RESAMPLING=overview_resampling.upper(), **COG_OPTIONS)
