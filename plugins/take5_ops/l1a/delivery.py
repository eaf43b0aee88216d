"""``DELIVERY.OK``: the completion marker of an L1A delivery (contract section 2).

:func:`parse_delivery_ok` validates the marker of the prefix
``<SITE_ID>/<PRODUCT_ID>/`` from untrusted bytes and raises
:class:`DeliveryError` naming the file and the field; :func:`delivery_ok_bytes`
writes the canonical form (the simulator uses it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from take5_ops.errors import DeliveryError
from take5_ops.naming import InvalidProductId, parse_product_id
from take5_ops.times import format_time, parse_time

MARKER = "DELIVERY.OK"
METADATA = "METADATA.DIM"
IMAGERY = "IMAGERY.TIF"
PREVIEW = "PREVIEW.JPG"
REQUIRED_FILES = (METADATA, IMAGERY)
MAX_MARKER_SIZE = 1024 * 1024

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ManifestFile:
    name: str
    size: int
    sha256: str  # lower-case hex


@dataclass(frozen=True)
class DeliveryManifest:
    product_id: str
    site_id: str
    delivered_at: datetime  # UTC
    files: tuple[ManifestFile, ...]

    def file(self, name: str) -> ManifestFile:
        """The listed file called ``name`` (``KeyError`` if not listed)."""
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "product_id": self.product_id,
            "site_id": self.site_id,
            "delivered_at": format_time(self.delivered_at),
            "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in self.files],
        }

    @classmethod
    def from_dict(cls, d: dict) -> DeliveryManifest:
        return cls(d["product_id"], d["site_id"], parse_time(d["delivered_at"]),
                   tuple(ManifestFile(f["name"], int(f["size"]), f["sha256"]) for f in d["files"]))


def _no_duplicates(pairs):
    dup = sorted(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
    if dup:
        raise ValueError(f"duplicate keys {dup}")
    return dict(pairs)


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _field(doc: dict, name: str, kind: type, source: str):
    if name not in doc:
        raise DeliveryError(f"{source}: missing field {name!r}")
    value = doc[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DeliveryError(f"{source}: field {name!r} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _file(item, i: int, source: str) -> ManifestFile:
    where = f"{source}: files[{i}]"
    if not isinstance(item, dict):
        raise DeliveryError(f"{where} must be an object")
    name = _field(item, "name", str, where)
    size = _field(item, "size", int, where)
    sha = _field(item, "sha256", str, where)
    if not _NAME_RE.fullmatch(name) or name == MARKER:
        raise DeliveryError(f"{where}: field 'name' {name!r} is not a file name of a delivery")
    if size < 0:
        raise DeliveryError(f"{where}: field 'size' is negative ({size})")
    if not _SHA256_RE.fullmatch(sha):
        raise DeliveryError(f"{where}: field 'sha256' {sha[:80]!r} is not 64 hex digits")
    return ManifestFile(name, size, sha.lower())


def parse_delivery_ok(data: bytes, *, site_id: str, product_id: str, source: str) -> DeliveryManifest:
    """Validate the ``DELIVERY.OK`` of the prefix ``<site_id>/<product_id>/``.

    Checks the prefix's ``PRODUCT_ID`` (possible date, same site), the JSON,
    every field, the file names and digests, agreement with the prefix, and
    that ``METADATA.DIM`` and ``IMAGERY.TIF`` are listed. ``source`` names the
    marker in errors.
    """
    try:
        pid = parse_product_id(product_id)
    except InvalidProductId as exc:
        raise DeliveryError(f"{source}: {exc}") from None
    except ValueError:
        raise DeliveryError(f"{source}: prefix {product_id!r} is not a PRODUCT_ID") from None
    if pid.site_id != site_id:
        raise DeliveryError(f"{source}: PRODUCT_ID {product_id!r} names site {pid.site_id!r}, "
                            f"but it is delivered under site {site_id!r}")
    if len(data) > MAX_MARKER_SIZE:
        raise DeliveryError(f"{source}: {len(data)} bytes, larger than {MAX_MARKER_SIZE}")
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DeliveryError(f"{source}: not valid UTF-8 JSON ({exc})") from None
    except RecursionError:
        raise DeliveryError(f"{source}: not valid JSON (nested too deep)") from None
    if not isinstance(doc, dict):
        raise DeliveryError(f"{source}: top level must be a JSON object")
    for name, expected in (("product_id", product_id), ("site_id", site_id)):
        value = _field(doc, name, str, source)
        if value != expected:
            raise DeliveryError(f"{source}: field {name!r} is {value[:100]!r}, but the prefix says {expected!r}")
    try:
        delivered_at = parse_time(_field(doc, "delivered_at", str, source))
    except ValueError as exc:
        raise DeliveryError(f"{source}: field 'delivered_at': {exc}") from None
    files = tuple(_file(item, i, source) for i, item in enumerate(_field(doc, "files", list, source)))
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise DeliveryError(f"{source}: field 'files' lists a name twice: {names}")
    for name in REQUIRED_FILES:
        if name not in names:
            raise DeliveryError(f"{source}: field 'files' does not list {name}")
    return DeliveryManifest(product_id, site_id, delivered_at, files)


def delivery_ok_bytes(manifest: DeliveryManifest) -> bytes:
    """Canonical ``DELIVERY.OK`` (UTF-8 JSON laid out as in contract section 2)."""
    d = manifest.to_dict()
    head = ",\n".join(f"  {json.dumps(k)}: {json.dumps(d[k], ensure_ascii=False)}"
                      for k in ("product_id", "site_id", "delivered_at"))
    files = ",\n".join(f"    {json.dumps(f, ensure_ascii=False)}" for f in d["files"])
    return f'{{\n{head},\n  "files": [\n{files}\n  ]\n}}\n'.encode()
