"""A simulated L2A series of one site (small scenes), for the L2A chain and DAG tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from helpers.sites import write_pornic_config
from take5_ops.l1a.upload import delivery_folders
from take5_ops.siteconfig import load_site_config

SITE = "FrancePornic"
GRID_PX = 320
SCENE_PX = 300
CLOUDY = date(2015, 4, 30)  # simulated 97 % cloudy: no L2A product, the composite moves on


def simulate_series(root: Path):
    """Nine dates over 40 days (the gate opens with the eighth) simulated under ``root/sim``, the site
    configuration in ``root``; return the site."""
    from take5_ops.sim import acquisition_dates, simulate_product

    site = load_site_config(write_pornic_config(root, GRID_PX))
    dates = acquisition_dates(site, date(2015, 4, 8), date(2015, 5, 20))
    assert len(dates) == 9
    for when in dates:
        simulate_product(site, when, root / "sim", size=SCENE_PX, truth=False, preview=False,
                         cloud_cover=0.97 if when.date() == CLOUDY else 0.25)
    return site


def make_campaign(root: Path) -> dict:
    """:func:`simulate_series`, then the L1C products of its deliveries, under ``root``."""
    from take5_ops.l1c.processor import process_l1c

    site = simulate_series(root)
    l1c = {}
    for folder in delivery_folders(root / "sim" / "l1a"):
        product = process_l1c(folder, root / "sim" / "aux" / SITE / "DEM.tif", site, root / "l1c")
        l1c[product.name] = (product, root / "l1c" / product.name)
    return {"site": site, "root": root, "l1c": l1c, "deliveries": delivery_folders(root / "sim" / "l1a")}
