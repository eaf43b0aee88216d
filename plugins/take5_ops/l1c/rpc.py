"""The RPC00B sensor model as GDAL evaluates it (delivery contract, section 4).

Line and sample are ratios of 20-term cubic polynomials of the normalised
longitude, latitude and height; line 0, sample 0 is the centre of the first
pixel (GDAL's RPC transformer adds 0.5 to reach pixel corners).
"""

from __future__ import annotations

import numpy as np
from rasterio.rpc import RPC


def rpc_terms(lon, lat, h) -> list:
    """The 20 RPC00B terms of normalised (L = lon, P = lat, H = height), in GDAL's order."""
    return [np.ones_like(lon), lon, lat, h, lon * lat, lon * h, lat * h, lon ** 2, lat ** 2, h ** 2,
            lat * lon * h, lon ** 3, lon * lat ** 2, lon * h ** 2, lon ** 2 * lat, lat ** 3,
            lat * h ** 2, lon ** 2 * h, lat ** 2 * h, h ** 3]


def rpc_image(rpc: RPC, lon, lat, h) -> tuple[np.ndarray, np.ndarray]:
    """(line, sample) of ground points (degrees, metres above the ellipsoid), broadcast together."""
    lon, lat, h = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (lon, lat, h)))
    t = rpc_terms((lon - rpc.long_off) / rpc.long_scale, (lat - rpc.lat_off) / rpc.lat_scale,
                  (h - rpc.height_off) / rpc.height_scale)

    def ratio(num, den):
        return sum(c * x for c, x in zip(num, t)) / sum(c * x for c, x in zip(den, t))

    return (ratio(rpc.line_num_coeff, rpc.line_den_coeff) * rpc.line_scale + rpc.line_off,
            ratio(rpc.samp_num_coeff, rpc.samp_den_coeff) * rpc.samp_scale + rpc.samp_off)
