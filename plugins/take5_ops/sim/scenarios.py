"""Named hard scenarios for the L2A: short series of small scenes with scripted events and weather.

Each :class:`Scenario` is a site, a first day, a cloud cover per date and
events placed relative to the centre of a small grid (metres east, north;
``start`` is the index of the date). :func:`deliveries` turns it into the
arguments of :func:`~take5_ops.sim.simulate_product`, date by date. The list
is in ``docs/simulator.md``; ``docs/l2a-validation.md`` shows the L2A on each.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np

from take5_ops.sim.clouds import CloudStyle
from take5_ops.sim.scene import Cloud, Sky, Smoke, acquisition_dates
from take5_ops.sim.surface import WATER, Burn, Harvest, Landscape
from take5_ops.siteconfig import SiteConfig, load_site_config

SITES = Path(__file__).resolve().parents[3] / "include" / "site_configs"
TORN = CloudStyle(small=700.0, large=8000.0, turbulence=0.35, edge=0.6)  # small cumulus, fractal edges
MIXED = CloudStyle(small=1000.0, large=12000.0, turbulence=0.2)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    site_id: str
    start: date
    covers: tuple[float, ...]  # cloud cover of each date: the series has as many dates
    style: CloudStyle = field(default_factory=CloudStyle)
    events: tuple = ()  # Burn / Harvest, x and y relative to the grid centre, start a date index
    skies: dict = field(default_factory=dict)  # date index -> Sky (clouds and smoke relative to the centre)
    water_clouds: tuple[int, ...] = ()  # dates with a cloud whose shadow falls next to the water nearest the centre
    seed: int = 0
    show: int = 5  # the date of the report's picture


def small_site(site_id: str, width: int) -> SiteConfig:
    """The site with its grid cut to ``width`` pixels around the grid centre."""
    site = load_site_config(SITES / f"{site_id}.yaml")
    g = site.grid
    shift = (g.width - width) // 2 * g.resolution
    return site.model_copy(update={"grid": g.model_copy(update={"ulx": g.ulx + shift, "uly": g.uly - shift,
                                                                "width": width, "height": width})})


def _water_near(site: SiteConfig, seed: int) -> tuple[float, float] | None:
    """Offset (m) from the grid centre of the water pixel nearest to it, if any within the grid."""
    left, bottom, right, top = site.grid.bounds
    t = np.linspace(-0.4, 0.4, 81)
    dx, dy = np.meshgrid(t * (right - left), t * (top - bottom))
    cls, _, _ = Landscape(site, seed).cells((left + right) / 2 + dx, (bottom + top) / 2 + dy)
    wet = cls == WATER
    if not wet.any():
        return None
    k = np.argmin(np.where(wet, np.hypot(dx, dy), np.inf))
    return float(dx.flat[k]), float(dy.flat[k])


def deliveries(scenario: Scenario, site: SiteConfig) -> list[tuple[datetime, dict]]:
    """(acquisition time, keyword arguments of ``simulate_product``) for each date of ``scenario``."""
    left, bottom, right, top = site.grid.bounds
    cx, cy = (left + right) / 2, (bottom + top) / 2
    when = acquisition_dates(site, scenario.start, date(scenario.start.year, 12, 31))[:len(scenario.covers)]
    events = tuple(replace(e, start=when[e.start].date(), x=cx + e.x, y=cy + e.y) for e in scenario.events)
    water = _water_near(site, scenario.seed) if scenario.water_clouds else None
    out = []
    for k, (acquired, cover) in enumerate(zip(when, scenario.covers)):
        sky = scenario.skies.get(k, Sky())
        placed = [replace(c, x=cx + c.x, y=cy + c.y) for c in sky.clouds]
        if water is not None and k in scenario.water_clouds:
            placed.append(Cloud(cx + water[0] + 300.0, cy + water[1] - 200.0, 350.0, 2500.0 + 200.0 * k))
        sky = replace(sky, style=scenario.style, clouds=tuple(placed),
                      smoke=tuple(replace(p, x=cx + p.x, y=cy + p.y) for p in sky.smoke))
        out.append((acquired, dict(cloud_cover=cover, events=events, sky=sky, seed=scenario.seed)))
    return out


SCENARIOS = {s.name: s for s in (
    Scenario("savanna-fires", "Savanna, 13° S: five scars of 0.4–5 km, dark to light, one growing over three dates, "
             "one appearing half under a cloud and its shadow; torn cumulus", "AustraliaLitchfield",
             date(2015, 4, 10), (0.05, 0.3, 0.5, 0.2, 0.4, 0.6, 0.1, 0.35, 0.7, 0.25, 0.45, 0.15), TORN,
             (Burn(4, -400.0, 300.0, 700.0, darkness=0.7),
              Burn(5, 700.0, -600.0, 250.0), Burn(6, 700.0, -550.0, 450.0), Burn(7, 650.0, -500.0, 650.0),
              Burn(7, -800.0, -900.0, 200.0, darkness=1.3, elongation=3.0, azimuth=60.0),
              Burn(9, 1800.0, 1800.0, 2500.0, darkness=0.85)),
             {4: Sky(clouds=(Cloud(-300.0, 500.0, 450.0, 3000.0),))}),
    Scenario("scars-by-clouds", "Sudano-sahelian crops: a scar and a water body with cloud shadows falling on "
             "and beside them on most dates; mixed cloud sizes", "Burkina", date(2015, 4, 12),
             (0.1, 0.25, 0.3, 0.35, 0.2, 0.4, 0.3, 0.5, 0.25, 0.35), MIXED,
             (Burn(3, 0.0, 0.0, 600.0, darkness=0.8),),
             {k: Sky(clouds=(Cloud(500.0 - 100.0 * k, 200.0, 300.0, 1500.0 + 600.0 * k),)) for k in range(3, 10)},
             water_clouds=tuple(range(2, 10))),
    Scenario("smoke-plume", "Savanna: a fire whose smoke plume (thin, bluish, no edge, faint shadow) drifts over "
             "the scene on the fire's two dates, then a dark scar", "AustraliaLitchfield", date(2015, 5, 5),
             (0.05, 0.15, 0.2, 0.1, 0.15, 0.3, 0.2, 0.1, 0.4, 0.2), MIXED,
             (Burn(4, -900.0, -700.0, 350.0), Burn(5, -850.0, -650.0, 650.0, darkness=0.8)),
             {4: Sky(smoke=(Smoke(-900.0, -700.0, 2500.0, 500.0, 40.0, 0.45),)),
              5: Sky(smoke=(Smoke(-850.0, -650.0, 3000.0, 600.0, 70.0, 0.35),))}, seed=1),
    Scenario("haze", "Temperate: hazy dates (AOT 0.5 and 0.7) and a date under a thin cloud veil over the "
             "whole scene", "FrancePornic", date(2015, 5, 4),
             (0.1, 0.2, 0.3, 0.25, 0.1, 0.3, 0.2, 0.35, 0.15, 0.3), MIXED, (),
             {4: Sky(aot=0.5), 6: Sky(aot=0.7), 8: Sky(veil=0.2)}),
    Scenario("sand-clouds", "Desert (Hoggar): clouds at 1–8 km over bright sand and rock", "AlgeriaTamanrasset",
             date(2015, 4, 10), (0.0, 0.2, 0.4, 0.3, 0.5, 0.25, 0.45, 0.35, 0.6, 0.3), MIXED,
             skies={k: Sky(altitudes=(1000.0 + 700.0 * k,)) for k in range(10)}),
    Scenario("snow-clouds", "Alpine spring: clouds and snow on the same dates, mountain relief",
             "AustriaEisenwurzen", date(2015, 4, 8), (0.1, 0.3, 0.4, 0.35, 0.5, 0.3, 0.45, 0.25, 0.4, 0.3), MIXED),
    Scenario("low-sun", "Boreal, 67° N in early spring: sun 60° from the zenith and more, long shadows, snow",
             "FinlandSodankyla", date(2015, 4, 8), (0.1, 0.3, 0.35, 0.4, 0.3, 0.45, 0.35, 0.3, 0.4, 0.25), TORN),
    Scenario("harvest", "Temperate crops in summer: fields harvested to dark soil and to bright stubble, "
             "a stubble fire", "FranceAlsace", date(2015, 6, 20),
             (0.05, 0.3, 0.2, 0.35, 0.3, 0.4, 0.25, 0.35, 0.3, 0.2), MIXED,
             (Harvest(3, -700.0, 500.0, 900.0, 700.0), Harvest(5, 600.0, -400.0, 800.0, 900.0, to="stubble"),
              Harvest(6, 600.0, 700.0, 700.0, 600.0), Burn(7, -600.0, -700.0, 400.0, darkness=0.8))),
)}
