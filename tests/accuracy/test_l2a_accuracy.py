"""L2A accuracy against the simulator's truth: series of small scenes processed in order from an empty state.

Three sites: FrancePornic (temperate), FinlandSodankyla (67 N, low sun, long
shadows) and AustraliaLitchfield (southern hemisphere, a fire scar appearing
on 2015-04-25). Every site: 10 dates of 400 x 400 px scenes on a 440 x 440
grid, simulated, L1C then L2A in order; the targets are measured pooled over
the dates from the 4th on (the first ones have no composite yet: the chain
initializes them in backward mode).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio

from helpers.paths import SITE_CONFIGS
from take5_ops.l1c.processor import process_l1c
from take5_ops.l2a import STACK_DEPTH, process_date
from take5_ops.sim import Burn, acquisition_dates, simulate_product
from take5_ops.siteconfig import load_site_config

SIZE, GRID, DATES, SKIP = 400, 440, 10, 3
SITES = {  # site: (first day, burn start or None)
    "FrancePornic": (date(2015, 4, 9), None),
    "FinlandSodankyla": (date(2015, 5, 20), None),
    "AustraliaLitchfield": (date(2015, 4, 10), date(2015, 4, 25)),
}
CLOUD, SHADOW, WATER, BURNT, OUTSIDE = 1, 2, 4, 16, 32
BANDS = ("XS1", "XS2", "XS3", "SWIR")


def small_site(site_id: str):
    site = load_site_config(SITE_CONFIGS / f"{site_id}.yaml")
    g = site.grid
    shift = (g.width - GRID) // 2 * g.resolution
    grid = g.model_copy(update={"ulx": g.ulx + shift, "uly": g.uly - shift, "width": GRID, "height": GRID})
    return site.model_copy(update={"grid": grid})


def run_series(site_id: str, root: Path) -> list[dict]:
    """Simulate, L1C and L2A one site's series; return per date the truth and the product arrays."""
    site = small_site(site_id)
    start, burn = SITES[site_id]
    left, bottom, right, top = site.grid.bounds
    events = (Burn(burn, (left + right) / 2, (bottom + top) / 2, 1000.0),) if burn else ()
    dem = root / "sim" / "aux" / site_id / "DEM.tif"
    prior, recent, out = None, [], []
    for i, when in enumerate(acquisition_dates(site, start, date(2015, 9, 1))[:DATES]):
        delivery = simulate_product(site, when, root / "sim", size=SIZE, preview=False, events=events)
        l1c = process_l1c(delivery, dem, site, root / "l1c")
        state = root / "state" / f"{i}.tif"
        state.parent.mkdir(exist_ok=True)
        result = process_date(root / "l1c" / l1c.name, dem, site, prior, recent[:STACK_DEPTH], state, root / "l2a")
        prior, recent = state, [root / "l1c" / l1c.name, *recent]
        truth = root / "sim" / "truth" / site_id / delivery.name
        entry = {"result": result, "truth": json.loads((truth / "truth.json").read_text())}
        with rasterio.open(truth / "mask.tif") as ds:
            entry["mask"] = ds.read(1)
        with rasterio.open(truth / "surface.tif") as ds:
            entry["surface"] = ds.read()
        if result.product is not None:
            folder = root / "l2a" / result.name
            for key in ("CLM", "EDG", *(f"SRE_{b}" for b in BANDS)):
                with rasterio.open(folder / f"{result.name}_{key}.tif") as ds:
                    entry[key] = ds.read(1)
        out.append(entry)
    return out


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return {s: run_series(s, tmp_path_factory.mktemp(s)) for s in SITES}


def pooled(entries: list[dict]) -> dict:
    """Counts over the measured dates with a product."""
    n = dict(cloud=0, cloud_hit=0, clear=0, clear_flag=0, shadow=0, shadow_hit=0)
    err = {b: [] for b in BANDS}
    for e in entries[SKIP:]:
        if "CLM" not in e:
            continue
        m, clm = e["mask"], e["CLM"]
        valid = (e["EDG"] == 0) & (m & OUTSIDE == 0)
        tc = valid & (m & CLOUD > 0)
        ts = valid & (m & SHADOW > 0) & ~tc
        clear_land = valid & ~tc & ~ts & (m & WATER == 0)
        flagged_cloud = clm & 2 > 0
        n["cloud"] += tc.sum()
        n["cloud_hit"] += (tc & flagged_cloud).sum()
        n["clear"] += clear_land.sum()
        n["clear_flag"] += (clear_land & flagged_cloud).sum()
        n["shadow"] += ts.sum()
        n["shadow_hit"] += (ts & (clm & 1 > 0)).sum()  # a shadow pixel flagged shadow or cloud is not used
        both_clear = valid & ~tc & ~ts & (clm & 1 == 0)
        for k, b in enumerate(BANDS):
            err[b].append(np.abs(e[f"SRE_{b}"][both_clear] * 1e-4 - e["surface"][k][both_clear]))
    n["mae"] = {b: float(np.concatenate(v).mean()) for b, v in err.items()}
    return n


@pytest.mark.parametrize("site_id", list(SITES))
def test_clouds_and_shadows(series, site_id):
    n = pooled(series[site_id])
    assert n["cloud"] > 5000 and n["shadow"] > 5000 and n["clear"] > 50000, n  # enough of each to measure
    detected, false_alarm, shadows = n["cloud_hit"] / n["cloud"], n["clear_flag"] / n["clear"], n["shadow_hit"] / n["shadow"]
    print(f"{site_id}: clouds detected {detected:.3f}, clear land flagged {false_alarm:.3f}, shadows {shadows:.3f}")
    assert detected >= 0.90
    assert false_alarm <= 0.05
    assert shadows >= 0.70


@pytest.mark.parametrize("site_id", list(SITES))
def test_surface_reflectance(series, site_id):
    mae = pooled(series[site_id])["mae"]
    print(f"{site_id}: MAE " + " ".join(f"{b} {v:.4f}" for b, v in mae.items()))
    assert max(mae["XS1"], mae["XS2"], mae["XS3"]) <= 0.01 and mae["SWIR"] <= 0.015, mae


def test_burnt_area_ends_clear(series):
    """After the date it appears, the fire scar is not taken for cloud or shadow (<= 5 % of its pixels)."""
    entries = series["AustraliaLitchfield"]
    burnt_dates = [e for e in entries if (e["mask"] & BURNT).any()]
    later = [e for e in burnt_dates[1:] if "CLM" in e]
    assert len(later) >= 3
    for e in later:
        burnt = (e["mask"] & BURNT > 0) & (e["EDG"] == 0)
        flagged = (e["CLM"][burnt] & 1 > 0).mean()
        assert flagged <= 0.05, (e["result"].name, flagged)


def test_very_cloudy_dates_give_no_product(series):
    """A date more than 90 % cloudy is recorded without a product; the series goes on after it."""
    all_entries = [e for s in series.values() for e in s]
    cloudy = [e for e in all_entries if e["result"].too_cloudy]
    assert cloudy and all(e["result"].product is None and e["result"].cloud_cover > 0.9 for e in cloudy)
    assert all(e["truth"]["cloud_cover"] > 0.8 for e in cloudy)
    assert any(e["result"].product is not None for e in all_entries if not e["result"].too_cloudy)


def test_aot_is_estimated_from_the_composite(series):
    """Dates with a composite get a multi-temporal AOT; the first date of a series the site default."""
    for entries in series.values():
        assert entries[0]["result"].aot_source == "default"
        estimated = [e for e in entries[SKIP:] if e["result"].aot_source == "multi-temporal"]
        assert len(estimated) >= 4
        errors = [abs(e["result"].aot - e["truth"]["aot550"]) for e in estimated]
        assert np.median(errors) <= 0.1, errors
