"""SMAC atmospheric model (Rahman & Dedieu, 1994) for SPOT5 HRG, vectorised with numpy.

:func:`toa_reflectance` is the forward model (surface -> top of atmosphere,
used by the simulator); :func:`surface_reflectance` inverts it (L2A). Every
argument broadcasts: angles in degrees, pressure in hPa (see
:func:`pressure`), ``aot`` the aerosol optical thickness at 550 nm, ozone in
cm-atm, water vapour in g/cm². The coefficients of the 16 SPOT5 files live
in :mod:`take5_ops.smac.coefficients`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from take5_ops.smac.coefficients import COEFFICIENTS

BAND_FILES = {"XS1": "XS1", "XS2": "XS2", "XS3": "XS3", "SWIR": "XS4"}  # the files call SWIR XS4
OZONE = 0.3  # cm-atm, default
WATER_VAPOUR = 2.0  # g/cm², default


class Coefficients(NamedTuple):
    """The 49 numbers of one SMAC coefficient file, in file order."""

    ah2o: float
    nh2o: float
    ao3: float
    no3: float
    ao2: float
    no2: float
    po2: float
    aco2: float
    nco2: float
    pco2: float
    ach4: float
    nch4: float
    pch4: float
    ano2: float
    nno2: float
    pno2: float
    aco: float
    nco: float
    pco: float
    a0s: float
    a1s: float
    a2s: float
    a3s: float
    a0T: float
    a1T: float
    a2T: float
    a3T: float
    taur: float
    sr: float
    a0taup: float
    a1taup: float
    wo: float
    gc: float
    a0P: float
    a1P: float
    a2P: float
    a3P: float
    a4P: float
    Rest1: float
    Rest2: float
    Rest3: float
    Rest4: float
    Resr1: float
    Resr2: float
    Resr3: float
    Resa1: float
    Resa2: float
    Resa3: float
    Resa4: float


def coefficients(instrument: int, band: str, model: str) -> Coefficients:
    """Coefficients of HRG ``instrument`` (1, 2), ``band`` (XS1, XS2, XS3, SWIR or XS4), ``model`` (CONT, DES)."""
    key = (f"HRG{instrument}", BAND_FILES.get(band, band), model)
    try:
        return Coefficients(*COEFFICIENTS[key])
    except KeyError:
        raise ValueError(f"no SMAC coefficients for instrument {instrument}, band {band!r}, model {model!r}") from None


def pressure(altitude) -> np.ndarray:
    """Surface pressure (hPa) at ``altitude`` metres: 1013.25 (1 - 0.0065 z / 288.15)^5.31."""
    return 1013.25 * (1.0 - 0.0065 * np.asarray(altitude, dtype=np.float64) / 288.15) ** 5.31


class Atmosphere(NamedTuple):
    """What both directions need: gas transmission, path reflectance, T(us)·T(uv), spherical albedo."""

    tg: np.ndarray
    path: np.ndarray
    transmission: np.ndarray
    albedo: np.ndarray


def atmosphere(c: Coefficients, sun_zenith, sun_azimuth, view_zenith, view_azimuth, pressure_hpa,
               aot, ozone=OZONE, water_vapour=WATER_VAPOUR) -> Atmosphere:
    """The SMAC atmospheric terms of one band (arrays broadcast together)."""
    rad = np.pi / 180.0
    us = np.cos(np.asarray(sun_zenith, dtype=np.float64) * rad)
    uv = np.cos(np.asarray(view_zenith, dtype=np.float64) * rad)
    peq = np.asarray(pressure_hpa, dtype=np.float64) / 1013.25
    aot = np.asarray(aot, dtype=np.float64)
    m = 1.0 / us + 1.0 / uv
    taup = c.a0taup + c.a1taup * aot

    tg = (np.exp(c.ah2o * (water_vapour * m) ** c.nh2o) * np.exp(c.ao3 * (ozone * m) ** c.no3)
          * np.exp(c.ao2 * (peq ** c.po2 * m) ** c.no2) * np.exp(c.aco2 * (peq ** c.pco2 * m) ** c.nco2)
          * np.exp(c.ach4 * (peq ** c.pch4 * m) ** c.nch4) * np.exp(c.ano2 * (peq ** c.pno2 * m) ** c.nno2)
          * np.exp(c.aco * (peq ** c.pco * m) ** c.nco))
    t_sun = c.a0T + c.a1T * aot / us + (c.a2T * peq + c.a3T) / (1.0 + us)
    t_view = c.a0T + c.a1T * aot / uv + (c.a2T * peq + c.a3T) / (1.0 + uv)
    albedo = c.a0s * peq + c.a3s + c.a1s * aot + c.a2s * aot ** 2

    dphi = (np.asarray(sun_azimuth, dtype=np.float64) - np.asarray(view_azimuth, dtype=np.float64)) * rad
    cksi = np.maximum(-(us * uv + np.sqrt(1.0 - us * us) * np.sqrt(1.0 - uv * uv) * np.cos(dphi)), -1.0)
    ksi = np.degrees(np.arccos(cksi))

    ray_phase = 0.7190443 * (1.0 + cksi * cksi) + 0.0412742
    rayleigh = c.taur * ray_phase / (4.0 * us * uv) * peq
    taurz = c.taur * peq
    res_ray = c.Resr1 + c.Resr2 * c.taur * ray_phase / (us * uv) + c.Resr3 * (c.taur * ray_phase / (us * uv)) ** 2

    aer_phase = c.a0P + c.a1P * ksi + c.a2P * ksi ** 2 + c.a3P * ksi ** 3 + c.a4P * ksi ** 4
    wo, gc = c.wo, c.gc
    ak2 = (1.0 - wo) * (3.0 - wo * 3.0 * gc)
    ak = np.sqrt(ak2)
    e = -3.0 * us * us * wo / (4.0 * (1.0 - ak2 * us * us))
    f = -(1.0 - wo) * 3.0 * gc * us * us * wo / (4.0 * (1.0 - ak2 * us * us))
    dp = e / (3.0 * us) + us * f
    d = e + f
    b = 2.0 * ak / (3.0 - wo * 3.0 * gc)
    delta = np.exp(ak * taup) * (1.0 + b) ** 2 - np.exp(-ak * taup) * (1.0 - b) ** 2
    ss = us / (1.0 - ak2 * us * us)
    q1 = 2.0 + 3.0 * us + (1.0 - wo) * 3.0 * gc * us * (1.0 + 2.0 * us)
    q2 = 2.0 - 3.0 * us - (1.0 - wo) * 3.0 * gc * us * (1.0 - 2.0 * us)
    q3 = q2 * np.exp(-taup / us)
    c1 = (wo / 4.0 * ss / delta) * (q1 * np.exp(ak * taup) * (1.0 + b) + q3 * (1.0 - b))
    c2 = -(wo / 4.0 * ss / delta) * (q1 * np.exp(-ak * taup) * (1.0 - b) + q3 * (1.0 + b))
    cp1 = c1 * ak / (3.0 - wo * 3.0 * gc)
    cp2 = -c2 * ak / (3.0 - wo * 3.0 * gc)
    z = d - wo * 3.0 * gc * uv * dp + wo * aer_phase / 4.0
    x = c1 - wo * 3.0 * gc * uv * cp1
    y = c2 - wo * 3.0 * gc * uv * cp2
    aa1 = uv / (1.0 + ak * uv)
    aa2 = uv / (1.0 - ak * uv)
    aa3 = us * uv / (us + uv)
    aerosol = (x * aa1 * (1.0 - np.exp(-taup / aa1)) + y * aa2 * (1.0 - np.exp(-taup / aa2))
               + z * aa3 * (1.0 - np.exp(-taup / aa3))) / (us * uv)

    tm = taup * m * cksi
    res_aer = c.Resa1 + c.Resa2 * tm + c.Resa3 * tm ** 2 + c.Resa4 * tm ** 3
    tt = (taup + taurz) * m * cksi
    res_6s = c.Rest1 + c.Rest2 * tt + c.Rest3 * tt ** 2 + c.Rest4 * tt ** 3
    path = rayleigh - res_ray + aerosol - res_aer + res_6s
    return Atmosphere(tg, path, t_sun * t_view, albedo)


def toa_reflectance(surface, c: Coefficients, sun_zenith, sun_azimuth, view_zenith, view_azimuth,
                    pressure_hpa, aot, ozone=OZONE, water_vapour=WATER_VAPOUR) -> np.ndarray:
    """SMAC forward model: tg (rho_atm + Ts Tv rho_s / (1 - s rho_s))."""
    a = atmosphere(c, sun_zenith, sun_azimuth, view_zenith, view_azimuth, pressure_hpa, aot, ozone, water_vapour)
    rho = np.asarray(surface, dtype=np.float64)
    return a.tg * (a.path + a.transmission * rho / (1.0 - a.albedo * rho))


def surface_reflectance(toa, c: Coefficients, sun_zenith, sun_azimuth, view_zenith, view_azimuth,
                        pressure_hpa, aot, ozone=OZONE, water_vapour=WATER_VAPOUR) -> np.ndarray:
    """SMAC inversion: (rho_toa - rho_atm tg) / (tg Ts Tv + (rho_toa - rho_atm tg) s)."""
    a = atmosphere(c, sun_zenith, sun_azimuth, view_zenith, view_azimuth, pressure_hpa, aot, ozone, water_vapour)
    r = np.asarray(toa, dtype=np.float64) - a.path * a.tg
    return r / (a.tg * a.transmission + r * a.albedo)
