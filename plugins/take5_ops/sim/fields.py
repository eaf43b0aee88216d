"""Deterministic building blocks: seeds from names, cell hashes, smooth noise.

Everything the simulator draws is a function of (site, date, seed) only, so
that the same call gives the same bytes on any machine.
"""

from __future__ import annotations

import hashlib

import numpy as np


def seed_of(*keys) -> int:
    """A 63-bit seed from any printable keys (stable across runs and platforms)."""
    return int.from_bytes(hashlib.sha256(repr(keys).encode()).digest()[:8], "little") >> 1


def rng(*keys) -> np.random.Generator:
    """A numpy generator seeded by :func:`seed_of`."""
    return np.random.default_rng(seed_of(*keys))


def cell_hash(i, j, seed: int) -> np.ndarray:
    """Uniform [0, 1) value per integer cell (i, j): a splitmix64-style hash."""
    with np.errstate(over="ignore"):
        h = (np.asarray(i, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             ^ np.asarray(j, dtype=np.int64).astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
             ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF))
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class SmoothNoise:
    """Band-limited noise: a sum of ``waves`` plane waves with wavelengths in [lo, hi] metres.

    Values have zero mean and unit variance over a large area; the field is
    analytic (defined everywhere, no raster), relative to ``origin``.
    """

    def __init__(self, seed: int, lo: float, hi: float, waves: int = 8, origin=(0.0, 0.0), slope: float = 1.0):
        g = np.random.default_rng(seed)
        wavelength = np.exp(g.uniform(np.log(lo), np.log(hi), waves))
        theta = g.uniform(0.0, np.pi, waves)
        k = 2.0 * np.pi / wavelength
        self.kx, self.ky = k * np.sin(theta), k * np.cos(theta)
        self.phase = g.uniform(0.0, 2.0 * np.pi, waves)
        amp = (wavelength / hi) ** slope  # longer waves stronger: a red spectrum
        self.amp = amp / np.sqrt(0.5 * np.sum(amp ** 2))
        self.origin = origin

    def __call__(self, x, y) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64) - self.origin[0]
        y = np.asarray(y, dtype=np.float64) - self.origin[1]
        out = np.zeros(np.broadcast(x, y).shape)
        for kx, ky, ph, a in zip(self.kx, self.ky, self.phase, self.amp):
            out += a * np.cos(kx * x + ky * y + ph)
        return out
