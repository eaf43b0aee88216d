"""Orthorectification of an L1A onto a site grid, strip by strip (RPC + DEM).

One GDAL warp pass per strip (``rasterio.warp.reproject`` with the L1A's RPCs
and ``RPC_DEM``) resamples the DN and the mask indicators together. The
source is a VRT over ``IMAGERY.TIF`` with nine bands: the spectral bands
XS1, XS2, XS3, SWIR (mapped by name), four saturation indicators (lookup
table DN 255 -> 1, else 0) and one no-data indicator (DN 0 -> 1). No band has
a no-data value, so GDAL takes its fast bilinear path, and an indicator comes
out above 0 exactly when a source pixel with a positive bilinear weight is
flagged: no second coordinate transformation. The resampling factor is fixed
at 1 (``XSCALE``/``YSCALE``): GDAL would otherwise guess it per chunk, from
the chunk's shape, and widen the kernel differently from strip to strip.
Note: with ``RPC_DEM``, rasterio uses GDAL's exact transformer (no
approximation), as ``gdalwarp`` does by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.transform import Affine
from rasterio.warp import reproject

from take5_ops.l1a.metadata import BANDS

SATURATED_DN = 255
WARP_MEMORY_MB = 256


@dataclass(frozen=True)
class Strip:
    """Rows ``row0 .. row0 + height`` of the output grid.

    ``dn``: float32 (4, h, w) resampled DN in XS1, XS2, XS3, SWIR order;
    ``saturated``: bool (4, h, w); ``valid``: bool (h, w), inside the scene.
    """

    row0: int
    dn: np.ndarray
    saturated: np.ndarray
    valid: np.ndarray


def warp_vrt(imagery: Path, band_index: dict[str, int], width: int, height: int, rpc: dict[str, str]) -> str:
    """VRT XML over ``imagery``: bands 1-4 DN of XS1..SWIR, 5-8 their saturation indicators, 9 the no-data indicator."""
    src = escape(str(Path(imagery).resolve()))

    def band(number: int, source_band: int, lut: str | None) -> str:
        kind = "ComplexSource" if lut else "SimpleSource"
        extra = f"<LUT>{lut}</LUT>" if lut else ""
        return (f'<VRTRasterBand dataType="Byte" band="{number}">'
                f'<{kind}><SourceFilename relativeToVRT="0">{src}</SourceFilename>'
                f"<SourceBand>{source_band}</SourceBand>{extra}</{kind}></VRTRasterBand>")

    bands = [band(k + 1, band_index[name], None) for k, name in enumerate(BANDS)]
    bands += [band(k + 5, band_index[name], f"0:0,{SATURATED_DN - 1}:0,{SATURATED_DN}:1")
              for k, name in enumerate(BANDS)]
    bands.append(band(9, band_index[BANDS[0]], "0:1,1:0,255:0"))
    items = "".join(f"<MDI key={quoteattr(k)}>{escape(v)}</MDI>" for k, v in sorted(rpc.items()))
    return (f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
            f'<Metadata domain="RPC">{items}</Metadata>{"".join(bands)}</VRTDataset>')


def warp_strips(
    imagery: Path,
    band_index: dict[str, int],
    dem_path: Path,
    crs: str,
    transform: tuple[float, ...],
    shape: tuple[int, int],
    *,
    strip_rows: int = 512,
    resampling: Resampling = Resampling.bilinear,
    threads: int = 2,
) -> Iterator[Strip]:
    """Orthorectify ``imagery`` (RPCs in the TIFF) with ``dem_path`` onto the grid, one strip at a time.

    ``band_index`` maps XS1..SWIR to 1-based TIFF bands; ``transform`` is the
    grid's (a, b, c, d, e, f). A pixel is valid when it has data and no
    contributing source pixel is no-data (DN 0 in XS1, contract section 4).
    """
    height, width = shape
    grid = Affine(*transform)
    with rasterio.open(imagery) as src:
        rpc = src.tags(ns="RPC")
        vrt = warp_vrt(imagery, band_index, src.width, src.height, rpc)
    with MemoryFile(vrt.encode(), ext=".vrt") as mem, mem.open() as src:
        for row0 in range(0, height, strip_rows):
            rows = min(strip_rows, height - row0)
            out = np.zeros((9, rows, width), np.float32)
            reproject(
                rasterio.band(src, list(range(1, 10))), out,
                rpcs=src.rpcs, dst_crs=crs,
                dst_transform=grid @ Affine.translation(0, row0),
                resampling=resampling, num_threads=threads, warp_mem_limit=WARP_MEMORY_MB,
                RPC_DEM=str(dem_path), INIT_DEST=0,
                XSCALE=1, YSCALE=1,
            )
            yield Strip(row0, out[:4], out[4:8] > 0, (out[0] > 0) & (out[8] == 0))
