"""Intake of L1A deliveries: find, validate, quarantine and record them.

:func:`scan` finds the pending deliveries of a site from listings alone (the
delivery trigger calls it at each poll). :func:`validate` checks one pending
delivery against the contract (../shared/specs/l1a-delivery.md) and returns
:class:`Accepted`, :class:`Rejected` or :class:`Stale`; rejects go to
:func:`quarantine` and every outcome to the ledger (:func:`record`).
:func:`validate_site` does all of it for a site. See docs/delivery-intake.md.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from take5_ops.errors import SiteAuxError
from take5_ops.l1a.delivery import (
    IMAGERY,
    MARKER,
    MAX_MARKER_SIZE,
    METADATA,
    PREVIEW,
    DeliveryError,
    DeliveryManifest,
    parse_delivery_ok,
)
from take5_ops.l1a.metadata import MetadataError, read_dimap
from take5_ops.l1a.tiff import check_tiff
from take5_ops.naming import is_site_id, match_product_id, parse_product_id
from take5_ops.products.gdal import local_env
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import ObjectInfo, Store, layout, read_json
from take5_ops.times import format_time, parse_time

log = logging.getLogger(__name__)

MAX_METADATA_SIZE = 16 * 1024 * 1024


@dataclass(frozen=True)
class Pending:
    """A ``DELIVERY.OK`` not yet acted upon."""

    site_id: str
    product_id: str
    marker_etag: str


@dataclass
class Scan:
    pending: list[Pending]
    ignored: list[str]  # stray keys and prefix names that are not products, each once


def _to_dict(outcome) -> dict:
    """JSON-able fields of an outcome (for XCom and the ledger): times as ISO strings."""
    def encode(value):
        if isinstance(value, datetime):
            return format_time(value)
        if isinstance(value, DeliveryManifest):
            return value.to_dict()
        return list(value) if isinstance(value, list) else value

    return {f.name: encode(getattr(outcome, f.name)) for f in fields(outcome)}


@dataclass
class Accepted:
    """A delivery that follows the contract, with what the processors need."""

    site_id: str
    product_id: str
    marker_etag: str
    marker_last_modified: datetime
    delivered_at: datetime
    manifest: DeliveryManifest
    acquired: datetime
    instrument: int

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Accepted:
        return cls(d["site_id"], d["product_id"], d["marker_etag"], parse_time(d["marker_last_modified"]),
                   parse_time(d["delivered_at"]), DeliveryManifest.from_dict(d["manifest"]),
                   parse_time(d["acquired"]), int(d["instrument"]))


@dataclass
class Rejected:
    """A corrupt delivery and why; ``files_seen`` lists the objects under its prefix."""

    site_id: str
    product_id: str
    marker_etag: str
    reason: str
    rejected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    delivered_at: datetime | None = None
    files_seen: list[dict] = field(default_factory=list)  # {"name", "size", "last_modified"}

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Rejected:
        return cls(d["site_id"], d["product_id"], d["marker_etag"], d["reason"], parse_time(d["rejected_at"]),
                   parse_time(d["delivered_at"]) if d.get("delivered_at") else None, list(d.get("files_seen", [])))


@dataclass
class Stale:
    """A ``DELIVERY.OK`` older than the delivery already applied: nothing to do."""

    site_id: str
    product_id: str
    marker_etag: str
    marker_last_modified: datetime
    delivered_at: datetime
    applied_delivered_at: datetime

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Stale:
        return cls(d["site_id"], d["product_id"], d["marker_etag"], parse_time(d["marker_last_modified"]),
                   parse_time(d["delivered_at"]), parse_time(d["applied_delivered_at"]))


Outcome = Accepted | Rejected | Stale


# ---- ledger -------------------------------------------------------------------------------

def ledger_entry(work: Store, site_id: str, product_id: str) -> dict | None:
    """The ledger entry of a product, ``None`` if none (or unreadable: the delivery is then redone)."""
    return read_json(work, layout.ledger_key(site_id, product_id))


def record(work: Store, outcome: Outcome, status: str, product_name: str | None = None) -> None:
    """Write the ledger entry (``layout.ledger_key``) of ``outcome``; unchanged entries are not rewritten.

    ``status`` is ``rejected`` for a :class:`Rejected`, ``stale`` for a
    :class:`Stale`, and the processing outcome (e.g. ``published``) for an
    :class:`Accepted`, which becomes the product's ``applied`` delivery.
    """
    expected = {Rejected: "rejected", Stale: "stale"}.get(type(outcome))
    fits = status == expected if expected else bool(status) and status not in ("rejected", "stale")
    if not fits:
        raise ValueError(f"status {status!r} does not fit a {type(outcome).__name__} outcome")
    previous = ledger_entry(work, outcome.site_id, outcome.product_id) or {}
    applied = previous.get("applied")
    if isinstance(outcome, Accepted):
        applied = {
            "marker_etag": outcome.marker_etag,
            "marker_last_modified": format_time(outcome.marker_last_modified),
            "delivered_at": format_time(outcome.delivered_at),
            "status": status,
            "product_name": product_name,
        }
    entry = {
        "site_id": outcome.site_id,
        "product_id": outcome.product_id,
        "marker_etag": outcome.marker_etag,
        "delivered_at": format_time(outcome.delivered_at) if outcome.delivered_at else None,
        "status": status,
        "reason": outcome.reason if isinstance(outcome, Rejected) else None,
        "product_name": product_name,
        "applied": applied,
    }
    if {k: v for k, v in previous.items() if k != "recorded_at"} == entry:
        return
    entry["recorded_at"] = format_time(datetime.now(UTC))
    work.put_bytes(layout.ledger_key(outcome.site_id, outcome.product_id),
                   json.dumps(entry, indent=2, sort_keys=True).encode(), "application/json")


def _ledger_etags(work: Store, site_id: str, product_ids: list[str]) -> dict[str, str]:
    """Marker ETags in the ledger for ``product_ids`` (one listing, then small GETs)."""
    present = {info.key for info in work.list(layout.ledger_prefix(site_id))}
    etags = {}
    for pid in product_ids:
        if layout.ledger_key(site_id, pid) in present:
            entry = ledger_entry(work, site_id, pid)
            if entry is not None:
                etags[pid] = entry.get("marker_etag")
    return etags


# ---- scan ---------------------------------------------------------------------------------

def scan(l1a: Store, work: Store, site_id: str) -> Scan:
    """Pending deliveries of a site and the stray items beside them, from listings only.

    Only keys ``<SITE_ID>/<PRODUCT_ID>/<NAME>`` count; a prefix without
    ``DELIVERY.OK`` is in transfer (neither pending nor ignored); a delivery
    whose marker ETag equals the ledger's is not pending.
    """
    if not is_site_id(site_id):
        raise ValueError(f"{site_id!r} is not a SITE_ID")
    markers: dict[str, str] = {}
    ignored: dict[str, None] = {}
    for info in l1a.list(layout.site_prefix(site_id)):
        parts = info.key[len(site_id) + 1:].split("/")
        if len(parts) == 1:
            ignored[info.key] = None
        elif not match_product_id(parts[0]):
            ignored[layout.delivery_prefix(site_id, parts[0])] = None
        elif len(parts) == 2 and parts[1] == MARKER:
            markers[parts[0]] = info.etag
    done = _ledger_etags(work, site_id, sorted(markers))
    pending = [Pending(site_id, pid, etag) for pid, etag in sorted(markers.items()) if done.get(pid) != etag]
    return Scan(pending, list(ignored))


def report_ignored(found: Scan) -> None:
    """Log each stray key or prefix of a scan once."""
    for item in found.ignored:
        log.warning("ignored %r: not a delivery (not <SITE_ID>/<PRODUCT_ID>/<NAME>)", item)


# ---- validate -----------------------------------------------------------------------------

def _check_imagery(path: Path, meta, href: str) -> None:
    """The structure first (truncation, bands, size: :func:`check_tiff`), then what GDAL reads (the RPCs)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    check_tiff(path, meta.ncols, meta.nrows, href)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            # no sidecar files: the RPCs must be in the TIFF itself
            with local_env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"), rasterio.open(path) as src:
                driver, rpcs = src.driver, src.rpcs
    except RasterioError as exc:
        raise DeliveryError(f"{href}: not a readable GeoTIFF ({exc})") from None
    if driver != "GTiff":
        raise DeliveryError(f"{href}: not a GeoTIFF ({driver})")
    if rpcs is None:
        raise DeliveryError(f"{href}: no RPC coefficients in the TIFF")


def _check_files(l1a: Store, prefix: str, manifest: DeliveryManifest, listing: dict[str, ObjectInfo], tmp: Path):
    """Verify every listed file (presence, size, SHA-256) and the metadata and imagery."""
    for f in manifest.files:
        info = listing.get(f.name)
        if info is None:
            raise DeliveryError(f"{l1a.href(prefix + f.name)}: listed in {MARKER} but missing")
        if info.size != f.size:
            raise DeliveryError(f"{l1a.href(prefix + f.name)}: size {info.size}, {MARKER} field 'size' says {f.size}")
    if manifest.file(METADATA).size > MAX_METADATA_SIZE:
        raise DeliveryError(f"{l1a.href(prefix + METADATA)}: larger than {MAX_METADATA_SIZE} bytes")
    for f in manifest.files:
        path = tmp / f.name
        digest = l1a.download(prefix + f.name, path)
        if digest != f.sha256 or path.stat().st_size != f.size:
            raise DeliveryError(f"{l1a.href(prefix + f.name)}: SHA-256 {digest} differs from {MARKER} field 'sha256' {f.sha256}")
    try:
        meta = read_dimap((tmp / METADATA).read_bytes(), source=l1a.href(prefix + METADATA))
    except MetadataError as exc:
        raise DeliveryError(str(exc)) from None
    _check_imagery(tmp / IMAGERY, meta, l1a.href(prefix + IMAGERY))
    return meta


def _is_stale(applied: dict | None, delivered_at: datetime, last_modified: datetime) -> datetime | None:
    """The applied ``delivered_at`` when the marker loses against it, else ``None``."""
    if not isinstance(applied, dict):
        return None
    try:
        applied_at = parse_time(applied["delivered_at"])
        applied_lm = parse_time(applied["marker_last_modified"])
    except (KeyError, TypeError, ValueError):
        return None
    if delivered_at < applied_at or (delivered_at == applied_at and last_modified < applied_lm):
        return applied_at
    return None


def validate(l1a: Store, work: Store, site: SiteConfig, pending: Pending, tmp_dir: Path) -> Outcome:
    """Check one pending delivery against the contract.

    The newer ``delivered_at`` wins against the delivery already applied (on a
    tie, the marker written last); an older one is :class:`Stale`. Files are
    downloaded into a temporary folder under ``tmp_dir``, removed afterwards.
    Store failures raise (the delivery stays pending).
    """
    site_id, pid = pending.site_id, pending.product_id
    if site_id != site.site_id or not match_product_id(pid):
        raise ValueError(f"{pending} is not a delivery of site {site.site_id}")
    prefix = layout.delivery_prefix(site_id, pid)
    listing = {info.key[len(prefix):]: info for info in l1a.list(prefix)}
    seen = [{"name": n, "size": i.size, "last_modified": format_time(i.last_modified)} for n, i in listing.items()]
    marker = l1a.head(prefix + MARKER)
    if marker is None:  # empty marker_etag: pending again if the marker comes back
        log.warning("rejected delivery %s: %s disappeared since the scan", l1a.href(prefix), MARKER)
        return Rejected(site_id, pid, "", f"{l1a.href(prefix + MARKER)}: disappeared since the scan", files_seen=seen)

    def reject(reason: str, delivered_at: datetime | None = None) -> Rejected:
        log.warning("rejected delivery %s: %s", l1a.href(prefix), reason)
        return Rejected(site_id, pid, marker.etag, reason, delivered_at=delivered_at, files_seen=seen)

    if marker.size > MAX_MARKER_SIZE:
        return reject(f"{l1a.href(prefix + MARKER)}: {marker.size} bytes, larger than {MAX_MARKER_SIZE}")
    try:
        manifest = parse_delivery_ok(l1a.get_bytes(prefix + MARKER), site_id=site_id, product_id=pid,
                                     source=l1a.href(prefix + MARKER))
    except DeliveryError as exc:
        return reject(str(exc))

    applied = (ledger_entry(work, site_id, pid) or {}).get("applied")
    applied_at = _is_stale(applied, manifest.delivered_at, marker.last_modified)
    if applied_at is not None:
        log.info("stale delivery %s: delivered_at %s, older than the applied %s", l1a.href(prefix),
                 format_time(manifest.delivered_at), format_time(applied_at))
        return Stale(site_id, pid, marker.etag, marker.last_modified, manifest.delivered_at, applied_at)

    listed = {f.name for f in manifest.files} | {MARKER}
    for name in sorted(set(listing) - listed):
        log.info("ignored %r under %s: not listed in %s", name, l1a.href(prefix), MARKER)
    Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="intake-", dir=tmp_dir))
    try:
        meta = _check_files(l1a, prefix, manifest, listing, tmp)
    except DeliveryError as exc:
        return reject(str(exc), manifest.delivered_at)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    product = parse_product_id(pid)
    dim = l1a.href(prefix + METADATA)
    if meta.acquired != product.acquired:
        return reject(f"{dim}: IMAGING_DATE/IMAGING_TIME {format_time(meta.acquired)} disagree with "
                      f"PRODUCT_ID {pid}", manifest.delivered_at)
    if meta.instrument != product.instrument:
        return reject(f"{dim}: INSTRUMENT_INDEX {meta.instrument} disagrees with PRODUCT_ID {pid}",
                      manifest.delivered_at)
    log.info("accepted delivery %s (delivered_at %s)", l1a.href(prefix), format_time(manifest.delivered_at))
    return Accepted(site_id, pid, marker.etag, marker.last_modified, manifest.delivered_at, manifest,
                    meta.acquired, meta.instrument)


# ---- quarantine, fetch, site checks -------------------------------------------------------

def _safe_etag(etag: str) -> str:
    return etag if re.fullmatch(r"[0-9A-Za-z-]{1,100}", etag) else "no-marker"


def quarantine(work: Store, rejected: Rejected) -> str:
    """Write the quarantine record (``layout.quarantine_key``) once (reason, when, files seen); return its key."""
    key = layout.quarantine_key(rejected.site_id, rejected.product_id, _safe_etag(rejected.marker_etag))
    if not work.exists(key):
        work.put_bytes(key, json.dumps(rejected.to_dict(), indent=2, sort_keys=True).encode(), "application/json")
    return key


def fetch(l1a: Store, accepted: Accepted, dest: Path) -> Path:
    """Download ``METADATA.DIM``, ``IMAGERY.TIF`` and ``PREVIEW.JPG`` (when delivered) into ``dest`` (returned),
    checking them against the manifest.

    Raises :class:`DeliveryError` (and removes the file) when an object no
    longer matches its listed size and SHA-256.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    prefix = layout.delivery_prefix(accepted.site_id, accepted.product_id)
    preview = (PREVIEW,) if PREVIEW in {f.name for f in accepted.manifest.files} else ()
    for name in (METADATA, IMAGERY, *preview):
        listed = accepted.manifest.file(name)
        path = dest / name
        digest = l1a.download(prefix + name, path)
        if digest != listed.sha256 or path.stat().st_size != listed.size:
            path.unlink()
            raise DeliveryError(f"{l1a.href(prefix + name)}: changed since validation "
                                f"(SHA-256 {digest}, {MARKER} field 'sha256' says {listed.sha256})")
    return dest


def check_site_aux(aux: Store, site_id: str) -> None:
    """Raise :class:`SiteAuxError` unless the site's DEM ``<SITE_ID>/DEM.tif`` exists (and is not empty)."""
    key = layout.dem_key(site_id)
    info = aux.head(key)
    if info is None or info.size == 0:
        raise SiteAuxError(f"configuration error: site {site_id} has no DEM at {aux.href(key)}; "
                           "prepare it (contract section 7) before its deliveries can be processed")


def validate_site(l1a: Store, work: Store, site: SiteConfig, tmp_dir: Path, found: Scan | None = None) -> list[Accepted]:
    """Validate every pending delivery of a site; quarantine and record rejects, record stale ones.

    Logs the stray items once. A delivery whose check fails for another reason
    (e.g. the store is unreachable) is logged and stays pending; the others go on.
    """
    found = found or scan(l1a, work, site.site_id)
    report_ignored(found)
    accepted = []
    for pending in found.pending:
        try:
            outcome = validate(l1a, work, site, pending, tmp_dir)
            if isinstance(outcome, Rejected):
                quarantine(work, outcome)
                record(work, outcome, "rejected")
            elif isinstance(outcome, Stale):
                record(work, outcome, "stale")
            else:
                accepted.append(outcome)
        except Exception:
            log.exception("delivery %s/%s left pending: its check failed", pending.site_id, pending.product_id)
    return accepted
