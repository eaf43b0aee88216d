"""Directions on a site's UTM grid: what the L2A shadow geometry and the simulator both need."""

from __future__ import annotations

import math

from pyproj import Geod, Transformer

GEOD = Geod(ellps="WGS84")


def grid_azimuth(epsg: int, lon: float, lat: float, azimuth: float) -> float:
    """Azimuth against UTM grid north of the direction ``azimuth`` (against true north) at lon, lat."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, 1000.0)
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform([lon, lon2], [lat, lat2])
    return math.degrees(math.atan2(x[1] - x[0], y[1] - y[0]))
