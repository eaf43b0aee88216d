"""Sensor geometry: the exact pushbroom-like model, its RPC00B fit, and ground point search.

The exact model maps a ground point (UTM x, y, height h) to image (line,
sample): the point is shifted across track by the terrain parallax
h tan(view zenith) away from the satellite, then rotated by the scene
orientation against UTM north and scaled by the pixel size; line 0, sample 0
is the centre of the first pixel. The RPC fitted to it (a cubic polynomial in
normalised lon, lat, h; denominators 1) is what the L1A carries, and what the
simulation itself uses, so that GDAL's RPC transformer reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pyproj import Transformer
from rasterio.rpc import RPC

from take5_ops.l1c.rpc import rpc_image, rpc_terms


@dataclass(frozen=True)
class SensorModel:
    """Exact model of one scene: ``size`` x ``size`` pixels of ``resolution`` metres."""

    epsg: int
    size: int
    x0: float  # UTM of the ground point (h = 0) seen at the scene centre
    y0: float
    grid_angle: float  # degrees, clockwise from UTM grid north, of the image "up"
    incidence: float  # degrees, signed: >= 0 when the satellite is on the right of "up"
    resolution: float = 10.0

    @property
    def centre(self) -> float:
        return (self.size - 1) / 2.0

    @property
    def parallax(self) -> float:
        """Across-track shift in pixels per metre of height (towards lower samples when incidence >= 0)."""
        return np.sign(self.incidence or 1.0) * np.tan(np.radians(abs(self.incidence))) / self.resolution

    def image(self, x, y, h):
        """(line, sample) of ground points."""
        a = np.radians(self.grid_angle)
        dx, dy = np.asarray(x) - self.x0, np.asarray(y) - self.y0
        sample = self.centre + (dx * np.cos(a) - dy * np.sin(a)) / self.resolution - self.parallax * np.asarray(h)
        line = self.centre - (dx * np.sin(a) + dy * np.cos(a)) / self.resolution
        return line, sample

    def ground(self, line, sample, h):
        """(x, y) seen at (line, sample) at height ``h``: the inverse of :meth:`image`."""
        a = np.radians(self.grid_angle)
        u = (np.asarray(sample) + self.parallax * np.asarray(h) - self.centre) * self.resolution
        v = (self.centre - np.asarray(line)) * self.resolution
        return self.x0 + u * np.cos(a) + v * np.sin(a), self.y0 - u * np.sin(a) + v * np.cos(a)

    @cached_property
    def to_lonlat(self) -> Transformer:
        return Transformer.from_crs(self.epsg, 4326, always_xy=True)

    @cached_property
    def to_utm(self) -> Transformer:
        return Transformer.from_crs(4326, self.epsg, always_xy=True)


def fit_rpc(model: SensorModel, h_min: float, h_max: float, points: int = 25, levels: int = 7) -> RPC:
    """RPC00B fitted by least squares to ``model`` on a (line, sample, height) grid.

    The result has passed through its text form (as GDAL stores it), so that
    evaluating it gives what a reader of the file gets.
    """
    h_min, h_max = min(h_min, h_max - 1.0) - 50.0, h_max + 50.0
    margin = 0.05 * model.size
    ls = np.linspace(-margin, model.size - 1 + margin, points)
    line, sample, h = np.meshgrid(ls, ls, np.linspace(h_min, h_max, levels), indexing="ij")
    line, sample, h = line.ravel(), sample.ravel(), h.ravel()
    lon, lat = model.to_lonlat.transform(*model.ground(line, sample, h))
    off = dict(long_off=float(np.mean(lon)), lat_off=float(np.mean(lat)), height_off=(h_min + h_max) / 2.0)
    scale = dict(long_scale=float(np.ptp(lon)) / 2.0, lat_scale=float(np.ptp(lat)) / 2.0,
                 height_scale=(h_max - h_min) / 2.0)
    t = np.array(rpc_terms((lon - off["long_off"]) / scale["long_scale"], (lat - off["lat_off"]) / scale["lat_scale"],
                           (h - off["height_off"]) / scale["height_scale"])).T
    half = model.size / 2.0
    num_line = np.linalg.lstsq(t, (line - model.centre) / half, rcond=None)[0]
    num_samp = np.linalg.lstsq(t, (sample - model.centre) / half, rcond=None)[0]
    den = [1.0] + [0.0] * 19
    rpc = RPC(line_num_coeff=list(map(float, num_line)), samp_num_coeff=list(map(float, num_samp)),
              line_den_coeff=den, samp_den_coeff=den, line_off=model.centre, samp_off=model.centre,
              line_scale=half, samp_scale=half, **off, **scale)
    return RPC.from_gdal(rpc.to_gdal())


def locate(model: SensorModel, rpc: RPC, height, line, sample, tolerance: float = 1e-3, max_iter: int = 40):
    """Ground points (x, y, h) seen at (line, sample) on the terrain ``height(x, y)``.

    Iterates h <- height(model.ground(line, sample, h)) to convergence, then
    corrects by the (tiny, smooth) RPC-minus-model difference so that
    ``rpc_image(rpc, lon, lat, h)`` hits (line, sample).
    """
    line, sample = np.asarray(line, dtype=np.float64), np.asarray(sample, dtype=np.float64)
    h = np.full(np.broadcast(line, sample).shape, 0.0)
    for _ in range(max_iter):
        x, y = model.ground(line, sample, h)
        h_new = height(x, y)
        done = np.max(np.abs(h_new - h), initial=0.0) < tolerance
        h = h_new
        if done:
            break
    lon, lat = model.to_lonlat.transform(x, y)
    rl, rs = rpc_image(rpc, lon, lat, h)
    ml, ms = model.image(x, y, h)
    x, y = model.ground(line - (rl - ml), sample - (rs - ms), h)
    return x, y, height(x, y)
