"""Aerosol optical thickness, multi-temporal: the AOT550 that makes the corrected reflectance of stable,
clear pixels match the composite (their surface did not change since), else the site default.
"""

from __future__ import annotations

import numpy as np

from take5_ops import smac
from take5_ops.l2a.correction import invert, terms
from take5_ops.l2a.inputs import Angles

AOT_GRID = np.round(np.arange(0.01, 1.001, 0.01), 3)
BANDS_USED = (0, 1)  # XS1, XS2: the most sensitive to aerosols, the least to vegetation growth
PRIOR_WEIGHT = 0.02  # cost (reflectance) per unit of AOT away from the prior: weak evidence keeps the prior
MIN_PIXELS = 500  # fewer stable clear pixels: the default AOT
MAX_SAMPLE = 20000
MULTI_TEMPORAL, DEFAULT = "multi-temporal", "default"


def estimate(toa: np.ndarray, comp: np.ndarray, heights: np.ndarray, coeffs: list[smac.Coefficients],
             angles: Angles, default: float) -> tuple[float, str]:
    """(AOT550, source) from sample pixels: ``toa`` and ``comp`` (band, n) reflectance, ``heights`` (n,) m.

    The AOT minimises the median over pixels of the absolute difference to
    the composite summed over XS1 and XS2 (robust to the pixels that did
    change), plus :data:`PRIOR_WEIGHT` times its distance to ``default``.
    """
    n = toa.shape[1]
    if n < MIN_PIXELS:
        return default, DEFAULT
    if n > MAX_SAMPLE:  # a regular subsample: deterministic
        keep = np.linspace(0, n - 1, MAX_SAMPLE).astype(np.int64)
        toa, comp, heights = toa[:, keep], comp[:, keep], heights[keep]
    aot = AOT_GRID[:, None]
    cost = np.zeros((len(AOT_GRID), toa.shape[1]))
    for k in BANDS_USED:
        cost += np.abs(invert(toa[k][None], *terms(coeffs[k], angles, heights[None], aot)) - comp[k][None])
    best = int(np.argmin(np.median(cost, axis=1) + PRIOR_WEIGHT * np.abs(AOT_GRID - default)))
    return float(AOT_GRID[best]), MULTI_TEMPORAL
