"""DN -> TOA reflectance against the contract's formulas, evaluated independently here."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest

from take5_ops.l1a.metadata import BandInfo, FramePoint, L1AMetadata, read_dimap, write_dimap
from take5_ops.l1c.radiometry import FALLBACK_E_SUN, calibration, earth_sun_distance, encode_toa, solar_irradiance


def by_hand(dn: float, gain: float, bias: float, e_sun: float, sun_elevation: float, day: date) -> float:
    """Contract section 6, written out with the math module."""
    doy = (day - date(day.year, 1, 1)).days + 1
    d = 1 - 0.01672 * math.cos(math.radians(0.9856 * (doy - 4)))
    radiance = dn / gain + bias
    return math.pi * radiance * d * d / (e_sun * math.cos(math.radians(90 - sun_elevation)))


def make_meta(gains: dict[str, float], biases: dict[str, float], e_sun: dict[str, float],
              index: dict[str, int], instrument: int = 2) -> L1AMetadata:
    corner = FramePoint(130.5, -13.2, 1, 1)
    bands = {b: BandInfo(index[b], b, "W/m2/sr/um", gains[b], biases[b], e_sun[b]) for b in gains}
    return L1AMetadata("SCENE 5 312-401/0 15/04/28 10:32:35 2 J", (corner,) * 4, corner, 12.0, 100, 100,
                       "312401", 0, datetime(2015, 4, 28, 10, 32, 35, tzinfo=UTC), instrument,
                       -8.5, 7.6, 48.0, 52.5, bands)


def test_earth_sun_distance_extremes_and_a_spring_day():
    assert earth_sun_distance(date(2015, 1, 4)) == pytest.approx(1 - 0.01672, abs=1e-12)  # perihelion: cos(0) = 1
    # 0.9856 * (186 - 4) = 179.38 degrees: close to aphelion
    assert earth_sun_distance(date(2015, 7, 5)) == pytest.approx(1 + 0.01672 * math.cos(math.radians(180 - 0.9856 * 182)), abs=1e-12)
    assert 1.0167 < earth_sun_distance(date(2015, 7, 5)) < 1.01672
    day = date(2015, 4, 28)  # day of year 118
    assert earth_sun_distance(day) == pytest.approx(1 - 0.01672 * math.cos(math.radians(0.9856 * 114)), abs=1e-12)


@pytest.mark.parametrize(
    "dn, gain, bias, e_sun, elevation, day",
    [
        (100, 1.5, 0.0, 1859.8, 55.0, date(2015, 4, 28)),
        (37, 2.1, 1.25, 1577.6, 41.3, date(2015, 8, 30)),
        (255, 0.87, -0.4, 237.78, 63.9, date(2015, 6, 21)),
        (1, 5.2, 0.3, 1048.2, 22.0, date(2015, 12, 31)),
    ],
)
def test_toa_encoding_matches_the_formula(dn, gain, bias, e_sun, elevation, day):
    """The L1C's int16 reflectance (x 10000) is the formula's reflectance to the nearest 1e-4."""
    from take5_ops.l1c.radiometry import toa_coefficients

    scale, offset = toa_coefficients(gain, bias, e_sun, elevation, day)
    for value in (dn, dn + 0.5):  # a resampled (float) DN follows the same straight line
        got = encode_toa(np.array([value], np.float32), scale, offset, np.array([True]))[0]
        expected = by_hand(value, gain, bias, e_sun, elevation, day)
        if expected * 10000 >= 32767:  # beyond int16: clipped
            assert got == 32767
        else:
            assert abs(got / 10000 - expected) <= 0.5e-4 * (1 + 1e-3)


def test_pixels_outside_the_scene_are_no_data():
    valid = np.array([[False, True], [True, False]])
    out = encode_toa(np.array([[0, 10], [255, 0]], np.float32), 0.002, 0.001, valid)
    assert out[0, 0] == out[1, 1] == -10000
    assert out[0, 1] == round((10 * 0.002 + 0.001) * 10000)
    assert out.dtype == np.int16


def test_bands_are_calibrated_by_description_not_by_order():
    gains = {"XS1": 1.1, "XS2": 1.7, "XS3": 2.3, "SWIR": 6.1}
    biases = {"XS1": 0.5, "XS2": -0.2, "XS3": 0.0, "SWIR": 0.1}
    e_sun = {"XS1": 1860.0, "XS2": 1575.0, "XS3": 1045.0, "SWIR": 238.0}
    index = {"XS3": 1, "XS2": 2, "XS1": 3, "SWIR": 4}  # the real deliveries' order
    meta = read_dimap(write_dimap(make_meta(gains, biases, e_sun, index), band_order=("SWIR", "XS1", "XS3", "XS2")))
    cal = calibration(meta)
    for b in gains:
        assert meta.bands[b].index == index[b]
        rho = 120 * cal[b].scale + cal[b].offset
        assert rho == pytest.approx(by_hand(120, gains[b], biases[b], e_sun[b], 52.5, date(2015, 4, 28)), rel=1e-9)
        assert cal[b].e_sun_source == "L1A"


def test_fallback_solar_irradiance_only_when_missing():
    gains = dict.fromkeys(("XS1", "XS2", "XS3", "SWIR"), 1.0)
    e_sun = {"XS1": 1850.0, "XS2": 1570.0, "XS3": 1040.0, "SWIR": 230.0}
    meta = make_meta(gains, dict.fromkeys(gains, 0.0), e_sun, {"XS1": 1, "XS2": 2, "XS3": 3, "SWIR": 4}, instrument=1)
    assert solar_irradiance(meta, "XS3") == (1040.0, "L1A")
    missing = dataclasses.replace(meta, bands={**meta.bands, "XS3": dataclasses.replace(meta.bands["XS3"], solar_irradiance=float("nan"))})
    assert solar_irradiance(missing, "XS3") == (FALLBACK_E_SUN[1]["XS3"], "fallback")
    assert FALLBACK_E_SUN[1]["XS3"] == 1043.9 and FALLBACK_E_SUN[2]["SWIR"] == 237.78
