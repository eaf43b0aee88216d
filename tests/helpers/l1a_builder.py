"""Write small, valid L1A deliveries into a Store, with knobs to break them.

A delivery is a uint8 4-band GeoTIFF with RPCs (a plain lon/lat -> line/sample
mapping around ``center``), its ``METADATA.DIM`` (``write_dimap``) and a
``DELIVERY.OK`` written last (``delivery_ok_bytes``). Band ``name`` holds the
DN ``BAND_DN[name]`` everywhere except a no-data (0) first row, so a test can
tell the bands apart whatever their order.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import rasterio
from rasterio.io import MemoryFile
from rasterio.rpc import RPC
from rasterio.transform import Affine

from take5_ops.l1a.delivery import MARKER, PREVIEW, DeliveryManifest, ManifestFile, delivery_ok_bytes
from take5_ops.l1a.metadata import BandInfo, FramePoint, L1AMetadata, write_dimap
from take5_ops.naming import ProductId
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import Store, layout

SITE = "AustraliaLitchfield"
ACQUIRED = datetime(2015, 4, 28, 10, 32, 35, tzinfo=UTC)
DELIVERED = datetime(2015, 5, 4, 2, 13, tzinfo=UTC)
REAL_ORDER = ("XS3", "XS2", "XS1", "SWIR")
BAND_DN = {"XS1": 11, "XS2": 22, "XS3": 33, "SWIR": 44}
GAIN = {"XS1": 1.5, "XS2": 1.6, "XS3": 1.7, "SWIR": 8.0}
ESUN = {"XS1": 1859.8, "XS2": 1577.6, "XS3": 1048.2, "SWIR": 237.78}
PIXEL_DEG = 10.0 / 111320.0


@dataclass
class Built:
    """What was written: the prefix, the PRODUCT_ID, the listed files' bytes and the manifest."""

    prefix: str
    product_id: str
    files: dict[str, bytes]
    manifest: DeliveryManifest


def site_config(site_id: str = SITE) -> SiteConfig:
    """A valid site configuration (the intake only uses its ``site_id``)."""
    return SiteConfig.model_validate({
        "site_id": site_id, "name": site_id, "country": "Australia",
        "center": {"lon": 130.8, "lat": -13.2},
        "grid": {"epsg": 32752, "ulx": 690000, "uly": 8550000, "width": 100, "height": 100, "resolution": 10},
        "cycle_day": 3, "first_acquisition": "2015-04-13", "aerosol_model": "CONT",
        "sla": {"contacts": ["ops@example.org"]},
    })


def scene_site() -> SiteConfig:
    """:func:`site_config` with its 1 km grid around the builder's scene (for the L1C of a delivery)."""
    site = site_config()
    return site.model_copy(update={"grid": site.grid.model_copy(update={"ulx": 694600, "uly": 8540500})})


def rpcs(ncols: int, nrows: int, center: tuple[float, float]) -> RPC:
    """RPCs of a north-up scene of 10 m pixels centred on ``center`` (lon, lat)."""
    lon, lat = center
    num_line = [0.0] * 20
    num_line[2] = -1.0  # line grows southwards
    num_samp = [0.0] * 20
    num_samp[1] = 1.0
    den = [1.0] + [0.0] * 19
    return RPC(height_off=0.0, height_scale=500.0, lat_off=lat, lat_scale=nrows / 2 * PIXEL_DEG,
               line_den_coeff=den, line_num_coeff=num_line, line_off=(nrows - 1) / 2, line_scale=nrows / 2,
               long_off=lon, long_scale=ncols / 2 * PIXEL_DEG / np.cos(np.radians(lat)),
               samp_den_coeff=den, samp_num_coeff=num_samp, samp_off=(ncols - 1) / 2, samp_scale=ncols / 2)


def make_metadata(acquired: datetime = ACQUIRED, instrument: int = 2, ncols: int = 40, nrows: int = 30,
                  band_order: tuple[str, ...] = REAL_ORDER, center: tuple[float, float] = (130.8, -13.2)) -> L1AMetadata:
    """Metadata of a scene whose TIFF band ``i`` (1-based) is ``band_order[i-1]``."""
    lon, lat = center
    dlon = PIXEL_DEG / np.cos(np.radians(lat))

    def point(row: float, col: float) -> FramePoint:
        return FramePoint(lon + (col - (ncols - 1) / 2) * dlon, lat - (row - (nrows - 1) / 2) * PIXEL_DEG, row, col)

    corners = tuple(point(r, c) for r, c in ((0, 0), (0, ncols - 1), (nrows - 1, ncols - 1), (nrows - 1, 0)))
    bands = {name: BandInfo(i + 1, name, "W/m2/sr/um", GAIN[name], 0.0, ESUN[name])
             for i, name in enumerate(band_order)}
    return L1AMetadata(
        dataset_name=f"SCENE 5 312-401/0 {acquired:%y/%m/%d %H:%M:%S} {instrument} J",
        vertices=corners, center=point((nrows - 1) / 2, (ncols - 1) / 2), orientation=0.0,
        ncols=ncols, nrows=nrows, grid_reference="312401", shift_value=0, acquired=acquired,
        instrument=instrument, incidence_angle=5.2, viewing_angle=4.6, sun_azimuth=45.0, sun_elevation=55.0,
        bands=bands)


def make_imagery(ncols: int = 40, nrows: int = 30, band_order: tuple[str, ...] = REAL_ORDER, *,
                 center: tuple[float, float] = (130.8, -13.2), with_rpcs: bool = True,
                 count: int = 4, dtype: str = "uint8", **creation) -> bytes:
    """GeoTIFF bytes: band ``i`` holds ``BAND_DN[band_order[i-1]]``, first row 0 (no data); ``creation``: GDAL
    creation options (``tiled``, ``blockysize``, ``interleave``, ``compress``...)."""
    data = np.zeros((count, nrows, ncols), dtype=dtype)
    for i in range(count):
        data[i, 1:, :] = BAND_DN[band_order[i % 4]]
    profile = dict(driver="GTiff", width=ncols, height=nrows, count=count, dtype=dtype, **creation)
    if with_rpcs:
        profile["rpcs"] = rpcs(ncols, nrows, center)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(**profile) as dst:
                dst.write(data)
            return mem.read()


def build_delivery(
    store: Store,
    *,
    site_id: str = SITE,
    acquired: datetime = ACQUIRED,
    instrument: int = 2,
    product_id: str | None = None,
    delivered_at: datetime = DELIVERED,
    ncols: int = 40,
    nrows: int = 30,
    band_order: tuple[str, ...] = REAL_ORDER,
    preview: bool = False,
    meta_edit: Callable[[L1AMetadata], L1AMetadata] | None = None,
    dim: bytes | None = None,
    imagery: bytes | None = None,
    tamper: dict[str, bytes | None] | None = None,
    unlisted: dict[str, bytes] | None = None,
    manifest_edit: Callable[[dict], None] | None = None,
    marker: bytes | None = None,
    write_marker: bool = True,
) -> Built:
    """Write one delivery under ``<site_id>/<product_id>/``, ``DELIVERY.OK`` last.

    Knobs: ``meta_edit`` changes the metadata before writing, ``dim``/``imagery``
    replace the files' bytes (listed with their true size and digest);
    ``tamper`` replaces (bytes) or omits (``None``) files after the manifest is
    computed; ``unlisted`` adds files the manifest does not list;
    ``manifest_edit`` edits the JSON dict of the marker, ``marker`` gives its raw
    bytes; ``write_marker=False`` leaves the delivery in transfer.
    """
    pid = product_id or str(ProductId(acquired, instrument, site_id))
    prefix = f"{site_id}/{pid}/"
    meta = make_metadata(acquired, instrument, ncols, nrows, band_order)
    if meta_edit:
        meta = meta_edit(meta)
    files = {
        "METADATA.DIM": dim if dim is not None else write_dimap(meta, band_order),
        "IMAGERY.TIF": imagery if imagery is not None else make_imagery(ncols, nrows, band_order),
    }
    if preview:
        files[PREVIEW] = b"\xff\xd8\xff\xe0 tiny preview \xff\xd9"
    manifest = DeliveryManifest(pid, site_id, delivered_at, tuple(
        ManifestFile(name, len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()))
    written = {**files, **(tamper or {}), **(unlisted or {})}
    for name, data in written.items():
        if data is not None:
            store.put_bytes(prefix + name, data)
    if write_marker:
        if marker is None:
            marker = delivery_ok_bytes(manifest)
            if manifest_edit:
                doc = json.loads(marker)
                manifest_edit(doc)
                marker = json.dumps(doc).encode()
        store.put_bytes(prefix + MARKER, marker, "application/json")
    return Built(prefix, pid, files, manifest)



def put_flat_dem(aux: Store, site: SiteConfig, height: float = 20.0) -> None:
    """A flat DEM covering the site's grid with a 1 km margin (``layout.dem_key``)."""
    g = site.grid
    margin = 1000
    width, rows = ((int(n * g.resolution) + 2 * margin) // 100 for n in (g.width, g.height))
    profile = dict(driver="GTiff", width=width, height=rows, count=1, dtype="float32", crs=g.crs,
                   transform=Affine(100, 0, g.ulx - margin, 0, -100, g.uly + margin))
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(np.full((1, rows, width), height, np.float32))
        aux.put_bytes(layout.dem_key(site.site_id), mem.read())


def garble_block(tiff: bytes, block_row: int = 1) -> bytes:
    """``tiff`` with the middle of one of its (compressed) strips or tiles overwritten: the structure stays
    right, decoding that block fails."""
    with MemoryFile(tiff) as mem, mem.open() as src:
        offset = int(src.get_tag_item(f"BLOCK_OFFSET_0_{block_row}", "TIFF", bidx=1))
        size = int(src.get_tag_item(f"BLOCK_SIZE_0_{block_row}", "TIFF", bidx=1))
    data = bytearray(tiff)
    data[offset:offset + size] = bytes([0xFF]) * size
    return bytes(data)
