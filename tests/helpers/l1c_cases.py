"""A small site and scene for L1C tests, and a sub-pixel shift estimator."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from helpers.paths import SITE_CONFIGS
from take5_ops.siteconfig import load_site_config

ACQUIRED = datetime(2015, 4, 29, 11, 0, 11, tzinfo=UTC)
GRID = 560


def small_site():
    """FrancePornic with a 560 x 560 grid around the site's centre (the scene is 500 x 500 px)."""
    site = load_site_config(SITE_CONFIGS / "FrancePornic.yaml")
    g = site.grid
    shift = (g.width - GRID) // 2 * g.resolution
    grid = g.model_copy(update={"ulx": g.ulx + shift, "uly": g.uly - shift, "width": GRID, "height": GRID})
    return site.model_copy(update={"grid": grid})


def phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Sub-pixel (dy, dx) of b relative to a by phase correlation (parabolic peak fit)."""
    fa, fb = np.fft.fft2(a - a.mean()), np.fft.fft2(b - b.mean())
    r = fa.conj() * fb
    corr = np.fft.ifft2(r / np.maximum(np.abs(r), 1e-12)).real
    iy, ix = np.unravel_index(np.argmax(corr), corr.shape)
    out = []
    for axis, i in ((0, iy), (1, ix)):
        n = corr.shape[axis]
        take = (lambda k, n=n: corr[k % n, ix]) if axis == 0 else (lambda k, n=n: corr[iy, k % n])
        c0, cm, cp = take(i), take(i - 1), take(i + 1)
        frac = 0.5 * (cm - cp) / (cm - 2 * c0 + cp)
        out.append(((i + frac + n / 2) % n) - n / 2)
    return out[0], out[1]
