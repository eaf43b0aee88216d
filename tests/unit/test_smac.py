"""SMAC: coefficients of the 16 SPOT5 files, forward/inverse consistency, physical behaviour."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from helpers.paths import ROOT
from take5_ops import smac

SMAC_FILES = ROOT.parent / "shared" / "data" / "smac"  # shared/ beside the repo
BANDS = ("XS1", "XS2", "XS3", "SWIR")


def test_all_sixteen_coefficient_sets_are_encoded():
    from take5_ops.smac.coefficients import COEFFICIENTS

    assert len(COEFFICIENTS) == 16
    for inst, band, model in product((1, 2), BANDS, ("CONT", "DES")):
        c = smac.coefficients(inst, band, model)
        assert len(c) == 49 and np.all(np.isfinite(c))


@pytest.mark.skipif(not SMAC_FILES.is_dir(), reason="the original coefficient files are not here")
@pytest.mark.parametrize("path", sorted(SMAC_FILES.glob("coef_SPOT5_*.dat")), ids=lambda p: p.name)
def test_coefficients_match_the_original_files(path):
    _, _, band, inst, model = path.stem.split("_")
    values = [float(w) for w in path.read_text().split()]
    c = smac.coefficients(int(inst[-1]), band, model)
    np.testing.assert_allclose(c, values, rtol=1e-12, atol=0)
    assert (c.taur, c.wo, c.Resa4) == (values[27], values[31], values[48])  # named fields in file order


def test_unknown_coefficients_are_rejected():
    with pytest.raises(ValueError, match="XS9"):
        smac.coefficients(2, "XS9", "CONT")


def test_pressure_from_altitude():
    assert smac.pressure(0.0) == pytest.approx(1013.25)
    p = smac.pressure(np.array([0.0, 1000.0, 3000.0]))
    assert np.all(np.diff(p) < 0)
    assert p[1] == pytest.approx(1013.25 * (1 - 6.5 / 288.15) ** 5.31)


@pytest.mark.parametrize("inst,model", [(1, "CONT"), (2, "DES")])
def test_inverse_of_forward_is_identity(inst, model):
    g = np.random.default_rng(3)
    n = 5000
    rho = g.uniform(0.0, 0.9, n)
    args = dict(sun_zenith=g.uniform(10, 70, n), sun_azimuth=g.uniform(0, 360, n), view_zenith=g.uniform(0, 30, n),
                view_azimuth=g.uniform(0, 360, n), pressure_hpa=smac.pressure(g.uniform(0, 3000, n)),
                aot=g.uniform(0.01, 0.8, n), ozone=0.3, water_vapour=g.uniform(0.3, 5, n))
    for band in BANDS:
        c = smac.coefficients(inst, band, model)
        toa = smac.toa_reflectance(rho, c, **args)
        assert toa.shape == (n,) and np.all(np.isfinite(toa))
        np.testing.assert_allclose(smac.surface_reflectance(toa, c, **args), rho, atol=1e-6)


def test_scalars_and_arrays_broadcast():
    c = smac.coefficients(2, "XS2", "CONT")
    rho = np.full((3, 4), 0.1)
    toa = smac.toa_reflectance(rho, c, 30.0, 140.0, 10.0, 100.0, smac.pressure(np.zeros((1, 4))), 0.1)
    assert toa.shape == (3, 4) and np.allclose(toa, toa[0, 0])


def test_dark_surface_brightens_with_aot_and_rayleigh_behaves():
    geo = dict(sun_zenith=40.0, sun_azimuth=150.0, view_zenith=10.0, view_azimuth=100.0)
    aots = np.linspace(0.02, 0.8, 9)
    path = {}
    for band in BANDS:
        c = smac.coefficients(2, band, "CONT")
        dark = smac.toa_reflectance(0.01, c, **geo, pressure_hpa=1013.25, aot=aots)
        assert np.all(np.diff(dark) > 0), band  # more aerosol, brighter dark target
        path[band] = float(smac.toa_reflectance(0.0, c, **geo, pressure_hpa=1013.25, aot=0.02))
        high = float(smac.toa_reflectance(0.0, c, **geo, pressure_hpa=smac.pressure(3000.0), aot=0.02))
        assert high < path[band]  # less air above a mountain, less Rayleigh
    assert path["XS1"] > path["XS2"] > path["XS3"] > path["SWIR"] >= 0.0  # Rayleigh ~ lambda^-4
    # a bright surface is darkened by a thick aerosol layer (absorption, backscatter to space is small)
    c = smac.coefficients(2, "XS3", "CONT")
    bright = smac.toa_reflectance(0.5, c, **geo, pressure_hpa=1013.25, aot=aots)
    assert bright[-1] < bright[0]
