"""The ground: land-cover parcels, seasonal spectra, snow and burnt-area events.

The surface is analytic in (UTM x, y): a rotated lattice of fields (150 to
600 m) whose classes come from a per-cell hash, with large water bodies,
forests and towns from low-frequency noise, and a fine texture. Land cover
is stable in time; crops and grass follow a hemisphere-aware phenology,
snow follows a seasonal snow line, burnt areas appear on their date and stay.
Bands are always in the order of :data:`BANDS` (XS1 green, XS2 red, XS3 NIR, SWIR).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

import numpy as np

from take5_ops.sim.fields import SmoothNoise, cell_hash, rng, seed_of
from take5_ops.siteconfig import SiteConfig

BANDS = ("XS1", "XS2", "XS3", "SWIR")
WATER, FOREST, CROP, GRASS, BARE, URBAN = 1, 2, 3, 4, 5, 6
CLASSES = {WATER: "water", FOREST: "forest", CROP: "crop", GRASS: "grass/savanna", BARE: "bare soil/desert",
           URBAN: "urban"}
VEGETATED = (FOREST, CROP, GRASS)

SPECTRA = {  # surface reflectance XS1, XS2, XS3, SWIR
    "water": (0.040, 0.025, 0.015, 0.008),
    "forest": (0.045, 0.030, 0.280, 0.120),
    "soil": (0.100, 0.130, 0.180, 0.260),
    "canopy": (0.060, 0.035, 0.420, 0.170),
    "dry_grass": (0.090, 0.120, 0.200, 0.300),
    "green_grass": (0.060, 0.045, 0.330, 0.190),
    "desert": (0.200, 0.270, 0.320, 0.420),
    "urban": (0.110, 0.120, 0.160, 0.200),
    "snow": (0.820, 0.800, 0.700, 0.060),
    "burnt": (0.035, 0.040, 0.080, 0.120),
    "stubble": (0.150, 0.190, 0.260, 0.340),
}

# class shares (water, forest, urban, then crop / grass / bare for the rest) per biome
BIOMES = {
    "desert": dict(water=0.02, forest=0.02, urban=0.03, crop=0.15, grass=0.25, bare=0.60),
    "tropical": dict(water=0.04, forest=0.35, urban=0.03, crop=0.30, grass=0.55, bare=0.15),
    "temperate": dict(water=0.04, forest=0.22, urban=0.05, crop=0.70, grass=0.25, bare=0.05),
    "boreal": dict(water=0.12, forest=0.55, urban=0.02, crop=0.25, grass=0.60, bare=0.15),
}


def biome(site: SiteConfig) -> str:
    lat = abs(site.center.lat)
    if site.aerosol_model == "DES":
        return "desert"
    return "tropical" if lat < 23.5 else "boreal" if lat > 55 else "temperate"


@dataclass(frozen=True)
class Burn:
    """A burnt area: vegetation within ``radius`` metres (ragged edge) of UTM (x, y) burns on ``start``.

    ``darkness`` scales the burnt spectrum (below 1: a darker, fresher scar);
    ``elongation`` stretches the disc along ``azimuth`` (degrees from grid north).
    A scar that grows is several burns around the same point on later dates.
    """

    start: date
    x: float
    y: float
    radius: float = 1500.0
    darkness: float = 1.0
    elongation: float = 1.0
    azimuth: float = 0.0

    def inside(self, x, y, ragged) -> np.ndarray:
        a = np.radians(self.azimuth)
        along = ((x - self.x) * np.sin(a) + (y - self.y) * np.cos(a)) / self.elongation
        across = (x - self.x) * np.cos(a) - (y - self.y) * np.sin(a)
        return np.hypot(along, across) < self.radius * (1.0 + 0.3 * ragged)


@dataclass(frozen=True)
class Harvest:
    """Fields within a ``width`` x ``height`` m rectangle centred on UTM (x, y) change for good on ``start``:
    to bare soil (``to="soil"``: a crop canopy darkens in the NIR) or to bright stubble (``"stubble"``)."""

    start: date
    x: float
    y: float
    width: float
    height: float
    to: str = "soil"


class Landscape:
    """The surface of one site (deterministic from the site id and ``seed``)."""

    def __init__(self, site: SiteConfig, seed: int = 0):
        self.site = site
        self.biome = biome(site)
        g = rng("landscape", site.site_id, seed)
        left, bottom, right, top = site.grid.bounds
        o = ((left + right) / 2.0, (bottom + top) / 2.0)
        key = (site.site_id, seed)
        self.cell_seed = seed_of("cells", *key)
        self.angle = np.radians(g.uniform(0.0, 90.0))
        self.field_u, self.field_v = g.uniform(200.0, 600.0), g.uniform(150.0, 450.0)
        self.water = SmoothNoise(seed_of("water", *key), 2000.0, 15000.0, origin=o)
        self.forest = SmoothNoise(seed_of("forest", *key), 1500.0, 10000.0, origin=o)
        self.urban = SmoothNoise(seed_of("urban", *key), 800.0, 5000.0, origin=o)
        self.texture = SmoothNoise(seed_of("texture", *key), 25.0, 250.0, waves=10, origin=o, slope=0.5)
        self.ragged = SmoothNoise(seed_of("ragged", *key), 150.0, 1500.0, origin=o)
        shares = BIOMES[self.biome]
        q = NormalDist().inv_cdf
        self.t_water, self.t_forest, self.t_urban = (q(1 - shares[k]) for k in ("water", "forest", "urban"))
        rest = np.array([shares["crop"], shares["grass"], shares["bare"]])
        self.cuts = np.cumsum(rest / rest.sum())
        self.south = site.center.lat < 0
        self.snow_base = 8000.0 - 115.0 * abs(site.center.lat)

    def cells(self, x, y):
        """(class, per-field uniform hash, second hash) of the fields at (x, y)."""
        u = x * np.cos(self.angle) - y * np.sin(self.angle)
        v = x * np.sin(self.angle) + y * np.cos(self.angle)
        j = np.floor(v / self.field_v).astype(np.int64)
        i = np.floor(u / self.field_u + cell_hash(j, 0, self.cell_seed)).astype(np.int64)  # staggered strips
        r1, r2 = cell_hash(i, j, self.cell_seed), cell_hash(i, j, self.cell_seed + 1)
        cls = np.where(r1 < self.cuts[0], CROP, np.where(r1 < self.cuts[1], GRASS, BARE)).astype(np.uint8)
        cls[self.forest(x, y) > self.t_forest] = FOREST
        town = self.urban(x, y) > self.t_urban
        cls[town & (r2 > 0.15)] = URBAN
        cls[self.water(x, y) > self.t_water] = WATER
        return cls, r1, r2

    def reflectance(self, x, y, h, day: date, events=()):
        """Surface reflectance (4, ...) float64, class (uint8), snow and burnt booleans at (x, y, h) on ``day``."""
        return self.surface(x, y, h, day, events)[:4]

    def surface(self, x, y, h, day: date, events=()):
        """:meth:`reflectance` and the harvested boolean; ``events`` are :class:`Burn` and :class:`Harvest`."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        cls, r1, r2 = self.cells(x, y)
        doy = (day.timetuple().tm_yday + (182 if self.south else 0)) % 365
        shape = cls.shape
        s = {k: np.array(v).reshape((4,) + (1,) * len(shape)) for k, v in SPECTRA.items()}
        peak = 100.0 + 140.0 * r2  # winter crops in spring, summer crops in summer
        green = np.exp(-(((doy - peak) / (30.0 + 20.0 * r1)) ** 2))
        bright = 0.75 + 0.5 * r1
        grass = 0.3 + 0.7 * np.exp(-(((doy - (200.0 if self.biome == "tropical" else 140.0)) / 70.0) ** 2))
        leaf = 0.8 + 0.25 * np.exp(-(((doy - 190.0) / 80.0) ** 2))
        candidates = {
            CROP: s["soil"] * bright + (s["canopy"] - s["soil"] * bright) * green,
            GRASS: s["dry_grass"] + (s["green_grass"] - s["dry_grass"]) * grass,
            FOREST: s["forest"] * np.array([1.0, 1.0, leaf, 1.0]).reshape(s["forest"].shape),
            BARE: (s["desert"] if self.biome == "desert" else s["soil"]) * bright,
            WATER: s["water"],
            URBAN: s["urban"] * (0.85 + 0.3 * r2),
        }
        rho = np.zeros((4,) + shape)
        for c, value in candidates.items():
            rho = np.where(cls == c, value, rho)
        rho *= 1.0 + 0.06 * self.texture(x, y)

        burnt, harvested = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        for e in events:
            if day < e.start:
                continue
            if isinstance(e, Harvest):
                field = (np.abs(x - e.x) < e.width / 2) & (np.abs(y - e.y) < e.height / 2) & np.isin(cls, (CROP, GRASS))
                rho = np.where(field, s[e.to] * bright * (1.0 + 0.06 * self.texture(x, y)), rho)
                harvested |= field
            else:
                fire = e.inside(x, y, self.ragged(x, y)) & np.isin(cls, VEGETATED) & ~burnt
                rho = np.where(fire, s["burnt"] * e.darkness, rho)
                burnt |= fire

        snowline = self.snow_base - 2500.0 * np.cos(2 * np.pi * (doy - 45.0) / 365.0) + 150.0 * self.ragged(y, x)
        cover = np.clip((np.asarray(h) - snowline) / 200.0, 0.0, 1.0) * np.where(cls == FOREST, 0.5, 1.0)
        rho = rho + (s["snow"] - rho) * cover
        return rho, cls, cover > 0.4, burnt, harvested
