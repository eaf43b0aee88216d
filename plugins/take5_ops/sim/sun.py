"""Solar position (NOAA's low-precision formulas, ~0.1 degree) and Earth-Sun distance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np


def _fractional_year(day_of_year: float) -> float:
    return 2.0 * np.pi / 365.0 * (day_of_year - 1.0)


def _equation_of_time(g: float) -> float:
    """Minutes."""
    return 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g)
                     - 0.014615 * np.cos(2 * g) - 0.040849 * np.sin(2 * g))


def sun_angles(when: datetime, lon: float, lat: float) -> tuple[float, float]:
    """(zenith, azimuth clockwise from north) in degrees of the sun at ``when`` (UTC)."""
    when = when.astimezone(UTC)
    hours = when.hour + when.minute / 60.0 + when.second / 3600.0
    g = _fractional_year(when.timetuple().tm_yday + (hours - 12.0) / 24.0)
    decl = (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g) - 0.006758 * np.cos(2 * g)
            + 0.000907 * np.sin(2 * g) - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))
    solar_minutes = hours * 60.0 + _equation_of_time(g) + 4.0 * lon
    ha = np.radians(solar_minutes / 4.0 - 180.0)
    phi = np.radians(lat)
    cos_zen = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(ha)
    zenith = np.degrees(np.arccos(np.clip(cos_zen, -1.0, 1.0)))
    azimuth = np.degrees(np.arctan2(np.sin(ha), np.cos(ha) * np.sin(phi) - np.tan(decl) * np.cos(phi))) + 180.0
    return float(zenith), float(azimuth % 360.0)


def utc_at_local_solar_time(day: date, lon: float, hours: float) -> datetime:
    """UTC time when the local mean solar time at ``lon`` is ``hours`` on the local ``day``."""
    minutes = hours * 60.0 - 4.0 * lon
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (start + timedelta(minutes=minutes)).replace(microsecond=0)


def earth_sun_distance(day: date) -> float:
    """Astronomical units, the contract's formula: 1 - 0.01672 cos(0.9856 (doy - 4))."""
    return 1.0 - 0.01672 * np.cos(np.radians(0.9856 * (day.timetuple().tm_yday - 4)))
