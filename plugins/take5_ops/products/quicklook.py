"""Quicklook: a small false-colour JPEG (R = XS3, G = XS2, B = XS1) of a product.

Each channel is reflectance stretched linearly over a fixed range
(:data:`STRETCH`), so that quicklooks of different dates compare; no-data is
black. The image is cropped to the scene's footprint (the rows and columns
holding data, :func:`crop_to_data`): a scene smaller than its site grid is not
a small picture in a large black frame. The longest side is about
:data:`SIZE` pixels before cropping.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning

SIZE = 1000
CHANNELS = ("XS3", "XS2", "XS1")
STRETCH = {"XS3": (0.0, 0.5), "XS2": (0.0, 0.3), "XS1": (0.0, 0.3)}  # reflectance -> 0..255


def quicklook_shape(height: int, width: int, size: int = SIZE) -> tuple[int, int]:
    """Shape of the quicklook of a ``height`` x ``width`` grid: an integer decimation, longest side <= ~size."""
    factor = max(1, math.ceil(max(height, width) / size))
    return math.ceil(height / factor), math.ceil(width / factor)


def to_rgb(bands: dict[str, np.ndarray], scale: float, nodata: int) -> np.ndarray:
    """uint8 (3, h, w) image of the int16 reflectance ``bands`` (``value * scale`` = reflectance)."""
    out = np.zeros((3,) + bands[CHANNELS[0]].shape, np.uint8)
    for k, name in enumerate(CHANNELS):
        lo, hi = STRETCH[name]
        data = bands[name]
        scaled = (data.astype(np.float32) * scale - lo) * (255.0 / (hi - lo))
        out[k] = np.where(data == nodata, 0, np.clip(np.rint(scaled), 1, 255)).astype(np.uint8)
    return out


def crop_to_data(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (3, h, w) cut to the bounding box of its non-black pixels (no-data is black); unchanged when empty."""
    data = rgb.any(axis=0)
    rows, cols = np.flatnonzero(data.any(axis=1)), np.flatnonzero(data.any(axis=0))
    if rows.size == 0:
        return rgb
    return rgb[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def write_quicklook(band_paths: dict[str, Path], dst: Path, scale: float, nodata: int) -> None:
    """Write the JPEG quicklook ``dst`` from the band COGs (read decimated through their overviews), cropped to
    the scene's footprint."""
    bands = {}
    for name in CHANNELS:
        with rasterio.open(band_paths[name]) as src:
            shape = quicklook_shape(src.height, src.width)
            bands[name] = src.read(1, out_shape=shape, resampling=Resampling.nearest)
    rgb = crop_to_data(to_rgb(bands, scale, nodata))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(dst, "w", driver="JPEG", width=rgb.shape[2], height=rgb.shape[1], count=3,
                           dtype="uint8", QUALITY=85) as out:
            out.write(rgb)
