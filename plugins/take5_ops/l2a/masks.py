"""Per-pixel tests of the L2A masks (MACCS/MAJA method, SPOT5 green band in place of blue).

Every function takes float32 reflectance arrays with the band first (XS1
green, XS2 red, XS3 NIR, SWIR), NaN for no-data, and returns booleans; the
thresholds are module constants documented in ``docs/l2a-product.md``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

G, R, N, S = 0, 1, 2, 3  # band indices

# mono-temporal cloud test (S2 values, green for blue)
MONO_GREEN, MONO_RED, MONO_WATER_GREEN = 0.22, 0.15, 0.08
# multi-temporal cloud test: green increase above T_MIN (1 + age / 30 d), capped at T_MAX
T_MIN, T_MAX, T_AGE_DAYS = 0.03, 0.07, 30.0
RED_RATIO, NIR_RATIO = 1.5, 1.2  # red and NIR increases not larger than these times the green one
# correlation test
CORR_SIZE, CORR_MIN, CORR_MIN_STD = 7, 0.8, 0.002
# snow and water
SNOW_NDSI, SNOW_RED, SNOW_SWIR = 0.4, 0.12, 0.16
WATER_NIR = 0.06
# shadows: (NIR + SWIR) against the composite below this ratio
DARK_RATIO = 0.8
ZONE_DARK_RATIO = 0.9  # inside the shadow zone of a detected cloud (shadow edges)
PERSISTENT_RATIO = 1.25  # a darkening already seen on a recent date within this ratio is a surface change
SAME_ABS, SAME_REL = 0.02, 0.05  # a brightening seen with the same spectrum on a recent date is a surface change
RED_KEPT = 0.95  # a darkening that leaves the red at least this fraction of the composite's is no shadow
EXTENSION_GREEN = 0.015  # the cloud extension grows into pixels whose green rose at least this much


def water(sr: np.ndarray) -> np.ndarray:
    """NDVI < 0 and a dark NIR."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sr[N] < sr[R]) & (sr[N] < WATER_NIR)


def snow(sr: np.ndarray) -> np.ndarray:
    """NDSI (green, SWIR) above 0.4, bright red, dark SWIR."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ndsi = (sr[G] - sr[S]) / (sr[G] + sr[S])
    return (ndsi > SNOW_NDSI) & (sr[R] > SNOW_RED) & (sr[S] < SNOW_SWIR)


def mono_cloud(sr: np.ndarray, saturated: np.ndarray, is_water: np.ndarray) -> np.ndarray:
    """Saturated, or bright and flat (land), or a bright green over water."""
    land = (sr[G] > MONO_GREEN) & (sr[R] > MONO_RED) & (sr[N] > 0.8 * sr[R]) & (sr[N] < 2.0 * sr[R]) \
        & (sr[N] > sr[S])
    return saturated | np.where(is_water, sr[G] > MONO_WATER_GREEN, land)


def threshold(age_days: np.ndarray) -> np.ndarray:
    """The green-increase threshold of the multi-temporal test for a composite ``age_days`` old."""
    return np.minimum(T_MIN * (1.0 + age_days / T_AGE_DAYS), T_MAX)


def multi_cloud(sr: np.ndarray, comp: np.ndarray, age_days: np.ndarray) -> np.ndarray:
    """Green increase against the composite above :func:`threshold`, red and NIR increases not much larger."""
    d = sr - comp
    with np.errstate(invalid="ignore"):
        return (d[G] > threshold(age_days)) & (d[R] < RED_RATIO * d[G]) & (d[N] < NIR_RATIO * d[G])


def turbid(sr: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """The red rose less than the green and the NIR fell, against the composite: with the green increase
    of :func:`multi_cloud`, a scattering layer (smoke, haze: stronger at shorter wavelengths) over
    vegetation. Land changes that raise the green and dim the NIR (to soil, stubble) raise the red more."""
    d = sr - comp
    with np.errstate(invalid="ignore"):
        return (d[R] < d[G]) & (d[N] < 0)


def local_correlation(a: np.ndarray, b: np.ndarray, size: int = CORR_SIZE) -> np.ndarray:
    """Pearson correlation of ``a`` and ``b`` over ``size`` x ``size`` neighbourhoods (NaN: undefined)."""
    valid = np.isfinite(a) & np.isfinite(b)
    everywhere = valid.all()
    a = a.astype(np.float32) if everywhere else np.where(valid, a, 0).astype(np.float32)
    b = b.astype(np.float32) if everywhere else np.where(valid, b, 0).astype(np.float32)

    def mean(x):
        return ndimage.uniform_filter(x, size, mode="nearest")

    ma, mb = mean(a), mean(b)
    cov = mean(a * b) - ma * mb
    va, vb = mean(a * a) - ma * ma, mean(b * b) - mb * mb
    full = everywhere or mean(valid.astype(np.float32)) > 0.999
    ok = full & (va > CORR_MIN_STD ** 2) & (vb > CORR_MIN_STD ** 2)
    out = np.full(a.shape, np.nan, np.float32)
    out[ok] = cov[ok] / np.sqrt(va[ok] * vb[ok])
    return out


def darkened(sr: np.ndarray, comp: np.ndarray, ratio: float = DARK_RATIO) -> np.ndarray:
    """(NIR + SWIR) below ``ratio`` times the composite's."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sr[N] + sr[S]) < ratio * (comp[N] + comp[S])


def stable(sr: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """(NIR + SWIR) within :data:`DARK_RATIO` .. 1 / :data:`DARK_RATIO` of the composite's."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (sr[N] + sr[S]) / (comp[N] + comp[S])
    return (ratio > DARK_RATIO) & (ratio < 1.0 / DARK_RATIO)


def red_kept(sr: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """The red at least :data:`RED_KEPT` times the composite's. A cloud shadow dims every band (only the
    diffuse light is left, a larger share in the visible than in the NIR, never the whole); a burn or a
    harvest of green vegetation darkens the NIR and the SWIR but not the red."""
    with np.errstate(invalid="ignore"):
        return sr[R] >= RED_KEPT * comp[R]


def brightened(sr: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Green above the composite's by :data:`EXTENSION_GREEN`: where a cloud's thin edge may be."""
    with np.errstate(invalid="ignore"):
        return sr[G] - comp[G] > EXTENSION_GREEN


def persistent(toa_nir_swir: np.ndarray, stack_nir_swir: list[np.ndarray]) -> np.ndarray:
    """Pixels whose NIR + SWIR TOA (y, x) matches, within :data:`PERSISTENT_RATIO`, that of a recent date.
    (Not "as dark or darker": a shadow often falls where a recent date had one, and would pass.)"""
    out = np.zeros(toa_nir_swir.shape, bool)
    for other in stack_nir_swir:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = toa_nir_swir / other
        out |= (ratio < PERSISTENT_RATIO) & (ratio > 1.0 / PERSISTENT_RATIO)
    return out


def same_spectrum(toa: np.ndarray, other: np.ndarray) -> np.ndarray:
    """TOA (band, y, x) within :data:`SAME_ABS` + :data:`SAME_REL` of ``other`` in every band: the same
    surface seen again (a brightening that stays, e.g. a harvest to stubble), not a cloud again."""
    with np.errstate(invalid="ignore"):
        return (np.abs(toa - other) < SAME_ABS + SAME_REL * other).all(axis=0)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` grown by ``radius`` pixels (a square)."""
    rows = mask.copy()
    for s in range(1, radius + 1):  # shifted ORs, rows then columns: a separable square, no data outside
        rows[s:] |= mask[:-s]
        rows[:-s] |= mask[s:]
    out = rows.copy()
    for s in range(1, radius + 1):
        out[:, s:] |= rows[:, :-s]
        out[:, :-s] |= rows[:, s:]
    return out


def grow(seed: np.ndarray, into: np.ndarray, steps: int) -> np.ndarray:
    """``seed`` grown ``steps`` times by one pixel (8 neighbours), only into ``into`` pixels."""
    out = seed.copy()
    for _ in range(steps):
        out = (dilate(out, 1) & into) | seed
    return out
