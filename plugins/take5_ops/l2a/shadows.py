"""Cloud shadows found geometrically, on a coarse grid: project each cloud along the sun for a range of
cloud altitudes and keep, per cloud, the altitudes whose projection falls on darkened pixels.

A cloud pixel is where the line of sight meets the cloud; the cloud itself
is ``dz tan(view zenith)`` towards the satellite, and its shadow
``dz tan(sun zenith)`` away from the sun, ``dz`` the cloud's height above
the ground. Both azimuths are turned from true north to grid north.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from take5_ops.geodesy import grid_azimuth
from take5_ops.l2a.inputs import Angles
from take5_ops.siteconfig import SiteConfig

HEIGHTS = np.arange(0.0, 8001.0, 250.0)  # cloud height above the ground, m
MIN_SCORE = 0.25  # darkened fraction under a projection minus RING_WEIGHT x that around it, to accept a height
MIN_CELLS = 4  # projected cells needed to score an altitude
KEEP = 0.75  # altitudes within this fraction of a cloud's best score are kept too
RING, RING_WEIGHT = 2, 0.5  # cells around a projection, and the weight of their darkened fraction


def offsets(site: SiteConfig, angles: Angles, cell: float) -> np.ndarray:
    """(row, col) offsets, in cells of ``cell`` metres, from a cloud pixel to its shadow, per height of
    :data:`HEIGHTS` (shape (len(HEIGHTS), 2), rounded to whole cells)."""
    c = site.center
    sun = np.radians(grid_azimuth(site.grid.epsg, c.lon, c.lat, angles.sun_azimuth))
    view = np.radians(grid_azimuth(site.grid.epsg, c.lon, c.lat, angles.view_azimuth))
    ts, tv = np.tan(np.radians(angles.sun_zenith)), np.tan(np.radians(angles.view_zenith))
    dx = HEIGHTS * (tv * np.sin(view) - ts * np.sin(sun))
    dy = HEIGHTS * (tv * np.cos(view) - ts * np.cos(sun))
    return np.rint(np.stack([-dy, dx], axis=1) / cell).astype(np.int64)


def shift(a: np.ndarray, dr: int, dc: int, fill=0) -> np.ndarray:
    """``a`` moved by (dr, dc) cells, ``fill`` where nothing comes in."""
    out = np.full_like(a, fill)
    h, w = a.shape
    if abs(dr) >= h or abs(dc) >= w:
        return out
    out[max(dr, 0):h + min(dr, 0), max(dc, 0):w + min(dc, 0)] = a[max(-dr, 0):h - max(dr, 0), max(-dc, 0):w - max(dc, 0)]
    return out


def altitudes(cloud: np.ndarray, dark: np.ndarray, valid: np.ndarray,
              steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cloud labels, chosen) on the coarse grid: ``chosen[k, label]`` when height ``k`` fits the cloud.

    ``cloud``: cloudy cells (bool); ``dark``: fraction of darkened pixels per
    cell; ``valid``: cells with a composite to compare with; ``steps``: :func:`offsets`.
    A height scores the darkened fraction under the cloud's projection minus
    :data:`RING_WEIGHT` times that in a :data:`RING` around it: a shadow has
    the cloud's outline, a dark surface larger than the projection (a scar, a
    lake) scores half as much as a shadow would (neighbouring shadows make the
    surroundings of a true shadow dark too: they are not held fully against it).
    """
    labels, n = ndimage.label(cloud)
    scores = np.zeros((len(steps), n + 1))
    open_ground = valid & ~cloud
    for k, (dr, dc) in enumerate(steps if n else ()):
        moved = shift(labels, dr, dc)
        around = ndimage.grey_dilation(moved, size=2 * RING + 1)
        inner, outer = open_ground & (moved > 0), open_ground & (moved == 0) & (around > 0)
        count = np.bincount(moved[inner], minlength=n + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            inside = np.bincount(moved[inner], weights=dark[inner], minlength=n + 1) / count
            ring = np.bincount(around[outer], weights=dark[outer], minlength=n + 1) \
                / np.bincount(around[outer], minlength=n + 1)
        scores[k] = np.where(count >= MIN_CELLS, inside - RING_WEIGHT * np.nan_to_num(ring), 0.0)
    best = scores.max(axis=0)
    chosen = (scores >= np.maximum(KEEP * best, MIN_SCORE)[None]) & (best[None] >= MIN_SCORE)
    chosen[:, 0] = False  # label 0 is the background
    return labels, chosen


def zone_of(labels: np.ndarray, chosen: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Cells (bool) covered by the clouds of ``labels`` projected at their chosen heights."""
    zone = np.zeros(labels.shape, bool)
    for k, (dr, dc) in enumerate(steps):
        if chosen[k].any():
            zone |= shift(chosen[k][labels], dr, dc, False)
    return zone


def shadow_zone(cloud: np.ndarray, dark: np.ndarray, valid: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Cells (bool) where shadows of the clouds may be, on the coarse grid (see :func:`altitudes`)."""
    return zone_of(*altitudes(cloud, dark, valid, steps), steps)


def outside_zone(outside: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Cells where clouds beyond ``outside`` cells (no data) or beyond the grid may cast a shadow, for the
    cloud heights of ``steps``."""
    zone = np.zeros(outside.shape, bool)
    for dr, dc in steps:
        zone |= shift(outside, dr, dc, True)
    return zone


SUN_TOO_LOW = 80.0  # sun zenith, degrees (MG2 bit 6)
TANGENT = np.sin(np.radians(6.0))  # MG2 bit 7: sun less than 6 degrees above the slope


def topography(heights: np.ndarray, angles: Angles, cell: float) -> np.ndarray:
    """MG2 bits 4..7 (uint8) on the coarse grid: topographic shadow, hidden face, sun too low, tangent sun."""
    gy, gx = np.gradient(heights.astype(np.float64), cell)  # rows go south: -gy is the northward slope
    nx, ny, nz = -gx, gy, np.ones_like(gx)  # surface normal (east, north, up), not normalised
    norm = np.sqrt(nx * nx + ny * ny + nz * nz)

    def cos_incidence(zenith: float, azimuth: float) -> np.ndarray:
        z, a = np.radians(zenith), np.radians(azimuth)
        return (nx * np.sin(z) * np.sin(a) + ny * np.sin(z) * np.cos(a) + nz * np.cos(z)) / norm

    sun = cos_incidence(angles.sun_zenith, angles.sun_azimuth)
    view = cos_incidence(angles.view_zenith, angles.view_azimuth)
    bits = (sun < 0) * 16 + (view < 0) * 32 + (angles.sun_zenith > SUN_TOO_LOW) * 64 + ((sun >= 0) & (sun < TANGENT)) * 128
    return bits.astype(np.uint8)
