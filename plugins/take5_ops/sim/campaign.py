"""Simulated products and campaigns: the library entry points of ``take5 simulate``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from take5_ops.naming import ProductId
from take5_ops.sim import writer
from take5_ops.sim.scene import Scene, acquisition_dates, plan
from take5_ops.sim.terrain import Terrain, write_dem
from take5_ops.siteconfig import SiteConfig


def dem_path(out_root: Path, site: SiteConfig) -> Path:
    return Path(out_root) / "aux" / site.site_id / "DEM.tif"


def default_delivery_time(acquired: datetime) -> datetime:
    """The weekly batch after the acquisition: the second Monday after it, 02:13 UTC."""
    day = acquired.date() + timedelta(days=7 - acquired.weekday() + 7)
    return datetime(day.year, day.month, day.day, 2, 13, tzinfo=UTC)


def simulate_product(site: SiteConfig, acquired: datetime, out_root: Path, *, size: int = 1000,
                     cloud_cover: float | None = None, delivered_at: datetime | None = None, truth: bool = True,
                     events=(), seed: int = 0, preview: bool = True, sky=None) -> Path:
    """Simulate one delivery of ``site`` acquired at ``acquired`` (UTC, whole seconds).

    Writes ``<out_root>/l1a/<SITE_ID>/<PRODUCT_ID>/`` (DELIVERY.OK last) and,
    with ``truth``, ``<out_root>/truth/<SITE_ID>/<PRODUCT_ID>/``; writes the
    site DEM first when missing. ``events`` are :class:`~take5_ops.sim.surface.Burn` and
    :class:`~take5_ops.sim.surface.Harvest`; ``sky`` a :class:`~take5_ops.sim.scene.Sky`.
    Returns the delivery folder. Deterministic: same arguments, same bytes.
    """
    acquired = acquired.astimezone(UTC).replace(microsecond=0)
    dem = dem_path(out_root, site)
    if not dem.is_file():
        write_dem(site, dem)
    acq = plan(site, acquired, size, cloud_cover, seed, sky)
    scene = Scene(acq, Terrain(dem), events, seed, sky)
    pid = ProductId(acquired, acq.geometry.instrument, site.site_id)
    folder = Path(out_root) / "l1a" / site.site_id / str(pid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "DELIVERY.OK").unlink(missing_ok=True)  # a rewrite is a new delivery in transfer
    writer.write_metadata(scene, folder / "METADATA.DIM")
    writer.write_imagery(scene, folder / "IMAGERY.TIF")
    if preview:
        writer.write_preview(folder / "IMAGERY.TIF", folder / "PREVIEW.JPG")
    if truth:
        writer.write_truth(scene, Path(out_root) / "truth" / site.site_id / str(pid))
    writer.write_delivery_ok(folder, pid, delivered_at or default_delivery_time(acquired))
    return folder


def simulate_campaign(sites, out_root: Path, start: date, end: date, *, size: int = 1000, truth: bool = True,
                      seed: int = 0, events: dict | None = None, progress=None) -> list[Path]:
    """Simulate every acquisition of ``sites`` between ``start`` and ``end``; return the delivery folders.

    ``events`` maps a site id to its burns; ``progress`` (a
    :class:`take5_ops.progress.Progress`-like object) is advanced per product.
    """
    folders = []
    for site in sites:
        for when in acquisition_dates(site, start, end):
            folders.append(simulate_product(site, when, out_root, size=size, truth=truth, seed=seed,
                                            events=(events or {}).get(site.site_id, ())))
            if progress is not None:
                progress.advance(folders[-1].name)
    return folders
