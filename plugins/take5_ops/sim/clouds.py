"""Clouds, smoke and veils: soft layers at altitude, their TOA reflectance and their shadows.

A layer's ``shape`` gives noise units at a point of the layer; ``thickness``
rises from 0 where the shape crosses the threshold to 1 in the core (over
``edge`` units). The usual cloud layer is smooth noise thresholded to cover
a requested fraction of the scene, optionally with a turbulent (fractal)
edge; :func:`blob` places one cloud, :func:`smoke` and :func:`veil` make
semi-transparent layers. A layer is seen along the line of sight (the caller
gives the point of the layer seen by each pixel) and casts a shadow on the
ground along the sun direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from take5_ops.sim.fields import SmoothNoise

SHADOW_DEPTH = 0.68  # a full cloud shadow keeps 32 % of the surface reflectance
EDGE = 0.8  # noise units from the edge of a cloud to its thick core
CLOUD_ALPHA = 0.1  # opacity above which a pixel counts as cloud in the truth mask
CLOUD_SPECTRUM = (1.0, 0.99, 0.96, 0.7)  # times the level; SWIR x 0.45 for ice clouds above 6 km
SMOKE_SPECTRUM = (0.30, 0.26, 0.17, 0.09)  # TOA reflectance of a thick smoke: bluer than a cloud


@dataclass(frozen=True)
class CloudStyle:
    """How a scene's cloud layers look: feature sizes (m), turbulent edge amplitude (noise units), edge width."""

    small: float = 1500.0
    large: float = 20000.0
    turbulence: float = 0.0
    edge: float = EDGE


@dataclass(frozen=True)
class CloudLayer:
    altitude: float  # metres above the ellipsoid
    shape: Callable  # (x, y) -> noise units
    threshold: float
    edge: float = EDGE
    gain: float = 3.0  # opacity per unit of thickness
    max_opacity: float = 1.0
    spectrum: tuple | None = None  # fixed TOA reflectance (smoke); None: a cloud's
    shadow_depth: float = SHADOW_DEPTH

    def thickness(self, x, y) -> np.ndarray:
        """0 outside the layer, rising to 1 in its core."""
        return np.clip((self.shape(x, y) - self.threshold) / self.edge, 0.0, 1.0)

    def opacity(self, x, y) -> np.ndarray:
        return self.opacity_of(self.thickness(x, y))

    def opacity_of(self, thickness) -> np.ndarray:
        return np.clip(self.gain * thickness, 0.0, self.max_opacity)

    def reflectance(self, thickness) -> np.ndarray:
        """TOA reflectance (4, ...) of the layer, bands XS1, XS2, XS3, SWIR."""
        shape = (4,) + (1,) * np.ndim(thickness)
        if self.spectrum is not None:
            return np.ones_like(thickness)[None] * np.array(self.spectrum).reshape(shape)
        level = 0.3 + 0.62 * np.asarray(thickness) ** 0.7
        spectrum = np.array(CLOUD_SPECTRUM[:3] + ((0.45 if self.altitude > 6000.0 else 0.7),))
        return level[None] * spectrum.reshape(shape)


class Turbulent:
    """A smooth field plus ``amount`` times a short-wavelength one: fractal, torn cloud edges."""

    def __init__(self, base: Callable, detail: Callable, amount: float):
        self.base, self.detail, self.amount = base, detail, amount

    def __call__(self, x, y) -> np.ndarray:
        return self.base(x, y) + self.amount * self.detail(x, y)


def make_layers(seed: int, cover: float, altitudes, centre, extent: float,
                style: CloudStyle = CloudStyle()) -> list[CloudLayer]:
    """Layers at ``altitudes`` covering together about ``cover`` of a square of ``extent`` m around ``centre``."""
    layers = []
    if cover <= 0.0 or not len(altitudes):
        return layers
    share = 1.0 - (1.0 - min(cover, 0.999)) ** (1.0 / len(altitudes))
    t = np.linspace(-extent / 2.0, extent / 2.0, 160)
    sx, sy = np.meshgrid(centre[0] + t, centre[1] + t)
    for k, altitude in enumerate(altitudes):
        shape = SmoothNoise(seed + k, style.small, style.large, waves=12, origin=centre)
        if style.turbulence:
            shape = Turbulent(shape, SmoothNoise(seed + 100 + k, 60.0, 900.0, waves=24, origin=centre, slope=0.3),
                              style.turbulence)
        # thickness > 0 where the noise exceeds the threshold; count from opacity > CLOUD_ALPHA
        threshold = float(np.quantile(shape(sx, sy), 1.0 - share)) - CLOUD_ALPHA * style.edge / 3.0
        layers.append(CloudLayer(float(altitude), shape, threshold, style.edge))
    return layers


def blob(seed: int, x: float, y: float, radius: float, altitude: float) -> CloudLayer:
    """One cloud of about ``radius`` m centred on (x, y) of its layer, with a ragged edge."""
    ragged = SmoothNoise(seed, 150.0, 1200.0, waves=16, origin=(x, y), slope=0.5)
    return CloudLayer(float(altitude), lambda px, py: 1.0 - np.hypot(px - x, py - y) / radius + 0.15 * ragged(px, py),
                      0.0, 0.35)


def smoke(seed: int, x: float, y: float, length: float, width: float, azimuth: float, opacity: float,
          altitude: float = 1500.0) -> CloudLayer:
    """A plume from (x, y) drifting towards ``azimuth`` (degrees from grid north): Gaussian across, widening
    and thinning downwind, billowy, no hard edge; at most ``opacity``; a faint shadow."""
    a = np.radians(azimuth)
    billows = SmoothNoise(seed, 200.0, 2000.0, waves=12, origin=(x, y))

    def shape(px, py):
        along = (px - x) * np.sin(a) + (py - y) * np.cos(a)
        across = (px - x) * np.cos(a) - (py - y) * np.sin(a)
        spread = width * (0.3 + np.clip(along, 0.0, None) / length)
        core = np.exp(-0.5 * (across / spread) ** 2) * np.exp(-np.clip(along, 0.0, None) / length)
        return np.where(along > -width * 0.3, core * (1.0 + 0.25 * billows(px, py)), 0.0)

    return CloudLayer(float(altitude), shape, 0.0, 1.0, gain=opacity, max_opacity=opacity,
                      spectrum=SMOKE_SPECTRUM, shadow_depth=0.35)


def veil(seed: int, centre, opacity: float, altitude: float = 7000.0) -> CloudLayer:
    """A thin cloud over the whole scene: opacity ``opacity`` +- 30 %, slowly varying."""
    noise = SmoothNoise(seed, 3000.0, 30000.0, waves=8, origin=centre)
    # thickness about 0.05 (a cloud's faint edge, reflectance ~0.37) with the opacity asked for
    return CloudLayer(float(altitude), lambda x, y: 1.0 + 0.15 * np.clip(noise(x, y), -2.0, 2.0), 0.0, 20.0,
                      gain=20.0 * opacity)


def shadow_factor(layers, x, y, h, sun_dx: float, sun_dy: float):
    """(factor multiplying the surface reflectance, shadow strength in cloud-opacity units) at ground (x, y, h).

    (sun_dx, sun_dy) is the horizontal offset per metre of height towards the
    sun, tan(sun zenith) times the sun's grid direction. The strength is the
    darkening over :data:`SHADOW_DEPTH` (a cloud's opacity above it).
    """
    lit = np.ones(np.broadcast(x, y).shape)
    other = np.ones_like(lit)
    for layer in layers:
        dz = np.maximum(layer.altitude - h, 0.0)
        opacity = layer.opacity(x + dz * sun_dx, y + dz * sun_dy)
        if layer.shadow_depth == SHADOW_DEPTH:
            lit *= 1.0 - opacity
        else:
            other *= 1.0 - layer.shadow_depth * opacity
    factor = (1.0 - SHADOW_DEPTH * (1.0 - lit)) * other
    return factor, np.where(other < 1.0, (1.0 - factor) / SHADOW_DEPTH, 1.0 - lit)
