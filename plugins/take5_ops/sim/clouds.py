"""Clouds: soft noise layers at altitude, their TOA reflectance and their shadows.

A layer is a smooth noise field thresholded so that it covers a requested
fraction of the scene; ``thickness`` rises from 0 at the edge to 1 in the
core. It is seen along the line of sight (the caller gives the point of the
layer seen by each pixel) and casts a shadow on the ground along the sun
direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from take5_ops.sim.fields import SmoothNoise

SHADOW_DEPTH = 0.68  # a full shadow keeps 32 % of the surface reflectance
EDGE = 0.8  # noise units from the edge of a cloud to its thick core
CLOUD_ALPHA = 0.1  # opacity above which a pixel counts as cloud in the truth mask


@dataclass(frozen=True)
class CloudLayer:
    altitude: float  # metres above the ellipsoid
    noise: SmoothNoise
    threshold: float

    def thickness(self, x, y) -> np.ndarray:
        """0 outside the cloud, rising to 1 in its core."""
        return np.clip((self.noise(x, y) - self.threshold) / EDGE, 0.0, 1.0)

    def opacity(self, x, y) -> np.ndarray:
        return np.clip(3.0 * self.thickness(x, y), 0.0, 1.0)

    def reflectance(self, thickness) -> np.ndarray:
        """TOA reflectance (4, ...) of the cloud, bands XS1, XS2, XS3, SWIR: bright and nearly flat."""
        level = 0.3 + 0.62 * np.asarray(thickness) ** 0.7
        swir = 0.45 if self.altitude > 6000.0 else 0.7  # ice clouds are darker in the SWIR
        return level[None] * np.array([1.0, 0.99, 0.96, swir]).reshape((4,) + (1,) * np.ndim(thickness))


def make_layers(seed: int, cover: float, altitudes, centre, extent: float) -> list[CloudLayer]:
    """Layers at ``altitudes`` covering together about ``cover`` of a square of ``extent`` m around ``centre``."""
    layers = []
    if cover <= 0.0 or not len(altitudes):
        return layers
    share = 1.0 - (1.0 - min(cover, 0.999)) ** (1.0 / len(altitudes))
    t = np.linspace(-extent / 2.0, extent / 2.0, 160)
    sx, sy = np.meshgrid(centre[0] + t, centre[1] + t)
    for k, altitude in enumerate(altitudes):
        noise = SmoothNoise(seed + k, 1500.0, 20000.0, waves=12, origin=centre)
        # thickness > 0 where the noise exceeds the threshold; count from opacity > CLOUD_ALPHA
        threshold = float(np.quantile(noise(sx, sy), 1.0 - share)) - CLOUD_ALPHA * EDGE / 3.0
        layers.append(CloudLayer(float(altitude), noise, threshold))
    return layers


def shadow_factor(layers, x, y, h, sun_dx: float, sun_dy: float):
    """(factor multiplying the surface reflectance, shadow opacity) at ground (x, y, h).

    (sun_dx, sun_dy) is the horizontal offset per metre of height towards the
    sun, tan(sun zenith) times the sun's grid direction.
    """
    lit = np.ones(np.broadcast(x, y).shape)
    for layer in layers:
        dz = np.maximum(layer.altitude - h, 0.0)
        lit *= 1.0 - layer.opacity(x + dz * sun_dx, y + dz * sun_dy)
    return 1.0 - SHADOW_DEPTH * (1.0 - lit), 1.0 - lit
