"""Small site configurations for tests: FrancePornic on a grid of a chosen size around one centre."""

from __future__ import annotations

from pathlib import Path

import yaml

SITE = "FrancePornic"
CENTRE = (575880.0, 5216760.0)  # UTM 30N, on the 10 m lattice


def write_pornic_config(folder: Path, grid_px: int) -> Path:
    """``<folder>/FrancePornic.yaml`` with a ``grid_px`` x ``grid_px`` grid at 10 m centred on :data:`CENTRE`."""
    half = grid_px * 10.0 / 2
    path = folder / f"{SITE}.yaml"
    path.write_text(yaml.safe_dump({
        "site_id": SITE, "name": "Pornic", "country": "France", "center": {"lon": -2.0, "lat": 47.1},
        "grid": {"epsg": 32630, "ulx": CENTRE[0] - half, "uly": CENTRE[1] + half, "width": grid_px,
                 "height": grid_px, "resolution": 10.0},
        "cycle_day": 3, "first_acquisition": "2015-04-08", "aerosol_model": "CONT",
        "sla": {"contacts": ["ops@example.org"]},
    }))
    return path
