"""Metalink 4 (RFC 5854) download lists of published products.

A Metalink lists files, each with its size, SHA-256 and URL; a download
manager (aria2c, ...) fetches them all and verifies every one. The files are
the assets of STAC Items (``file:size``, ``file:checksum`` = multihash
``1220`` + SHA-256 hex); each is named by its key in the distribution bucket,
``<SITE>/<PRODUCT>/<VERSION>/<FILE>`` (docs/catalog.md), so a download
recreates the bucket's layout.

The document is deterministic: files sorted by name, ``published`` and
``updated`` taken from the Items' ``take5:delivered_at`` (else their
acquisition ``datetime``), never the wall clock. With public URLs the same
Items give the same bytes; presigned URLs change with every signature.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from take5_ops.errors import MetalinkError
from take5_ops.storage import InvalidKey, check_key

log = logging.getLogger(__name__)

NS = "urn:ietf:params:xml:ns:metalink"
MEDIA_TYPE = "application/metalink4+xml"
GENERATOR = "take5"
CHECKSUM_RE = re.compile(r"1220(?P<sha256>[0-9a-f]{64})")


@dataclass(frozen=True, order=True)
class DownloadFile:
    """One file of a Metalink: its key in the distribution bucket (also its name), size and SHA-256."""

    key: str
    size: int
    sha256: str


def _join(base: str, href: str) -> str:
    parts = base.split("/")[:-1]
    for part in href.split("/"):
        if part == "..":
            if not parts:
                raise InvalidKey(href)
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return check_key("/".join(parts))


def item_files(item_key: str, item: dict) -> list[DownloadFile]:
    """The files of one STAC Item (its assets), keys resolved against ``item_key``.

    Raises :class:`MetalinkError` naming the Item and the asset when an asset
    lacks a relative href, an integer ``file:size`` or a SHA-256 ``file:checksum``.
    """
    assets = item.get("assets")
    if not isinstance(assets, dict) or not assets:
        raise MetalinkError(f"{item_key}: no assets")
    files = []
    for name in sorted(assets):
        asset, where = assets[name], f"{item_key}: asset {name}"
        href = asset.get("href") if isinstance(asset, dict) else None
        if not isinstance(href, str) or ":" in href or href.startswith("/"):
            raise MetalinkError(f"{where}: field href {href!r} is not a relative href")
        try:
            key = _join(item_key, href)
        except InvalidKey:
            raise MetalinkError(f"{where}: field href {href!r} escapes the bucket") from None
        size = asset.get("file:size")
        if type(size) is not int or size < 0:
            raise MetalinkError(f"{where}: field file:size {size!r} is not a byte count")
        m = CHECKSUM_RE.fullmatch(str(asset.get("file:checksum", "")))
        if m is None:
            raise MetalinkError(f"{where}: field file:checksum {asset.get('file:checksum')!r} "
                                "is not a SHA-256 multihash (1220 + 64 hex digits)")
        files.append(DownloadFile(key, size, m["sha256"]))
    return files


def _when(item: dict) -> datetime | None:
    props = item.get("properties") or {}
    for field in ("take5:delivered_at", "datetime"):
        try:
            t = datetime.fromisoformat(str(props[field]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue
        return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    return None


def _rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_metalink(items: Mapping[str, dict], url_for: Callable[[str], str]) -> bytes:
    """Metalink 4 XML of the assets of ``items`` (STAC Item dicts by their key in the bucket).

    ``url_for(key)`` gives each file's URL (public or presigned, see
    :mod:`take5_ops.distribution.access`). An Item whose assets cannot be listed is logged
    and left out; :class:`MetalinkError` if no file remains.
    """
    files: dict[str, DownloadFile] = {}
    times = []
    for key in sorted(items):
        try:
            listed = item_files(key, items[key])
        except MetalinkError as exc:
            log.warning("left out of the metalink: %s", exc)
            continue
        files.update((f.key, f) for f in listed)
        if (t := _when(items[key])) is not None:
            times.append(t)
    if not files:
        raise MetalinkError("nothing to download: no Item with listable assets")
    root = ET.Element("metalink", xmlns=NS)
    ET.SubElement(root, "generator").text = GENERATOR
    if times:
        ET.SubElement(root, "published").text = _rfc3339(min(times))
        if max(times) > min(times):
            ET.SubElement(root, "updated").text = _rfc3339(max(times))
    for f in sorted(files.values()):
        node = ET.SubElement(root, "file", name=f.key)
        ET.SubElement(node, "size").text = str(f.size)
        ET.SubElement(node, "hash", type="sha-256").text = f.sha256
        ET.SubElement(node, "url").text = url_for(f.key)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
