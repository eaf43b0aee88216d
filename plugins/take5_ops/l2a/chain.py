"""Run a site's L2A series in order, with a checkpoint per date in the work bucket.

One call walks every step of :mod:`take5_ops.l2a.series` (backward
initialization, then forward dates). Each step has a **fingerprint**: the hash
of the previous step's fingerprint, the step, its L1C manifest and the
processing parameters. A step whose record (``layout.l2a_step_prefix`` + ``.json``,
or ``init/<START>/`` for backward steps) carries the same fingerprint, with
its state file and its product intact, is done; the walk resumes after the
last such step. So:

- a retry resumes where the last run stopped;
- a late product or a redelivery changes the fingerprints from its date on:
  the chain replays from there and the later products are replaced;
- the result depends only on the set of L1C products, never on the order in
  which they came;
- a missing or corrupt state is recomputed from the last good one, never
  from nothing; a corrupt L1C is skipped (the composite carries over) with
  its reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from take5_ops.distribution.catalog import MULTIHASH_SHA256
from take5_ops.distribution.publish import current_versions
from take5_ops.errors import PublishError
from take5_ops.l2a import series
from take5_ops.l2a.status import PUBLISHED, SKIPPED, TOO_CLOUDY, WAITING, write_status
from take5_ops.naming import parse_product_name
from take5_ops.products.product import MANIFEST, Product
from take5_ops.products.workspace import read_manifest, upload_product
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import Store, StoreError, holds, layout, read_json

log = logging.getLogger(__name__)

STATE_MEDIA_TYPE = "image/tiff"


class _BrokenState(Exception):
    """The state of a done step turned out unreadable: redo that step."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass
class Record:
    """The checkpoint of one step."""

    fingerprint: str
    phase: str
    l1c: str
    acquired: str
    outcome: str  # published | too_cloudy | skipped | backward
    state_key: str | None
    state_size: int | None = None
    state_sha256: str | None = None
    product: str | None = None
    manifest_sha256: str | None = None
    reason: str | None = None
    result: dict = field(default_factory=dict)

    def to_json(self) -> bytes:
        return (json.dumps(self.__dict__, sort_keys=True, indent=1) + "\n").encode()


def step_prefix(site_id: str, segment: series.Segment, step: series.Step) -> str:
    """Key prefix of a step's record (``.json``) and state (``.tif``)."""
    return layout.l2a_step_prefix(site_id, step.name, segment.start if step.phase == series.BACKWARD else None)


def l1c_products(work: Store, site_id: str) -> dict[str, tuple[datetime, str]]:
    """The site's L1C products in the work bucket: name -> (acquisition, SHA-256 of its manifest)."""
    out = {}
    prefix = layout.products_prefix(site_id)
    for info in work.list(prefix):
        name = layout.product_name_of(info.key)
        if name is None or info.key != layout.product_prefix(site_id, name) + MANIFEST or "_L1C_" not in name:
            continue
        try:
            pid, level = parse_product_name(name)
        except ValueError:
            log.warning("%s: not a product name, ignored", work.href(info.key))
            continue
        if level == "L1C" and pid.site_id == site_id:
            head = work.head(info.key)  # the content's SHA-256 (a listing may not carry it)
            if head is not None:
                out[name] = (pid.acquired, head.sha256 or head.etag)
    # two versions of one L1C (a reprocessing between its publication and the withdrawal of the
    # old one): the series uses the newer
    current = set(current_versions(out).values())
    return {name: found for name, found in out.items() if name in current}


def parameters(site: SiteConfig, dem_etag: str) -> dict:
    """What besides the inputs decides the results: a change replays the whole series."""
    from take5_ops.l2a import STATE_FORMAT_VERSION

    return {"version": STATE_FORMAT_VERSION, "l2a": site.l2a.model_dump(mode="json"),
            "aerosol_model": site.aerosol_model, "grid": site.grid.model_dump(mode="json"), "dem": dem_etag}


def fingerprint(previous: str, step: series.Step, l1c_sha: str, params: dict) -> str:
    doc = [previous, step.phase, step.name, l1c_sha, params]
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class _Inputs:
    """Local copies of the L1C products, DEM and states a walk needs, in one temporary folder."""

    def __init__(self, work: Store, aux: Store, site_id: str, root: Path):
        self.work, self.aux, self.site_id, self.root = work, aux, site_id, root
        self._dem: Path | None = None

    def dem(self) -> Path:
        if self._dem is None:
            self._dem = self.root / "DEM.tif"
            self.aux.download(f"{self.site_id}/DEM.tif", self._dem)
        return self._dem

    def l1c(self, name: str, assets: tuple[str, ...] | None = None) -> Path:
        """The L1C folder (all its files, or only ``assets``), each file checked against the manifest.

        Raises :class:`~take5_ops.l2a.L2AInputError` for a product that cannot be read as listed.
        """
        from take5_ops.l2a import L2AInputError

        folder = self.root / "l1c" / name
        try:
            product = read_manifest(self.work, self.site_id, name)
        except PublishError as exc:
            raise L2AInputError(str(exc)) from None
        folder.mkdir(parents=True, exist_ok=True)
        wanted = [f for f in product.files if assets is None or f.asset in assets]
        if assets is None:
            (folder / MANIFEST).write_bytes(product.to_json())
        for f in wanted:
            path = folder / f.name
            if path.is_file() and path.stat().st_size == f.size:
                continue
            key = layout.product_prefix(self.site_id, name) + f.name
            if not self.work.exists(key):
                raise L2AInputError(f"{self.work.href(key)}: listed in the manifest but missing")
            if self.work.download(key, path) != f.sha256:
                path.unlink()
                raise L2AInputError(f"{self.work.href(key)}: SHA-256 differs from the manifest")
        return folder

    def state(self, record: Record) -> Path | None:
        """The state file of a record, checked by size and SHA-256; raises :class:`_BrokenState`."""
        if record.state_key is None:
            return None
        path = self.root / "state" / (record.state_key.replace("/", "_"))
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not self.work.exists(record.state_key) or \
                    self.work.download(record.state_key, path) != record.state_sha256:
                path.unlink(missing_ok=True)
                raise _BrokenState(record.state_key)
        return path

    def forget_l1c(self, keep: set[str]) -> None:
        """Remove local L1C folders not in ``keep`` (bounded disk use on long replays)."""
        root = self.root / "l1c"
        for folder in root.iterdir() if root.is_dir() else ():
            if folder.name not in keep:
                shutil.rmtree(folder)


def _load(work: Store, key: str) -> Record | None:
    doc = read_json(work, key)
    if doc is None:
        return None
    try:
        return Record(**doc)
    except TypeError as exc:
        log.warning("%s: invalid step record (%s); the step is redone", work.href(key), exc)
        return None


def _intact(work: Store, site_id: str, rec: Record) -> bool:
    """The state and the product a record names are still in the work bucket, unchanged."""
    if rec.state_key is not None and not holds(work, rec.state_key, rec.state_size, rec.state_sha256):
        return False
    if rec.product is not None:
        info = work.head(layout.product_prefix(site_id, rec.product) + MANIFEST)
        return info is not None and (info.sha256 or info.etag) == rec.manifest_sha256
    return True


@dataclass
class Walk:
    """What one call of :func:`run_l2a` did."""

    processed: int = 0  # steps run now
    skipped: dict[str, str] = field(default_factory=dict)  # L1C name -> reason, newly skipped
    records: dict[str, Record] = field(default_factory=dict)  # step prefix -> record, every live step


def _run_step(ctx: _Inputs, site: SiteConfig, seg: series.Segment, step: series.Step, prev: Record | None,
              recent: list[str], fp: str) -> Record:
    from take5_ops.l2a import STACK_ASSETS, L2AInputError, L2AStateError, process_date

    prefix = step_prefix(site.site_id, seg, step)
    prior = ctx.state(prev) if prev else None
    base = dict(fingerprint=fp, phase=step.phase, l1c=step.name, acquired=step.acquired.isoformat())
    tmp = Path(tempfile.mkdtemp(dir=ctx.root, prefix="step-"))
    try:
        try:
            l1c_dir = ctx.l1c(step.name)
            stack = [ctx.l1c(n, STACK_ASSETS) for n in recent]
            out_dir = tmp / "out" if step.phase == series.FORWARD else None
            result = process_date(l1c_dir, ctx.dem(), site, prior, stack, tmp / "state.tif", out_dir)
        except L2AStateError as exc:
            log.warning("%s: %s", prev.state_key, exc)
            raise _BrokenState(prev.state_key) from exc
        except L2AInputError as exc:
            log.error("L2A %s skipped: %s", step.name, exc)
            carried = dict(state_key=prev.state_key, state_size=prev.state_size,
                           state_sha256=prev.state_sha256) if prev else dict(state_key=None)
            return Record(**base, outcome=SKIPPED, reason=str(exc), **carried)
        state = ctx.work.upload(tmp / "state.tif", prefix + ".tif", content_type=STATE_MEDIA_TYPE)
        outcome = series.BACKWARD if out_dir is None else TOO_CLOUDY if result.too_cloudy else PUBLISHED
        rec = Record(**base, outcome=outcome,
                     state_key=prefix + ".tif", state_size=state.size, state_sha256=state.sha256,
                     result=result.to_dict())
        if result.too_cloudy and out_dir is not None:
            rec.reason = f"{result.cloud_cover:.0%} cloudy: no reflectance product"
        if result.product is not None:
            upload_product(ctx.work, result.product, out_dir / result.product.name)
            info = ctx.work.head(layout.product_prefix(site.site_id, result.product.name) + MANIFEST)
            rec.product, rec.manifest_sha256 = result.product.name, info.sha256 or info.etag
        return rec
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _walk_segment(ctx: _Inputs, site: SiteConfig, seg: series.Segment, l1c: dict, params: dict, walk: Walk,
                  advance: Callable[[str], None]) -> None:
    from take5_ops.l2a import STACK_DEPTH

    prev: Record | None = None
    recent: list[str] = []  # L1C names of the last usable steps, nearest first
    for step in seg.steps():
        prefix = step_prefix(site.site_id, seg, step)
        fp = fingerprint(prev.fingerprint if prev else "", step, l1c[step.name][1], params)
        rec = _load(ctx.work, prefix + ".json")
        if rec is None or rec.fingerprint != fp or not _intact(ctx.work, site.site_id, rec):
            rec = _run_step(ctx, site, seg, step, prev, recent[:STACK_DEPTH], fp)
            ctx.work.put_bytes(prefix + ".json", rec.to_json(), "application/json")  # the checkpoint
            walk.processed += 1
            if rec.outcome == SKIPPED:
                walk.skipped[step.name] = rec.reason
        walk.records[prefix] = rec
        if rec.outcome != SKIPPED:
            recent = [step.name, *recent][:STACK_DEPTH]
        ctx.forget_l1c(set(recent))
        prev = rec
        advance(f"{step.phase} {step.acquired:%Y-%m-%d}")


def _l2a_name(l1c_name: str) -> str:
    return parse_product_name(l1c_name)[0].product_name("L2A")


def _status(site: SiteConfig, segs: list[series.Segment], walk: Walk) -> dict:
    is_open, message = series.gate(segs)
    dates = {}
    for seg in segs:
        for t, name in seg.dates:
            dates[f"{t:%Y-%m-%d}"] = {"outcome": WAITING, "name": _l2a_name(name),
                                      "reason": seg.describe(), "cloud_cover": None}
    for rec in walk.records.values():
        if rec.phase == series.FORWARD:
            dates[rec.acquired[:10]] = {"outcome": rec.outcome, "name": rec.product or _l2a_name(rec.l1c),
                                        "reason": rec.reason, "cloud_cover": rec.result.get("cloud_cover")}
    last = segs[-1] if segs else None
    return {"site_id": site.site_id, "gate": "open" if is_open else "closed", "message": message,
            "history_days": last.history_days if last else 0, "init_days": site.l2a.init_days,
            "series_start": f"{last.start:%Y-%m-%d}" if last else None, "dates": dates}


def _cleanup(work: Store, site_id: str, walk: Walk) -> list[str]:
    """Remove step records and states of steps no longer in the plan, and L2A products of dates that
    no longer give one; return the names of those products."""
    live = set()
    for prefix, rec in walk.records.items():
        live |= {prefix + ".json", rec.state_key}
    for key in [i.key for i in work.list(layout.l2a_prefix(site_id)) if layout.l2a_step_kind(i.key)]:
        if key not in live:
            work.delete(key)
    products = {r.product for r in walk.records.values() if r.product}
    names = {layout.product_name_of(i.key) for i in work.list(layout.products_prefix(site_id))}
    gone = sorted({n for n in names if n and "_L2A_" in n} - products)
    for name in gone:
        for info in list(work.list(layout.product_prefix(site_id, name))):
            work.delete(info.key)
        log.info("L2A %s no longer produced: removed from the work bucket", name)
    return gone


def published_as_processed(dist: Store, product: Product) -> bool:
    """The distribution bucket's Item of ``product`` lists every asset with the checksum of the manifest."""
    doc = read_json(dist, layout.item_key(product.site_id, product.name))
    if doc is None:
        return False
    assets = doc.get("assets", {})
    return all(assets.get(f.asset, {}).get("file:checksum") == MULTIHASH_SHA256 + f.sha256
               for f in product.files if f.asset is not None)


def _segments(work: Store, site: SiteConfig) -> tuple[dict, list[series.Segment]]:
    l1c = l1c_products(work, site.site_id)
    return l1c, series.segments({n: t for n, (t, _) in l1c.items()}, site.l2a.init_days, site.l2a.max_gap_days)


def check_gate(work: Store, site: SiteConfig) -> tuple[bool, str]:
    """Whether a series of the site has its gate open, and the message (``history 18/30 days``);
    while closed, the status document says so."""
    _l1c, segs = _segments(work, site)
    is_open, message = series.gate(segs)
    if not is_open:
        write_status(work, _status(site, segs, Walk()))
    return is_open, message


def run_l2a(work: Store, aux: Store, dist: Store, site: SiteConfig, *, progress=None) -> dict:
    """Bring the site's L2A series up to date; return what to publish and what happened.

    Returns ``{"gate", "message", "processed", "skipped", "to_publish", "removed"}``: ``to_publish``
    lists the L2A products (``Product.to_dict()``) whose published Item is missing or differs,
    ``removed`` the L2A products that no longer exist (too cloudy after a replay, series gone),
    ``skipped`` the dates newly skipped with their reason. ``progress(total, title)`` makes a
    :class:`~take5_ops.progress.Progress`-like context.
    """
    l1c, segs = _segments(work, site)
    is_open, message = series.gate(segs)
    log.info("%s: %s", site.site_id, message)
    walk = Walk()
    if is_open:
        dem = aux.head(f"{site.site_id}/DEM.tif")
        if dem is None:
            raise StoreError(f"{aux.href(site.site_id + '/DEM.tif')}: no DEM for site {site.site_id}")
        params = parameters(site, dem.sha256 or dem.etag)
        total = sum(len(s.steps()) for s in segs)
        bar = progress(total, f"{site.site_id} L2A") if progress else nullcontext()
        with tempfile.TemporaryDirectory(prefix="take5-l2a-") as tmp, bar:
            ctx = _Inputs(work, aux, site.site_id, Path(tmp))
            advance = bar.advance if progress else (lambda _label: None)
            for seg in segs:
                broken_before: set[str] = set()
                while True:
                    try:
                        _walk_segment(ctx, site, seg, l1c, params, walk, advance)
                        break
                    except _BrokenState as broken:  # redo the step whose state is unreadable
                        if broken.key in broken_before:
                            raise RuntimeError(f"{work.href(broken.key)}: unreadable again after "
                                               "recomputing it") from broken.__cause__
                        broken_before.add(broken.key)
                        log.warning("%s unreadable: replaying from the last good state", work.href(broken.key))
                        work.delete(broken.key.removesuffix(".tif") + ".json")
    removed = _cleanup(work, site.site_id, walk) if l1c else []
    write_status(work, _status(site, segs, walk))
    to_publish = []
    for rec in sorted(walk.records.values(), key=lambda r: r.acquired):
        if rec.phase == series.FORWARD and rec.product:
            product = read_manifest(work, site.site_id, rec.product)
            if not published_as_processed(dist, product):
                to_publish.append(product.to_dict())
    return {"gate": "open" if is_open else "closed", "message": message, "processed": walk.processed,
            "skipped": walk.skipped, "to_publish": to_publish, "removed": removed}
