"""Footprint of the valid pixels of a product: a lon/lat polygon for the catalog.

While strips of the valid mask go by, :func:`row_extremes` keeps the outer
corners of the first and last valid pixel of each row; :func:`footprint`
makes their convex hull, drops vertices that are within a pixel of a straight
edge, and converts it to a GeoJSON polygon in WGS84.
"""

from __future__ import annotations

import numpy as np
from pyproj import Transformer
from rasterio.transform import Affine
from scipy.spatial import ConvexHull


def row_extremes(valid: np.ndarray, row0: int) -> np.ndarray:
    """(n, 2) float (col, row) pixel-corner points bounding each row's valid pixels of a strip."""
    rows = np.flatnonzero(valid.any(axis=1))
    if rows.size == 0:
        return np.empty((0, 2))
    first = valid[rows].argmax(axis=1)
    last = valid.shape[1] - valid[rows, ::-1].argmax(axis=1)
    r = (rows + row0).astype(float)
    cols = np.concatenate([first, first, last, last]).astype(float)
    return np.column_stack([cols, np.concatenate([r, r + 1, r, r + 1])])


def _simplify(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Drop vertices closer than ``tolerance`` to the segment joining their neighbours."""
    pts = list(map(tuple, ring))
    changed = True
    while changed and len(pts) > 3:
        changed = False
        for i in range(len(pts)):
            (ax, ay), (bx, by), (cx, cy) = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
            base = np.hypot(cx - ax, cy - ay)
            if base > 0 and abs((cx - ax) * (by - ay) - (cy - ay) * (bx - ax)) / base < tolerance:
                del pts[i]
                changed = True
                break
    return np.array(pts)


def footprint(points: np.ndarray, transform: tuple[float, ...], crs: str) -> tuple[dict, list[float]]:
    """GeoJSON polygon (lon/lat, counter-clockwise, 7 decimals) and bbox of the hull of pixel points."""
    hull = points[ConvexHull(points).vertices]  # counter-clockwise in (col, row) = clockwise on the map
    ring = _simplify(hull, tolerance=1.0)[::-1]
    xs, ys = Affine(*transform) @ (ring[:, 0], ring[:, 1])
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    coords = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon, lat)]
    coords.append(coords[0])
    bbox = [min(c[0] for c in coords), min(c[1] for c in coords), max(c[0] for c in coords), max(c[1] for c in coords)]
    return {"type": "Polygon", "coordinates": [coords]}, bbox
