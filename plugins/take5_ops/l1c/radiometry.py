"""Radiometry of the L1A: DN -> radiance -> top-of-atmosphere reflectance.

The formulas are those of the delivery contract, section 6::

    L   = DN / PHYSICAL_GAIN + PHYSICAL_BIAS
    rho = pi * L * d**2 / (E_sun * cos(90° - SUN_ELEVATION))
    d   = 1 - 0.01672 * cos(0.9856° * (doy - 4))

Both steps are linear in DN, so a band's whole calibration is one
``(scale, offset)`` pair: ``rho = DN * scale + offset`` (:func:`toa_coefficients`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from take5_ops.l1a.metadata import BANDS, L1AMetadata
from take5_ops.products.product import REFLECTANCE_NODATA, REFLECTANCE_SCALE

# Exo-atmospheric solar irradiance (W m-2 µm-1) per instrument and band, used only
# for a product that lacks its own SOLAR_IRRADIANCE_VALUE (science notes).
FALLBACK_E_SUN: dict[int, dict[str, float]] = {
    1: {"XS1": 1859.8, "XS2": 1575.3, "XS3": 1043.9, "SWIR": 238.87},
    2: {"XS1": 1859.8, "XS2": 1577.6, "XS3": 1048.2, "SWIR": 237.78},
}


def earth_sun_distance(day: date) -> float:
    """Earth-Sun distance in astronomical units on ``day`` (contract section 6)."""
    doy = day.timetuple().tm_yday
    return 1.0 - 0.01672 * np.cos(np.radians(0.9856 * (doy - 4)))


def solar_irradiance(meta: L1AMetadata, band: str) -> tuple[float, str]:
    """E_sun of ``band`` and where it comes from: ``"L1A"`` or ``"fallback"`` (the table)."""
    value = meta.bands[band].solar_irradiance
    if value is not None and np.isfinite(value) and value > 0:
        return float(value), "L1A"
    return FALLBACK_E_SUN[meta.instrument][band], "fallback"


@dataclass(frozen=True)
class BandCalibration:
    """``rho = DN * scale + offset`` for one band, with the values it comes from."""

    band: str
    gain: float
    bias: float
    e_sun: float
    e_sun_source: str
    scale: float
    offset: float


def toa_coefficients(gain: float, bias: float, e_sun: float, sun_elevation: float, day: date) -> tuple[float, float]:
    """``(scale, offset)`` such that TOA reflectance = DN * scale + offset."""
    d = earth_sun_distance(day)
    k = np.pi * d * d / (e_sun * np.cos(np.radians(90.0 - sun_elevation)))
    return float(k / gain), float(k * bias)


def calibration(meta: L1AMetadata) -> dict[str, BandCalibration]:
    """Calibration of every band of an L1A, by band name (never by TIFF order)."""
    out = {}
    for name in BANDS:
        b = meta.bands[name]
        e_sun, source = solar_irradiance(meta, name)
        scale, offset = toa_coefficients(b.gain, b.bias, e_sun, meta.sun_elevation, meta.acquired.date())
        out[name] = BandCalibration(name, b.gain, b.bias, e_sun, source, scale, offset)
    return out


def encode_toa(dn: np.ndarray, scale: float, offset: float, valid: np.ndarray) -> np.ndarray:
    """int16 TOA reflectance x 10000 (-9999..32767) of DN, reflectance = ``scale`` DN + ``offset``;
    -10000 where not ``valid``. ``dn`` (float32) is overwritten."""
    dn *= np.float32(scale / REFLECTANCE_SCALE)
    dn += np.float32(offset / REFLECTANCE_SCALE)
    np.rint(dn, out=dn)
    np.clip(dn, -9999, 32767, out=dn)
    out = dn.astype(np.int16)
    out[~valid] = REFLECTANCE_NODATA
    return out
