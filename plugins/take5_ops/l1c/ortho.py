"""Orthorectification of an L1A onto a site grid, strip by strip (RPC + DEM), in numpy.

Geometry: the exact model is the L1A's RPC00B (:func:`rpc_image`, GDAL's term
order; line 0, sample 0 = centre of the first pixel) evaluated at each output
pixel centre (x, y) with the height h(x, y) of the site DEM, interpolated
bilinearly between DEM pixel centres as GDAL's RPC transformer does
(:class:`Heights`). The model is evaluated exactly on a lattice every
:data:`LATTICE_STEP` pixels at :data:`HEIGHT_LEVELS` heights spanning the
strip's DEM range, fitted per node by a quadratic in h; the coefficients are
interpolated bilinearly to every pixel and evaluated at that pixel's own
height (:class:`Geometry`): within 0.01 px of GDAL's exact transformer
(tests/integration/test_ortho.py: 1e-4 px), terrain detail between the nodes included.

Resampling: bilinear, as GDAL's warper does it (:func:`resample`). The source
rows a strip needs are held packed, one uint64 per pixel (DN of XS1, XS2,
XS3, SWIR in bytes 0-3, flags in byte 4: bit k = band k saturated (DN 255),
bit 4 = no-data (XS1 DN 0)), so one gather per neighbour fetches everything
(:class:`SourceRows`). A pixel is saturated in a band when a neighbour with a
positive weight is; it is valid when its source position is inside the image
(pixel edges), its height is known and no neighbour with a positive weight is
no-data. The pixels agree with GDAL's exact warp (``rasterio.warp.reproject``
with the RPCs and ``RPC_DEM``, the test oracle) to 1e-4 DN on average.

Work is done in blocks of :data:`BLOCK_ROWS` rows shared by threads (numpy
releases the GIL), with large buffers kept from strip to strip: memory stays
bounded (~450 MB for a 6000 x 6000 scene onto a 6600 x 6600 grid).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.rpc import RPC
from rasterio.transform import Affine
from rasterio.windows import Window
from scipy.sparse import csr_matrix

from take5_ops.l1a.metadata import BANDS
from take5_ops.l1c.reading import reading
from take5_ops.l1c.rpc import rpc_image

SATURATED_DN = 255
NODATA_FLAG = 1 << len(BANDS)
LATTICE_STEP = 16
HEIGHT_LEVELS = 4
ROW_MARGIN = 2  # source rows read beyond the lattice's extremes
BLOCK_ROWS = 2 * LATTICE_STEP  # rows per unit of work (cache-sized temporaries)
READ_ROWS = 128  # source rows per read


@dataclass(frozen=True)
class Strip:
    """Rows ``row0 .. row0 + height`` of the output grid.

    ``dn``: float32 (4, h, w) resampled DN in XS1, XS2, XS3, SWIR order;
    ``saturated``: bool (4, h, w); ``valid``: bool (h, w), inside the scene.
    ``dn`` and ``saturated`` are meaningful where ``valid`` only.
    """

    row0: int
    dn: np.ndarray
    saturated: np.ndarray
    valid: np.ndarray


def upsample(nodes: np.ndarray, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear interpolation of lattice values (node (i, j) at pixel (i step, j step)) onto ``shape`` pixels.

    float32 (shape); the lattice must reach the last row and column.
    """
    t = np.arange(step, dtype=np.float32) / np.float32(step)
    nodes = nodes.astype(np.float32)
    along = nodes[:, :-1, None] + np.diff(nodes, axis=1)[:, :, None] * t
    along = along.reshape(nodes.shape[0], -1)[:, :shape[1]]
    full = np.multiply(np.diff(along, axis=0)[:, None, :], t[None, :, None])
    full += along[:-1, None, :]
    return full.reshape(-1, shape[1])[:shape[0]]


class Geometry:
    """Ground -> image of a site grid's pixel centres: RPC + per-pixel height, exact on a lattice.

    ``image(row0, h)`` gives float32 (line, sample) of the grid rows ``row0 ..
    row0 + len(h)`` whose heights are ``h``.
    """

    def __init__(self, rpc: RPC, crs: str, transform: Affine, step: int = LATTICE_STEP,
                 levels: int = HEIGHT_LEVELS):
        self.rpc, self.transform, self.step = rpc, transform, step
        self.to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        self.levels = np.cos(np.pi * (2 * np.arange(levels) + 1) / (2 * levels))  # Chebyshev nodes in -1..1
        self.fit = np.linalg.pinv(np.vander(self.levels, 3, increasing=True))  # (3, levels)

    def nodes(self, row0: int, shape: tuple[int, int], h_lo: float, h_hi: float):
        """Lattice of the grid rows ``row0 .. row0 + shape[0]`` for heights ``h_lo .. h_hi``: per node, the
        coefficients (2, 3, nr, nc) of (line, sample) quadratic in the normalised height, and the
        normalisation (centre, half range)."""
        s = self.step
        rows = row0 + s * np.arange(-(-(shape[0] - 1) // s) + 1)
        cols = s * np.arange(-(-(shape[1] - 1) // s) + 1)
        x, y = self.transform @ np.meshgrid(cols + 0.5, rows + 0.5)
        lon, lat = self.to_lonlat.transform(x, y)
        centre, half = (h_hi + h_lo) / 2.0, max((h_hi - h_lo) / 2.0, 1.0)
        heights = centre + half * self.levels
        line, sample = rpc_image(self.rpc, lon[..., None], lat[..., None], heights)
        coef = np.einsum("kl,nrcl->nkrc", self.fit, np.stack([line, sample]))
        return coef, centre, half

    def image(self, row0: int, h: np.ndarray, nodes=None) -> tuple[np.ndarray, np.ndarray]:
        """float32 (line, sample) of the grid rows ``row0 ..`` with the (finite) heights ``h``;
        ``nodes`` (from :meth:`nodes`, its first row at ``row0``) are computed when not given."""
        coef, centre, half = nodes or self.nodes(row0, h.shape, float(h.min()), float(h.max()))
        hn = (h - np.float32(centre)) * np.float32(1.0 / half)
        out = []
        for c0, c1, c2 in coef:
            v = upsample(c2, self.step, h.shape)
            v *= hn
            v += upsample(c1, self.step, h.shape)
            v *= hn
            v += upsample(c0, self.step, h.shape)
            out.append(v)
        return out[0], out[1]


class Heights:
    """Site DEM heights at the grid's pixel centres, bilinear between DEM pixel centres (as GDAL's RPC
    transformer interpolates ``RPC_DEM``); NaN outside the DEM or next to its no-data.

    The DEM must be in the grid's CRS, north up (delivery contract); any resolution and origin.
    """

    def __init__(self, dem, crs: str, grid: Affine, width: int):
        if dem.crs != CRS.from_user_input(crs) or dem.transform.b or dem.transform.d or grid.b or grid.d:
            raise ValueError(f"{dem.name}: the DEM must be in the grid's CRS {crs}, north up (it is {dem.crs})")
        self.dem, self.grid = dem, grid
        t = dem.transform
        u = (grid.c + grid.a * (np.arange(width) + 0.5) - t.c) / t.a - 0.5  # DEM column, 0 = first centre
        self.col = np.floor(u).astype(np.intp)
        self.fx = (u - self.col).astype(np.float32)
        self.col_ok = (self.col >= 0) & (self.col < dem.width - 1)
        np.clip(self.col, 0, max(dem.width - 2, 0), out=self.col)

    def read(self, row0: int, out: np.ndarray) -> None:
        """Heights of the grid rows ``row0 .. row0 + len(out)`` into ``out`` (float32)."""
        t = self.dem.transform
        v = (self.grid.f + self.grid.e * (row0 + np.arange(out.shape[0]) + 0.5) - t.f) / t.e - 0.5
        row = np.floor(v).astype(np.intp)
        fy = (v - row).astype(np.float32)
        ok = (row >= 0) & (row < self.dem.height - 1)
        if not ok.any() or not self.col_ok.any():
            out[:] = np.nan
            return
        a, b = int(row[ok].min()), int(row[ok].max()) + 2
        c = self.col[self.col_ok]
        ca, cb = int(c.min()), int(c.max()) + 2
        d = self.dem.read(1, window=Window(ca, a, cb - ca, b - a), out_dtype=np.float32, masked=True).filled(np.nan)
        cols = self.col - ca
        along = d[:, np.clip(cols, 0, cb - ca - 2)] * (1 - self.fx)
        along += d[:, np.clip(cols + 1, 0, cb - ca - 1)] * self.fx
        along[:, ~self.col_ok] = np.nan
        r = np.flatnonzero(ok)
        blend = csr_matrix((np.concatenate([1 - fy[r], fy[r]]), (np.tile(r, 2), np.concatenate([row[r] - a, row[r] - a + 1]))),
                           shape=(len(out), b - a), dtype=np.float32)
        out[:] = blend @ along
        out[~ok] = np.nan


class SourceRows:
    """Rows of ``IMAGERY.TIF`` packed for gathers, one uint64 per pixel (see the module docstring).

    ``rows(a, b)`` returns the packed rows ``a .. b`` in an array of width
    ``width + 1`` whose row ``b - a`` and last column are zero (the right or
    lower neighbour of the last pixel, always with a zero weight). Rows
    already held are reused; two buffers are swapped, kept from call to call
    (fresh memory is slow to touch on a large array). ``sources`` are open
    datasets of the same file, one per thread reading (and decompressing)
    blocks of rows in parallel with ``pool``.
    """

    def __init__(self, sources: list, indexes: list[int], pool: ThreadPoolExecutor | None = None):
        self.sources, self.indexes, self.pool = sources, indexes, pool
        self.width = sources[0].width
        self.a, self.b = 0, 0
        self.buf = self.spare = np.zeros((0, self.width + 1), np.uint64)
        self.lut = np.zeros((len(BANDS), 256), np.uint8)  # DN -> flags, per band
        self.lut[:, SATURATED_DN] = 1 << np.arange(len(BANDS))
        self.lut[0, 0] = NODATA_FLAG

    def rows(self, a: int, b: int) -> np.ndarray:
        if (a, b) == (self.a, self.b):
            return self.buf
        if self.spare.shape[0] < b - a + 1:
            self.spare = np.zeros((b - a + 1, self.width + 1), np.uint64)
        buf = self.spare
        keep_a, keep_b = max(a, self.a), min(b, self.b)
        if keep_a < keep_b:
            buf[keep_a - a:keep_b - a] = self.buf[keep_a - self.a:keep_b - self.a]
        missing = [(a, b)] if keep_a >= keep_b else [(a, keep_a), (keep_b, b)]
        blocks = [(r, min(r + READ_ROWS, r1)) for r0, r1 in missing for r in range(r0, r1, READ_ROWS)]
        n = len(self.sources)
        jobs = [(src, blocks[i::n]) for i, src in enumerate(self.sources)]
        list((self.pool.map if self.pool else map)(lambda job: self._read(buf, a, *job), jobs))
        buf[b - a] = 0
        self.spare, self.buf, self.a, self.b = self.buf, buf, a, b
        return buf

    def _read(self, buf: np.ndarray, a: int, src, blocks: list[tuple[int, int]]) -> None:
        """Read and flag the source rows ``r0 .. r1`` of each block into ``buf`` (row ``a`` first)."""
        for r0, r1 in blocks:
            packed = buf[r0 - a:r1 - a].view(np.uint8).reshape(r1 - r0, self.width + 1, 8)[:, :self.width]
            src.read(self.indexes, window=Window(0, r0, self.width, r1 - r0),
                     out=packed[..., :len(BANDS)].transpose(2, 0, 1))
            flags = packed[..., len(BANDS)]
            np.take(self.lut[0], packed[..., 0], out=flags)
            for k in range(1, len(BANDS)):
                flags |= self.lut[k].take(packed[..., k])


def resample(buf: np.ndarray, a: int, size: tuple[int, int], line: np.ndarray, sample: np.ndarray,
             dn: np.ndarray) -> np.ndarray:
    """Bilinear DN at the source positions ``line``, ``sample`` (n,) into ``dn`` (4, n) float32; returns the
    flags (n,) uint8, OR over the neighbours with a positive weight.

    ``buf`` holds the packed rows from row ``a`` of an image of ``size`` (height, width)
    (:class:`SourceRows`). Positions outside are clamped to the edge: flag them yourself.
    """
    stride = buf.shape[1]
    flat = buf.ravel()
    fy = np.clip(line, a, min(a + buf.shape[0] - 2, size[0] - 1))
    fx = np.clip(sample, 0, size[1] - 1)
    idx = np.floor(fy).astype(np.intp)
    col = np.floor(fx)
    fy -= idx
    fx -= col
    idx -= a
    idx *= stride
    idx += col.astype(np.intp)
    gx, gy = 1 - fx, 1 - fy
    bx, by = fx > 0, fy > 0
    w = np.empty_like(fx)
    f = len(BANDS)
    flags = np.zeros(len(idx), np.uint8)
    for j, (shift, wx, wy, contributes) in enumerate(
            ((0, gx, gy, None), (1, fx, gy, bx), (stride, gx, fy, by), (stride + 1, fx, fy, bx & by))):
        q = flat[shift:].take(idx).view(np.uint8).reshape(-1, 8)
        np.multiply(wx, wy, out=w)
        for k in range(len(BANDS)):
            if j == 0:
                np.multiply(q[:, k], w, out=dn[k])
            else:
                dn[k] += q[:, k] * w
        flags |= q[:, f] if contributes is None else q[:, f] * contributes
    return flags


def warp_strips(
    imagery: Path,
    band_index: dict[str, int],
    dem_path: Path,
    crs: str,
    transform: tuple[float, ...],
    shape: tuple[int, int],
    *,
    strip_rows: int = 512,
    threads: int = 2,
) -> Iterator[Strip]:
    """Orthorectify ``imagery`` (RPCs in the TIFF) with ``dem_path`` onto the grid, one strip at a time.

    ``band_index`` maps XS1..SWIR to 1-based TIFF bands; ``transform`` is the
    grid's (a, b, c, d, e, f). ``threads`` workers share each strip, in blocks
    of :data:`BLOCK_ROWS` rows. The strips' arrays are reused: a strip is
    valid until the next one is asked for.
    """
    height, width = shape
    grid = Affine(*transform)
    rows = min(strip_rows, height)
    buffers = (np.zeros((len(BANDS), rows, width), np.float32), np.zeros((len(BANDS), rows, width), bool),
               np.zeros((rows, width), bool), np.zeros((rows, width), np.float32))
    threads = max(1, threads)
    with ExitStack() as stack:
        with reading(imagery, "cannot open"):
            sources = [stack.enter_context(rasterio.open(imagery)) for _ in range(threads)]
        src = sources[0]
        pool = stack.enter_context(ThreadPoolExecutor(threads))
        with reading(dem_path, "cannot open the DEM"):
            heights = Heights(stack.enter_context(rasterio.open(dem_path)), crs, grid, width)
        geometry = Geometry(src.rpcs, crs, grid)
        source = SourceRows(sources, [band_index[b] for b in BANDS], pool)
        size = (src.height, src.width)
        for row0 in range(0, height, strip_rows):
            rows = min(strip_rows, height - row0)
            dn, saturated, valid, h = (v[..., :rows, :] for v in buffers)
            strip = Strip(row0, dn, saturated, valid)
            with reading(dem_path):
                heights.read(row0, h)
            known = np.isfinite(h)
            valid[:] = False
            if known.any():
                h_lo, h_hi = float(np.nanmin(h)), float(np.nanmax(h))
                np.copyto(h, np.float32((h_lo + h_hi) / 2), where=~known)
                nodes = geometry.nodes(row0, h.shape, h_lo, h_hi)
                a, b = _source_rows(nodes[0], size, geometry.step)
                if b > a:
                    with reading(imagery):
                        buf = source.rows(a, b)
                    fill = partial(_warp_block, geometry, nodes, buf, a, size, strip, h, known)
                    list(pool.map(fill, range(0, rows, BLOCK_ROWS)))
            yield strip


def _source_rows(coef: np.ndarray, size: tuple[int, int], margin: int) -> tuple[int, int]:
    """Source rows ``a .. b`` that lattice nodes (coefficients ``coef``) near the image reach, plus a margin."""
    lo = coef[:, 0] - np.abs(coef[:, 1]) - np.abs(coef[:, 2])  # over the normalised heights -1..1
    hi = coef[:, 0] + np.abs(coef[:, 1]) + np.abs(coef[:, 2])
    near = ((hi[0] >= -2 * margin) & (lo[0] <= size[0] - 1 + 2 * margin)
            & (hi[1] >= -2 * margin) & (lo[1] <= size[1] - 1 + 2 * margin))
    if not near.any():
        return 0, 0
    a = int(np.clip(np.floor(lo[0][near].min()) - ROW_MARGIN, 0, size[0]))
    b = int(np.clip(np.ceil(hi[0][near].max()) + ROW_MARGIN + 1, 0, size[0]))
    return a, b


def _warp_block(geometry: Geometry, nodes, buf: np.ndarray, a: int, size: tuple[int, int], strip: Strip,
                h: np.ndarray, known: np.ndarray, r0: int) -> None:
    """Fill the rows ``r0 ..`` (at most :data:`BLOCK_ROWS`) of ``strip``; ``r0`` is a multiple of the lattice step."""
    r1 = min(r0 + BLOCK_ROWS, len(h))
    coef, centre, half = nodes
    k0, k1 = r0 // geometry.step, -(-(r1 - 1) // geometry.step) + 1
    line, sample = geometry.image(strip.row0 + r0, h[r0:r1], (coef[:, :, k0:k1], centre, half))
    valid = strip.valid[r0:r1]
    np.greater_equal(line, -0.5, out=valid)
    valid &= line < size[0] - 0.5
    valid &= sample >= -0.5
    valid &= sample < size[1] - 0.5
    valid &= known[r0:r1]
    n = (r1 - r0) * line.shape[1]
    dn = strip.dn[:, r0:r1].view()
    dn.shape = (len(BANDS), n)  # a view (raises if it could not be): the rows of a band are contiguous
    flags = resample(buf, a, size, line.ravel(), sample.ravel(), dn).reshape(line.shape)
    for k in range(len(BANDS)):
        np.not_equal(flags & np.uint8(1 << k), 0, out=strip.saturated[k, r0:r1])
    valid &= (flags & NODATA_FLAG) == 0
