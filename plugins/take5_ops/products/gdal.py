"""The GDAL environment of the chain's rasters: local files only, no cloud session.

Outside an environment, rasterio makes one for every file it opens, and with AWS credentials in
the environment each one looks them up (botocore logs "Found credentials in environment
variables" every time). :func:`local_env` holds a session that never looks anything up; the
pipeline runs each step inside one, so a task opens its rasters without a lookup.
"""

from __future__ import annotations

import rasterio
from rasterio.session import DummySession

GDAL_ENV = {"GDAL_CACHEMAX": 256 << 20, "GDAL_NUM_THREADS": "ALL_CPUS"}  # bytes: "256" (MB) slows overview reads 100x


def local_env(**options) -> rasterio.Env:
    """The processors' GDAL settings (and ``options``) for local files, with no cloud session."""
    return rasterio.Env(session=DummySession(), **{**GDAL_ENV, **options})
