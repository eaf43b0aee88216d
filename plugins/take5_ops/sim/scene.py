"""One acquisition: its drawn parameters (:class:`Acquisition`) and its physics (:class:`Scene`).

The chain per ground point: surface reflectance (with cloud shadows) -> SMAC
forward -> TOA, then clouds seen along the line of sight blended on top;
the L1A encodes TOA as DN = round(L * gain) with L = rho E_sun cos(theta_s) / (pi d^2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np

from take5_ops import smac
from take5_ops.geodesy import grid_azimuth
from take5_ops.sim import clouds, sun
from take5_ops.sim.fields import rng, seed_of
from take5_ops.sim.geometry import SensorModel, fit_rpc, locate
from take5_ops.sim.surface import BANDS, WATER, Landscape, biome
from take5_ops.siteconfig import SiteConfig
from take5_ops.sla.rules import cycle_dates

ESUN = {  # W m-2 µm-1, science notes
    1: {"XS1": 1859.8, "XS2": 1575.3, "XS3": 1043.9, "SWIR": 238.87},
    2: {"XS1": 1859.8, "XS2": 1577.6, "XS3": 1048.2, "SWIR": 237.78},
}
SATURATION = {"XS1": 0.72, "XS2": 0.76, "XS3": 0.85, "SWIR": 0.90}  # TOA reflectance at DN 254
CLIMATE = {"desert": 0.08, "tropical": 0.5, "temperate": 0.35, "boreal": 0.4}  # mean cloud cover
AOT = {"desert": 0.25, "tropical": 0.2, "temperate": 0.12, "boreal": 0.08}
CLOUD, SHADOW, WATER_BIT, SNOW, BURNT, OUTSIDE, HARVESTED, SMOKE = 1, 2, 4, 8, 16, 32, 64, 128


@dataclass(frozen=True)
class Cloud:
    """One cloud of ``radius`` m at ``altitude`` m whose shadow falls on UTM (x, y) (the cloud is up-sun)."""

    x: float
    y: float
    radius: float
    altitude: float


@dataclass(frozen=True)
class Smoke:
    """A smoke plume from UTM (x, y), see :func:`take5_ops.sim.clouds.smoke`."""

    x: float
    y: float
    length: float
    width: float
    azimuth: float
    opacity: float


@dataclass(frozen=True)
class Sky:
    """What a scenario imposes on one date's atmosphere; ``None``: drawn as usual."""

    style: clouds.CloudStyle = field(default_factory=clouds.CloudStyle)
    aot: float | None = None
    altitudes: tuple[float, ...] | None = None
    clouds: tuple[Cloud, ...] = field(default_factory=tuple)
    smoke: tuple[Smoke, ...] = field(default_factory=tuple)
    veil: float = 0.0  # opacity of a thin cloud over the whole scene


@dataclass(frozen=True)
class SiteGeometry:
    """What Take5 keeps for a site from one pass to the next."""

    instrument: int
    incidence: float
    orientation: float  # SCENE_ORIENTATION, degrees from true north
    local_time: float  # hours, local solar time


def site_geometry(site: SiteConfig) -> SiteGeometry:
    g = rng("geometry", site.site_id)
    lat = np.radians(site.center.lat)
    # descending sun-synchronous track (inclination 98.7 deg) plus the Earth's rotation
    orientation = np.degrees(np.arcsin(min(0.151 / np.cos(lat), 0.99))) + 3.5 * np.cos(lat)
    incidence = float(g.choice([-1.0, 1.0]) * g.uniform(2.0, 25.0))
    return SiteGeometry(int(g.integers(1, 3)), round(incidence, 3), round(float(orientation), 4),
                        10.5 + g.uniform(-0.1, 0.1))


def acquisition_dates(site: SiteConfig, start: date, end: date) -> list[datetime]:
    """UTC acquisition times from ``start`` to ``end`` (local days, inclusive), every 5 days.

    A local day d is on the site's cycle when (d - 2015-04-08) % 5 == cycle_day - 1.
    """
    geo = site_geometry(site)
    return [sun.utc_at_local_solar_time(d, site.center.lon, geo.local_time)
            for d in cycle_dates(site.cycle_day, start, end)]


@dataclass(frozen=True)
class Acquisition:
    """Every parameter drawn for one (site, acquisition time, seed)."""

    site: SiteConfig
    acquired: datetime
    size: int
    geometry: SiteGeometry
    model: SensorModel
    sun_zenith: float
    sun_azimuth: float
    distance: float  # Earth-Sun, AU
    aot: float
    water_vapour: float
    ozone: float
    cloud_cover: float
    cloud_altitudes: tuple[float, ...]

    @property
    def esun(self) -> dict:
        return ESUN[self.geometry.instrument]

    @property
    def view_azimuth(self) -> float:
        delta = 90.0 if self.geometry.incidence >= 0 else -90.0
        return (self.geometry.orientation + delta) % 360.0

    @property
    def gains(self) -> dict:
        """PHYSICAL_GAIN per band: DN 254 at the band's SATURATION reflectance (the sun of the day)."""
        return {b: round(254.0 / (SATURATION[b] * self.radiance_factor(b)), 5) for b in BANDS}

    def radiance_factor(self, band: str) -> float:
        """L / rho_toa for ``band``."""
        return self.esun[band] * np.cos(np.radians(self.sun_zenith)) / (np.pi * self.distance ** 2)


def plan(site: SiteConfig, acquired: datetime, size: int = 1000, cloud_cover: float | None = None,
         seed: int = 0, sky: Sky | None = None) -> Acquisition:
    """Draw the acquisition of ``site`` at ``acquired`` (deterministic in site, time and seed); ``sky`` may
    impose the AOT and the cloud altitudes."""
    g = rng("acquisition", site.site_id, acquired.isoformat(), seed)
    geo = site_geometry(site)
    kind = biome(site)
    left, bottom, right, top = site.grid.bounds
    x0 = (left + right) / 2.0 + g.uniform(-1000.0, 1000.0)
    y0 = (bottom + top) / 2.0 + g.uniform(-1000.0, 1000.0)
    angle = grid_azimuth(site.grid.epsg, site.center.lon, site.center.lat, geo.orientation)
    model = SensorModel(site.grid.epsg, size, x0, y0, angle, geo.incidence, site.grid.resolution)
    zenith, azimuth = sun.sun_angles(acquired, site.center.lon, site.center.lat)
    zenith = min(zenith, 85.0)
    distance = float(sun.earth_sun_distance(acquired.date()))
    draw = g.random()
    if cloud_cover is None:
        mean = CLIMATE[kind]
        if draw < 0.25 + (0.35 if kind == "desert" else 0.0):
            cloud_cover = g.uniform(0.0, 0.03)
        elif draw > 0.88 - (0.05 if kind == "desert" else 0.0):
            cloud_cover = g.uniform(0.85, 1.0)
        else:
            cloud_cover = float(g.beta(2.0 * mean / (1 - mean) + 0.2, 2.0))
    else:
        g.uniform()  # keep the sequence of draws independent of the override
    altitudes = tuple(sorted(float(a) for a in g.uniform(1000.0, 8000.0, int(g.integers(1, 3)))))
    aot = float(np.clip(AOT[kind] * np.exp(g.normal(0.0, 0.5)), 0.03, 0.8))
    season = np.cos(2 * np.pi * (acquired.timetuple().tm_yday - 200) / 365.0) * (1 if site.center.lat >= 0 else -1)
    water_vapour = float(np.clip((3.5 if kind == "tropical" else 1.5) + 0.8 * season + g.normal(0, 0.3), 0.3, 5.0))
    ozone = float(np.clip(0.3 + g.normal(0.0, 0.02), 0.2, 0.45))
    acq = Acquisition(site, acquired, size, geo, model, round(zenith, 4), round(azimuth, 4), distance,
                      round(aot, 4), round(water_vapour, 3), round(ozone, 4), float(cloud_cover), altitudes)
    if sky is not None and sky.aot is not None:
        acq = replace(acq, aot=sky.aot)
    if sky is not None and sky.altitudes is not None:
        acq = replace(acq, cloud_altitudes=tuple(sky.altitudes))
    return acq


class Scene:
    """The physics of one acquisition over the site terrain."""

    def __init__(self, acq: Acquisition, terrain, events=(), seed: int = 0, sky: Sky | None = None):
        self.acq = acq
        self.terrain = terrain
        self.events = tuple(events)
        self.model = acq.model
        h_min, h_max = terrain.range
        self.rpc = fit_rpc(acq.model, h_min, h_max)
        self.landscape = Landscape(acq.site, seed)
        site = acq.site
        extent = 1.6 * acq.size * site.grid.resolution + 20000.0
        sky = sky or Sky()
        key = seed_of("clouds", site.site_id, acq.acquired.isoformat(), seed)
        centre = (acq.model.x0, acq.model.y0)
        self.layers = clouds.make_layers(key, acq.cloud_cover, acq.cloud_altitudes, centre, extent, sky.style)
        az = np.radians(grid_azimuth(site.grid.epsg, site.center.lon, site.center.lat, acq.sun_azimuth))
        tz = np.tan(np.radians(acq.sun_zenith))
        self.sun_dx, self.sun_dy = tz * np.sin(az), tz * np.cos(az)
        ground = float(np.mean(terrain.range))
        self.smoke = [clouds.smoke(key + 7 + k, p.x, p.y, p.length, p.width, p.azimuth, p.opacity)
                      for k, p in enumerate(sky.smoke)]
        extra = [clouds.blob(key + 17 + k, c.x + (c.altitude - ground) * self.sun_dx,
                             c.y + (c.altitude - ground) * self.sun_dy, c.radius, c.altitude)
                 for k, c in enumerate(sky.clouds)]
        if sky.veil:
            extra.append(clouds.veil(key + 3, centre, sky.veil))
        self.layers = sorted(self.layers + extra + self.smoke, key=lambda layer: layer.altitude)
        self.coefficients = [smac.coefficients(acq.geometry.instrument, b, site.aerosol_model) for b in BANDS]

    def locate(self, line, sample):
        """Ground points (x, y, h) of image pixels."""
        return locate(self.model, self.rpc, self.terrain, line, sample)

    def evaluate(self, x, y, h, line, sample) -> dict:
        """Truth at ground points (x, y, h) seen at image (line, sample).

        Returns ``toa`` and ``surface`` (4, ...) float64 in band order XS1,
        XS2, XS3, SWIR, ``landcover`` (uint8) and ``mask`` (uint8 bits).
        """
        a = self.acq
        rho, cls, snow, burnt, harvested = self.landscape.surface(x, y, h, a.acquired.date(), self.events)
        factor, shade = clouds.shadow_factor(self.layers, x, y, h, self.sun_dx, self.sun_dy)
        p = smac.pressure(h)
        toa = np.empty_like(rho)
        for k, c in enumerate(self.coefficients):
            toa[k] = smac.toa_reflectance(rho[k] * factor, c, a.sun_zenith, a.sun_azimuth,
                                          abs(a.geometry.incidence), a.view_azimuth, p, a.aot,
                                          a.ozone, a.water_vapour)
        cover, smoky = np.zeros(np.shape(x)), np.zeros(np.shape(x), bool)
        for layer in self.layers:  # lowest first: higher layers hide lower ones
            cx, cy = self.model.ground(line, sample, layer.altitude)
            thick = layer.thickness(cx, cy)
            alpha = layer.opacity_of(thick)
            toa = toa * (1.0 - alpha) + layer.reflectance(thick) * alpha
            cover = 1.0 - (1.0 - cover) * (1.0 - alpha)
            if any(layer is s for s in self.smoke):
                smoky |= alpha >= clouds.CLOUD_ALPHA
        cloud = cover >= clouds.CLOUD_ALPHA  # smoke too: it changes the reflectance as much as a thin cloud
        mask = (cloud * CLOUD + (~cloud & (shade >= clouds.CLOUD_ALPHA)) * SHADOW + (cls == WATER) * WATER_BIT
                + snow * SNOW + burnt * BURNT + harvested * HARVESTED + smoky * SMOKE).astype(np.uint8)
        return {"toa": toa, "surface": rho, "landcover": cls, "mask": mask}

    def digital_numbers(self, toa) -> np.ndarray:
        """uint8 DN (4, ...) in band order XS1, XS2, XS3, SWIR: round(L * gain), clipped to 1..255."""
        out = np.empty(toa.shape, dtype=np.uint8)
        for k, b in enumerate(BANDS):
            dn = np.rint(toa[k] * self.acq.radiance_factor(b) * self.acq.gains[b])
            out[k] = np.clip(dn, 1, 255)
        return out
