"""The 150 site configurations: valid, well-gridded, covering the campaign; invalid files named."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta

import pytest
from pyproj import Geod, Transformer

from helpers.paths import ROOT, SITE_CONFIGS
from take5_ops.siteconfig import SiteConfigError, load_site_config, load_site_configs

CONFIGS = SITE_CONFIGS
GENERATOR = ROOT / "scripts" / "generate_site_configs.py"

# Known Take5 sites and where they are (approximate, from public sources): (lon, lat).
KNOWN = {
    "AustraliaLitchfield": (130.8, -13.2), "FrancePornic": (-2.1, 47.1), "SouthAfricaMoorreesburg": (18.7, -33.2),
    "ToulouseFrance": (1.4, 43.6), "FinlandSodankyla": (26.6, 67.4), "AustriaEisenwurzen": (14.6, 47.8),
    "FranceAlsace": (7.5, 48.3), "Belgium": (4.7, 50.6), "Burkina": (-1.5, 12.4), "Ukraine": (31.0, 50.0),
    "ToulaRussia": (37.6, 54.2), "ShandongChina": (117.0, 36.5), "LombardyItalia": (9.5, 45.5),
    "EArgentina": (-60.0, -34.5),
}


GEOD = Geod(ellps="WGS84")


def inv(grid) -> Transformer:
    return Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)


def expected_zone(lon: float, lat: float) -> int:
    """UTM zone, written independently of the generator (with the Norway/Svalbard exceptions)."""
    if 56 <= lat < 64 and 3 <= lon < 12:
        return 32
    if 72 <= lat < 84 and 0 <= lon < 42:
        return 31 if lon < 9 else 33 if lon < 21 else 35 if lon < 33 else 37
    return int((lon + 180) // 6) % 60 + 1


def in_utm_exception(lon: float, lat: float) -> bool:
    return (56 <= lat < 64 and 3 <= lon < 12) or (72 <= lat < 84 and 0 <= lon < 42)


def km_to_zone_edge(lon: float, lat: float) -> float:
    """Distance (km, along the parallel) from the centre to the nearest standard zone boundary."""
    west = math.floor((lon + 180) / 6) * 6 - 180
    degrees = min(lon - west, west + 6 - lon)
    return degrees * 111.32 * math.cos(math.radians(lat))


@pytest.fixture(scope="module")
def sites():
    configs, errors = load_site_configs(CONFIGS)
    assert errors == {}, "\n".join(errors.values())
    return configs


def test_150_valid_files_named_by_site_id(sites):
    files = sorted(CONFIGS.glob("*.yaml"))
    assert len(files) == 150 and len(sites) == 150
    assert sorted(f.stem for f in files) == sorted(sites)
    assert len({s.site_id.lower() for s in sites.values()}) == 150  # unique, even case-insensitively
    assert len({s.name for s in sites.values()}) == 150


def test_grids_centred_in_the_right_zone_on_the_lattice(sites):
    for s in sites.values():
        g = s.grid
        zone = expected_zone(s.center.lon, s.center.lat)
        assert g.epsg == (32600 if s.center.lat >= 0 else 32700) + zone, s.site_id
        assert (g.width, g.height, g.resolution) == (6600, 6600, 10), s.site_id
        assert g.ulx % 10 == 0 and g.uly % 10 == 0, s.site_id
        x, y = Transformer.from_crs("EPSG:4326", g.crs, always_xy=True).transform(s.center.lon, s.center.lat)
        left, bottom, right, top = g.bounds
        assert abs((left + right) / 2 - x) <= 5.0 and abs((bottom + top) / 2 - y) <= 5.0, s.site_id
        # the grid's west side is about 66 km of ground (no gross projection mistake)
        lon0, lat0 = inv(g).transform(left, top)
        lon1, lat1 = inv(g).transform(left, bottom)
        assert GEOD.inv(lon0, lat0, lon1, lat1)[2] == pytest.approx(66_000, rel=0.005), s.site_id


def test_utm_exceptions_applied():
    bergen = load_site_config(CONFIGS / "NorwayBergen.yaml")
    svalbard = load_site_config(CONFIGS / "SvalbardNyAlesund.yaml")
    assert bergen.center.lon < 6 and bergen.grid.epsg == 32632  # would be 31 without the exception
    assert 9 <= svalbard.center.lon < 21 and svalbard.grid.epsg == 32633


def test_cycle_days_and_first_acquisitions(sites):
    per_day = Counter(s.cycle_day for s in sites.values())
    assert sorted(per_day) == [1, 2, 3, 4, 5]
    assert min(per_day.values()) >= 20
    for s in sites.values():
        assert s.first_acquisition == date(2015, 4, 8) + timedelta(days=s.cycle_day - 1), s.site_id


def test_campaign_coverage(sites):
    s = list(sites.values())
    assert {x.continent for x in s} == {"Africa", "Asia", "Europe", "North America", "Oceania", "South America"}
    assert sum(x.center.lat < 0 for x in s) >= 30 and sum(x.center.lat > 0 for x in s) >= 30
    assert sum(x.center.lon < 0 for x in s) >= 30 and sum(x.center.lon > 0 for x in s) >= 30
    assert sum(abs(x.center.lat) >= 60 for x in s) >= 5          # high latitudes
    assert sum(abs(x.center.lat) < 23.44 for x in s) >= 30       # tropics
    deserts = [x for x in s if x.aerosol_model == "DES"]
    assert len(deserts) >= 10
    assert all(12 <= abs(x.center.lat) <= 50 for x in deserts)   # the arid belts, not the equator
    edge = [x.site_id for x in s
            if not in_utm_exception(x.center.lon, x.center.lat) and km_to_zone_edge(x.center.lon, x.center.lat) <= 30]
    assert len(edge) >= 5, edge
    for site_id in edge:  # those grids really cross the boundary meridian
        g = sites[site_id].grid
        left, bottom, right, top = g.bounds
        west, _ = inv(g).transform(left, (bottom + top) / 2)
        east, _ = inv(g).transform(right, (bottom + top) / 2)
        assert math.floor((west + 180) / 6) != math.floor((east + 180) / 6), site_id


def test_known_take5_sites_where_they_are(sites):
    for site_id, (lon, lat) in KNOWN.items():
        c = sites[site_id].center
        assert abs(c.lon - lon) <= 1.0 and abs(c.lat - lat) <= 1.0, site_id
    assert sites["FinlandSodankyla"].center.lat > 67


def test_generator_is_deterministic_and_committed(tmp_path):
    for out in ("a", "b"):
        subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path / out)], check=True,
                       capture_output=True)
    a, b = sorted((tmp_path / "a").iterdir()), sorted((tmp_path / "b").iterdir())
    assert [p.name for p in a] == [p.name for p in b] == sorted(p.name for p in CONFIGS.glob("*.yaml"))
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes() == (CONFIGS / pa.name).read_bytes(), pa.name


# ---- invalid files ---------------------------------------------------------------------------

BROKEN = {  # file stem -> (edit of the FrancePornic text, the field the error must name)
    "BadEpsg": (("epsg: 32630", "epsg: 4326"), "field grid.epsg"),
    "BadLattice": (("ulx: 535270.0", "ulx: 535273.0"), "grid: Value error, ulx=535273.0 is not on the 10"),
    "BadCycle": (("cycle_day: 2\n", ""), "field cycle_day: Field required"),
    "BadAerosol": (("aerosol_model: CONT", "aerosol_model: MARITIME"), "field aerosol_model"),
    "BadContact": (("contacts: [take5-ops@example.org]", "contacts: [not-an-address]"), "field sla.contacts.0"),
    "BadContinent": (('continent: "Europe"', 'continent: "Atlantis"'), "field continent"),
    "BadExtra": (("cycle_day:", "colour: blue\ncycle_day:"), "field colour: Extra inputs are not permitted"),
    "BadJinja": (('name: "France : Pornic"', 'name: "Pornic {{ dag_run }}"'), "field name: Value error, must not"),
}


def test_invalid_files_named_with_their_field(tmp_path):
    text = (CONFIGS / "FrancePornic.yaml").read_text()
    shutil.copy(CONFIGS / "FrancePornic.yaml", tmp_path)
    shutil.copy(CONFIGS / "AustraliaLitchfield.yaml", tmp_path)
    for stem, ((old, new), _field) in BROKEN.items():
        assert old in text, old
        broken = text.replace(old, new).replace("site_id: FrancePornic", f"site_id: {stem}")
        (tmp_path / f"{stem}.yaml").write_text(broken)
    (tmp_path / "Mismatch.yaml").write_text(text)  # site_id FrancePornic in Mismatch.yaml
    (tmp_path / "NotYaml.yaml").write_text("site_id: [unclosed\n")
    configs, errors = load_site_configs(tmp_path)
    assert sorted(configs) == ["AustraliaLitchfield", "FrancePornic"]  # the good ones still load
    messages = {p.stem: m for p, m in errors.items()}
    assert sorted(messages) == sorted([*BROKEN, "Mismatch", "NotYaml"])
    for stem, (_edit, field) in BROKEN.items():
        assert f"{stem}.yaml" in messages[stem] and field in messages[stem], messages[stem]
    assert "field site_id: 'FrancePornic' must equal the file name 'Mismatch'" in messages["Mismatch"]
    assert "NotYaml.yaml: not valid YAML" in messages["NotYaml"]
    with pytest.raises(SiteConfigError, match=r"BadEpsg\.yaml: field grid\.epsg"):
        load_site_config(tmp_path / "BadEpsg.yaml")
