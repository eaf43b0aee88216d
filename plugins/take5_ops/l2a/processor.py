"""The L2A processor of one date: masks, aerosols, SMAC inversion, composite update, product.

:func:`process_date` reads the date's L1C, the prior composite (state file)
and the recent dates' L1C bands, then works in two passes over strips of
:data:`STRIP` rows:

1. with a provisional AOT (the prior's, or the site default): snow, water,
   the mono- and multi-temporal cloud tests and the correlation test, the
   darkened pixels, and a sample of stable clear pixels for the AOT; then
   the AOT estimate, and if it exceeds the provisional one by more than
   :data:`AOT_RETEST`, the same tests again with it (a sudden haze would
   otherwise look like a green increase everywhere); between the
   passes, on whole-scene masks: the cloud dilation, the geometric shadow
   search on the coarse grid;
2. SMAC inversion with that AOT, the masks, the new composite (state file)
   and, in forward mode, the product rasters.

Memory holds a few byte masks of the grid plus one strip (and the product
rasters in forward mode); the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from take5_ops.l2a import aot as aot_mod
from take5_ops.l2a import composite, masks, shadows
from take5_ops.l2a.correction import Correction, coefficients, spread
from take5_ops.l2a.inputs import (
    BANDS,
    L2AInputError,
    coarse_heights,
    read_l1c,
    read_stack,
)
from take5_ops.l2a.product import AOT_SCALE, FILES, write_product
from take5_ops.products import cog
from take5_ops.products.gdal import local_env
from take5_ops.products.product import REFLECTANCE_NODATA, Product, write_folder
from take5_ops.siteconfig import SiteConfig

STACK_DEPTH = 3
STACK_ASSETS = ("XS1", "XS3", "SWIR")
STRIP = 512  # rows; a multiple of COARSE and of the state file's tiles
COARSE = 8  # coarse cell (pixels) of the DEM terms and the shadow search
HALO = masks.CORR_SIZE // 2
CORR_BLOCK = 256  # columns: the correlation test skips blocks with no flagged pixel
CLOUD_DILATION = 4  # pixels
SHADOW_DILATION = 1  # pixels
SHADOW_EDGE = COARSE  # pixels: shadows grow this far into dimmed pixels (edges finer than the zone's grid)
AOT_LATTICE = 4  # AOT sample: one pixel in AOT_LATTICE x AOT_LATTICE
AOT_MAX_AGE = 30  # days: composite pixels old enough to have changed are not used for the AOT
AOT_RETEST = 0.1  # the cloud tests run again with the date's AOT when it exceeds the provisional one by this much
TOO_CLOUDY = 0.9
CLM_MONO, CLM_MULTI, CLM_EXT, CLM_SHADOW, CLM_OUTSIDE = 4, 8, 16, 32, 64
MG2_WATER, MG2_CLOUD, MG2_SNOW, MG2_SHADOW = 1, 2, 4, 8


@dataclass
class DateResult:
    """What :func:`process_date` did for one date. ``cloud_cover``: fraction of the valid pixels flagged
    cloud (with the extension) or cloud shadow (CLM bit 0)."""

    name: str
    product_id: str
    acquired: datetime
    cloud_cover: float
    too_cloudy: bool
    aot: float
    aot_source: str
    product: Product | None

    def to_dict(self) -> dict:
        return {"name": self.name, "product_id": self.product_id, "acquired": self.acquired.isoformat(),
                "cloud_cover": self.cloud_cover, "too_cloudy": self.too_cloudy, "aot": self.aot,
                "aot_source": self.aot_source, "product": self.product.name if self.product else None}


def _read(ds, row0: int, rows: int, out: np.ndarray | None = None) -> np.ndarray:
    """Reflectance (float32, NaN for no-data) of rows of an int16 x 10000 band, into ``out`` if given."""
    data = ds.read(1, window=Window(0, row0, ds.width, rows))
    out = np.multiply(data, np.float32(1e-4), out=out, dtype=np.float32)
    out[data == REFLECTANCE_NODATA] = np.nan
    return out


def _read_bands(bands, row0: int, rows: int) -> np.ndarray:
    """Reflectance (band, y, x) of rows of the date's bands."""
    out = np.empty((len(bands), rows, bands[0].width), np.float32)
    for k, ds in enumerate(bands):
        _read(ds, row0, rows, out[k])
    return out


def _bits(*flags: tuple[np.ndarray, int]) -> np.ndarray:
    """A uint8 bit mask from (boolean array, bit value) pairs."""
    out = np.zeros(flags[0][0].shape, np.uint8)
    for mask, bit in flags:
        out |= mask.view(np.uint8) * np.uint8(bit)
    return out


def _coarse_sum(a: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Sums of ``a`` (rows a multiple of ``f`` or the grid's last strip) over f x f cells."""
    h, w = a.shape
    pad = np.zeros((-(-h // f) * f, shape[1] * f), np.float32)
    pad[:h, :w] = a
    return pad.reshape(pad.shape[0] // f, f, shape[1], f).sum(axis=(1, 3))


class _Scene:
    """Whole-grid byte masks of pass 1."""

    def __init__(self, shape):
        (self.valid, self.ref, self.mono, self.multi, self.cloud, self.dark, self.dim, self.changed, self.lost,
         self.hazy, self.water, self.snow) = (np.zeros(shape, bool) for _ in range(12))


def process_date(l1c: Path, dem: Path, site: SiteConfig, prior: Path | None, recent: Sequence[Path],
                 state_out: Path, out_dir: Path | None) -> DateResult:
    """Process one date; write the new composite to ``state_out`` and, unless ``out_dir`` is None (backward
    mode) or the date is too cloudy, the product folder ``out_dir/<NAME>/``.

    Raises :class:`~take5_ops.l2a.inputs.L2AInputError` for an unusable L1C or DEM and
    :class:`~take5_ops.l2a.composite.L2AStateError` for an unusable ``prior``.
    """
    inp = read_l1c(l1c, site)
    g = site.grid
    heights = coarse_heights(dem, site, COARSE)
    coeffs = coefficients(inp.pid.instrument, site.aerosol_model)
    stack_files = read_stack(list(recent)[:STACK_DEPTH], site, STACK_ASSETS)
    day = composite.day_number(inp.acquired)
    name = inp.pid.product_name("L2A")
    with ExitStack() as opened:
        opened.enter_context(local_env())  # a small block cache: every block is read at most twice
        state = composite.StateReader(prior, site) if prior is not None else None
        if state is not None:
            opened.callback(state.close)
        try:
            bands = [opened.enter_context(rasterio.open(inp.files[b])) for b in BANDS]
            sat_ds, edg_ds = (opened.enter_context(rasterio.open(inp.files[k])) for k in ("SAT", "EDG"))
            stack = [{k: opened.enter_context(rasterio.open(p)) for k, p in files.items()} for files in stack_files]
            provisional = state.aot if state else site.l2a.default_aot
            scene, sample = _pass1(site, inp, heights, coeffs, state, bands, sat_ds, edg_ds, stack, day, provisional)
            if sample[0].shape[1]:
                aot, source = aot_mod.estimate(*sample, coeffs, inp.angles, site.l2a.default_aot)
            else:
                aot, source = site.l2a.default_aot, aot_mod.DEFAULT
            tests_aot = aot if aot - provisional > AOT_RETEST else provisional
            if tests_aot != provisional:
                del scene, sample  # the masks of the first pass: not held twice
                scene, _ = _pass1(site, inp, heights, coeffs, state, bands, sat_ds, edg_ds, stack, day, tests_aot)
        except rasterio.errors.RasterioError as exc:
            raise L2AInputError(f"{l1c}: cannot read the rasters ({exc})") from None
        cloud = masks.grow(scene.cloud, scene.hazy, CLOUD_DILATION) & scene.valid
        shadow, shadow_out = _shadows(site, inp, scene, cloud)
        shadow_all = shadow | shadow_out
        n_valid = int(np.count_nonzero(scene.valid))
        cover = float(np.count_nonzero(cloud | shadow_all)) / max(n_valid, 1)
        too_cloudy = cover > TOO_CLOUDY or n_valid == 0
        stats = {"valid_pixels": n_valid, "cloud_cover": round(cover, 6), "cloud_tests_aot": round(tests_aot, 3),
                 "cloud_pixels": int(np.count_nonzero(cloud)), "shadow_pixels": int(np.count_nonzero(shadow)),
                 "outside_cloud_shadow_pixels": int(np.count_nonzero(shadow_out)),
                 "water_pixels": int(np.count_nonzero(scene.water & scene.valid)),
                 "snow_pixels": int(np.count_nonzero(scene.snow & scene.valid))}
        write = out_dir is not None and not too_cloudy
        rasters = {}
        if write:
            for key in FILES:
                if key not in ("SAT", "EDG"):
                    dtype = "int16" if key.startswith("SRE_") or key == "AOT" else "uint8"
                    nodata = REFLECTANCE_NODATA if dtype == "int16" else None
                    rasters[key] = opened.enter_context(cog.memory_raster(dtype, g.crs, g.transform,
                                                                          (g.height, g.width), nodata))
        final = Correction(coeffs, inp.angles, heights, aot, COARSE)
        topo = shadows.topography(heights, inp.angles, COARSE * g.resolution)
        writer = composite.StateWriter(state_out, site, aot, inp.acquired)
        try:
            for row0 in range(0, g.height, STRIP):
                rows = min(STRIP, g.height - row0)
                core = slice(row0, row0 + rows)
                toa = _read_bands(bands, row0, rows)
                sr = final.surface(toa, row0)
                comp = state.read(row0, rows) if state else composite.empty(rows, g.width)
                clear = scene.valid[core] & ~cloud[core] & ~shadow_all[core]
                writer.write(composite.update(comp, sr, clear, day), row0)
                if write:
                    _write_strip(rasters, sr, scene, cloud, shadow, shadow_out, topo, aot, row0, rows)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        product = None
        if write:
            product = _write_folder(Path(out_dir), name, inp, site, rasters, {"value": aot, "source": source}, stats)
    return DateResult(name, str(inp.pid), inp.acquired, round(cover, 6), too_cloudy, aot, source, product)


def _pass1(site, inp, heights, coeffs, state, bands, sat_ds, edg_ds, stack, day, aot: float):
    """Masks of every strip with the surface reflectance at ``aot``; returns the scene masks and the AOT sample."""
    g = site.grid
    prov = Correction(coeffs, inp.angles, heights, aot, COARSE)
    scene = _Scene((g.height, g.width))
    samples = []
    for row0 in range(0, g.height, STRIP):
        rows = min(STRIP, g.height - row0)
        lo, hi = max(0, row0 - HALO), min(g.height, row0 + rows + HALO)
        c = slice(row0 - lo, row0 - lo + rows)
        core = slice(row0, row0 + rows)
        toa = _read_bands(bands, lo, hi - lo)
        sr = prov.surface(toa, lo)
        comp_ds = state.read(lo, hi - lo) if state else composite.empty(hi - lo, g.width)
        comp = comp_ds["reflectance"].values
        age = composite.age(comp_ds, day)[c]
        src, cmp_c = sr[:, c], comp[:, c]
        sat = sat_ds.read(1, window=Window(0, row0, g.width, rows)) > 0
        valid = (edg_ds.read(1, window=Window(0, row0, g.width, rows)) == 0) & np.isfinite(src).all(axis=0)
        has_comp = np.isfinite(cmp_c).all(axis=0) & (age <= composite.MAX_AGE_DAYS)
        water = masks.water(src) | (has_comp & masks.water(cmp_c))
        snow = masks.snow(src) & valid
        mono = masks.mono_cloud(src, sat, water) & valid & ~snow
        multi = masks.multi_cloud(src, cmp_c, age) & has_comp & valid & ~snow
        flagged = mono | multi
        tested = flagged.copy()
        turbid = multi & masks.turbid(src, cmp_c)  # smoke, haze: not a land change, even if it keeps the texture
        if flagged.any():
            flagged &= ~_correlated(sr[0], comp[0], stack, lo, hi, c, flagged & ~sat & ~turbid)
        dim = masks.darkened(src, cmp_c, masks.ZONE_DARK_RATIO) & has_comp & valid & ~flagged
        dark = dim & masks.darkened(src, cmp_c)
        lost = dark & masks.red_kept(src, cmp_c)
        changed = lost.copy()
        hazy = masks.brightened(src, cmp_c)
        if stack and (dark.any() or hazy.any()):
            kept_dark, kept_bright = _seen_before(toa[:, c], stack, row0, rows, dark, hazy | multi)
            changed |= dark & kept_dark
            flagged &= ~(multi & ~mono & ~turbid & kept_bright)
            hazy &= ~kept_bright
        hazy |= ~has_comp
        for key, value in (("valid", valid), ("ref", valid & has_comp & ~flagged), ("mono", mono), ("multi", multi),
                           ("cloud", flagged), ("dark", dark), ("dim", dim), ("changed", changed), ("lost", lost),
                           ("hazy", hazy), ("water", water), ("snow", snow)):
            getattr(scene, key)[core] = value
        pick = np.zeros_like(valid)
        pick[::AOT_LATTICE, ::AOT_LATTICE] = True  # STRIP is a multiple of AOT_LATTICE: a fixed lattice
        pick &= valid & has_comp & ~tested & masks.stable(src, cmp_c) & ~water & ~snow & (age <= AOT_MAX_AGE)
        rr, cc = np.nonzero(pick)
        samples.append((toa[:, c][:, rr, cc], cmp_c[:, rr, cc], heights[(row0 + rr) // COARSE, cc // COARSE]))
    sample = tuple(np.concatenate([s[k] for s in samples], axis=-1) for k in range(3))
    return scene, sample


def _seen_before(toa, stack, row0: int, rows: int, dark_at: np.ndarray,
                 bright_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(darkening, brightening) already there on a recent date, tested at ``dark_at`` and ``bright_at`` only:
    NIR + SWIR TOA within :data:`~take5_ops.l2a.masks.PERSISTENT_RATIO` of a recent date's, and the same
    spectrum (XS1, XS3, SWIR) as a recent date's (a cloud does not come back with the same spectrum). One stack
    date read at a time."""
    dark, bright = np.zeros(toa.shape[1:], bool), np.zeros(toa.shape[1:], bool)
    d, b = np.nonzero(dark_at), np.nonzero(bright_at)
    nir_swir, spectrum = toa[2][d] + toa[3][d], toa[:, b[0], b[1]][[0, 2, 3]]
    for s in stack:
        other = [_read(s[k], row0, rows) for k in STACK_ASSETS]
        dark[d] |= masks.persistent(nir_swir, [other[1][d] + other[2][d]])
        bright[b] |= masks.same_spectrum(spectrum, np.stack([o[b] for o in other]))
    return dark, bright


def _correlated(green, comp_green, stack, lo, hi, c, flagged) -> np.ndarray:
    """Flagged pixels whose 7 x 7 neighbourhood (green, rows ``lo:hi``, core ``c``) correlates with the
    composite or with a recent date. Computed only on the column blocks holding pixels still to test."""
    out = np.zeros(flagged.shape, bool)
    width = flagged.shape[1]
    for k in range(1 + len(stack)):
        todo = flagged & ~out
        if not todo.any():
            break
        other = comp_green if k == 0 else _read(stack[k - 1]["XS1"], lo, hi - lo)
        for c0, c1 in _column_runs(todo, CORR_BLOCK):
            a0, a1 = max(0, c0 - HALO), min(width, c1 + HALO)
            corr = masks.local_correlation(green[:, a0:a1], other[:, a0:a1])[c, c0 - a0:c1 - a0]
            with np.errstate(invalid="ignore"):
                out[:, c0:c1] |= todo[:, c0:c1] & (corr > masks.CORR_MIN)
    return out


def _column_runs(mask: np.ndarray, block: int) -> list[tuple[int, int]]:
    """(first, end) columns of the runs of consecutive ``block``-column blocks where ``mask`` has a pixel."""
    width = mask.shape[1]
    hit = np.logical_or.reduceat(mask.any(axis=0), np.arange(0, width, block))
    runs, start = [], None
    for b, h in enumerate([*hit, False]):
        if h and start is None:
            start = b * block
        elif not h and start is not None:
            runs.append((start, min(b * block, width)))
            start = None
    return runs


def _shadows(site: SiteConfig, inp, scene: _Scene, cloud: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cloud shadows: dimmed pixels inside the geometric shadow zone of the detected clouds, darkened ones
    inside the zone where clouds outside the image, at the heights found for those inside (any height if
    none was found), can cast theirs. A surface change (a darkening a recent date saw too, or one that
    kept the red) does not steer the altitude search and is no shadow outside the zone of a detected
    cloud; inside it, only one that kept the red is spared. Both shadows then grow into the connected
    dimmed pixels around them (edges finer than the coarse zone)."""
    g = site.grid
    shape = (-(-g.height // COARSE), -(-g.width // COARSE))
    cells = COARSE * COARSE
    cloud_c = np.zeros(shape, bool)
    valid_c = np.zeros(shape, np.float32)
    dark_c = np.zeros(shape, np.float32)
    ref_c = np.zeros(shape, np.float32)
    for row0 in range(0, g.height, STRIP):
        core = slice(row0, min(row0 + STRIP, g.height))
        r = slice(row0 // COARSE, -(-core.stop // COARSE))
        cloud_c[r] = _coarse_sum(cloud[core], COARSE, shape) > 0
        dark_c[r] = _coarse_sum(scene.dark[core] & ~scene.changed[core], COARSE, shape) / cells
        ref_c[r] = _coarse_sum(scene.ref[core], COARSE, shape) / cells
        valid_c[r] = _coarse_sum(scene.valid[core], COARSE, shape) / cells
    inside, outside = np.zeros_like(cloud), np.zeros_like(cloud)
    if not scene.dark.any():
        return inside, outside
    steps = shadows.offsets(site, inp.angles, COARSE * g.resolution)
    labels, chosen = shadows.altitudes(cloud_c, dark_c, ref_c > 0.5, steps)
    zone_c = masks.dilate(shadows.zone_of(labels, chosen, steps), 1)
    heights = chosen.any(axis=1)
    beyond_c = shadows.outside_zone(valid_c < 0.5, steps[heights] if heights.any() else steps)
    edge, edge_out = np.zeros_like(cloud), np.zeros_like(cloud)  # dimmed pixels a shadow may grow into
    for row0 in range(0, g.height, STRIP):
        core = slice(row0, min(row0 + STRIP, g.height))
        beyond = spread(beyond_c, COARSE, row0, core.stop - row0, g.width)
        inside[core] = spread(zone_c, COARSE, row0, core.stop - row0, g.width) & scene.dim[core] & ~scene.lost[core]
        outside[core] = beyond & scene.dark[core] & ~scene.changed[core]
        edge[core] = scene.dim[core] & ~scene.changed[core] & ~cloud[core]
        edge_out[core] = edge[core] & beyond
    inside, outside = masks.grow(inside, edge, SHADOW_EDGE), masks.grow(outside, edge_out, SHADOW_EDGE)
    inside = masks.dilate(inside, SHADOW_DILATION) & scene.valid & ~cloud
    outside = masks.dilate(outside, SHADOW_DILATION) & scene.valid & ~cloud & ~inside
    return inside, outside


def _write_strip(rasters, sr, scene, cloud, shadow, shadow_out, topo, aot, row0, rows) -> None:
    """The product rasters of one strip."""
    core = slice(row0, row0 + rows)
    width = sr.shape[2]
    window = Window(0, row0, width, rows)
    valid = scene.valid[core]
    for k, b in enumerate(BANDS):
        out = composite.scaled(sr[k])
        out[~valid] = REFLECTANCE_NODATA
        rasters[f"SRE_{b}"].write(out, 1, window=window)
    cl, sh, so = cloud[core], shadow[core], shadow_out[core]
    ext = cl & ~scene.cloud[core]
    clm = _bits((cl | sh | so, 1), (cl, 2), (scene.mono[core] & cl, CLM_MONO), (scene.multi[core] & cl, CLM_MULTI),
                (ext, CLM_EXT), (sh, CLM_SHADOW), (so, CLM_OUTSIDE))
    mg2 = _bits((scene.water[core], MG2_WATER), (cl, MG2_CLOUD), (scene.snow[core], MG2_SNOW), (sh | so, MG2_SHADOW)) \
        | spread(topo, COARSE, row0, rows, width)
    for key, data in (("CLM", clm), ("MG2", mg2)):
        data[~valid] = 0
        rasters[key].write(data, 1, window=window)
    aot_px = np.where(valid, np.int16(round(aot / AOT_SCALE)), np.int16(REFLECTANCE_NODATA)).astype(np.int16)
    rasters["AOT"].write(aot_px, 1, window=window)


def _write_folder(out_root: Path, name: str, inp, site, rasters, aot, stats) -> Product:
    """Build the product folder aside and move it into place (a failed run leaves nothing half written)."""
    return write_folder(out_root, name, lambda work: write_product(work, name, inp, site, rasters, aot, stats))
