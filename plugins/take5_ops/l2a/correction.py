"""SMAC inversion (Rahman & Dedieu, 1994) of TOA reflectance, strip by strip.

The atmospheric terms depend on the pressure, hence on the height: they are
computed once per band on the coarse DEM grid (:func:`take5_ops.l2a.inputs.coarse_heights`)
and spread over the 10 m pixels of each strip.
"""

from __future__ import annotations

import numpy as np

from take5_ops import smac
from take5_ops.l2a.inputs import BANDS, Angles


def coefficients(instrument: int, model: str) -> list[smac.Coefficients]:
    """The SMAC coefficients of bands XS1..SWIR of HRG ``instrument`` for aerosol ``model``."""
    return [smac.coefficients(instrument, b, model) for b in BANDS]


def terms(c: smac.Coefficients, angles: Angles, heights, aot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tg * rho_atm, tg * Ts * Tv, s): SMAC's inversion is ``r / (B + r s)`` with ``r = toa - A``."""
    a = smac.atmosphere(c, angles.sun_zenith, angles.sun_azimuth, angles.view_zenith, angles.view_azimuth,
                        smac.pressure(heights), aot)
    return a.tg * a.path, a.tg * a.transmission, a.albedo


def invert(toa: np.ndarray, path: np.ndarray, trans: np.ndarray, albedo: np.ndarray) -> np.ndarray:
    """Surface reflectance from TOA ``toa`` and the terms of :func:`terms` (broadcast together)."""
    r = np.subtract(toa, path)
    d = r * albedo
    d += trans
    return np.divide(r, d, out=r)


class Correction:
    """SMAC terms of the four bands for one AOT on the coarse grid (``factor`` pixels per cell)."""

    def __init__(self, coeffs: list[smac.Coefficients], angles: Angles, heights: np.ndarray, aot: float,
                 factor: int):
        self.aot, self.factor = aot, factor
        self.terms = [tuple(t.astype(np.float32) for t in terms(c, angles, heights, aot)) for c in coeffs]

    def surface(self, toa: np.ndarray, row0: int) -> np.ndarray:
        """Surface reflectance (band, y, x) float32 of the TOA strip ``toa`` starting at grid row ``row0``."""
        out = np.empty(toa.shape, np.float32)
        for k, band_terms in enumerate(self.terms):
            out[k] = invert(toa[k], *(spread(t, self.factor, row0, *toa.shape[1:]) for t in band_terms))
        return out


def spread(coarse: np.ndarray, f: int, row0: int, rows: int, width: int) -> np.ndarray:
    """Cells of ``coarse`` (``f`` x ``f`` pixels each) spread over rows ``row0`` .. ``row0 + rows`` and the
    first ``width`` columns of the fine grid."""
    r0 = row0 // f
    cols = np.repeat(coarse[r0:(row0 + rows - 1) // f + 1], f, axis=1)[:, :width]
    return cols[np.arange(row0, row0 + rows) // f - r0]
