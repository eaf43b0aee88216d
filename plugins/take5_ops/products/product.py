"""A processed product as a folder of files plus its manifest.

The processors (L1C, L2A) write a product folder and return a :class:`Product`;
``manifest.json`` in the folder holds the same description, so that the
publication step can build the STAC Item and verify every upload without
opening a raster.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from take5_ops.storage import sha256_file

MANIFEST = "manifest.json"
REFLECTANCE_SCALE = 1e-4  # reflectance bands: int16 = round(reflectance / REFLECTANCE_SCALE)
REFLECTANCE_NODATA = -10000


@dataclass(frozen=True)
class ProductFile:
    """One file of a product folder; ``asset`` is its STAC asset key (``None``: not an asset)."""

    name: str
    asset: str | None
    media_type: str
    roles: tuple[str, ...]
    title: str
    size: int
    sha256: str

    @classmethod
    def from_path(cls, path: Path, asset: str | None, media_type: str, roles: tuple[str, ...], title: str) -> ProductFile:
        """Describe an existing file, computing its size and SHA-256."""
        return cls(path.name, asset, media_type, tuple(roles), title, path.stat().st_size, sha256_file(path))


@dataclass
class Product:
    """A product: its MUSCATE name, level, source L1A and files.

    ``properties`` is JSON-compatible and carries what the STAC Item needs:
    ``geometry`` (GeoJSON footprint, lon/lat), ``bbox``, ``proj:code``,
    ``proj:shape``, ``proj:transform``, ``view:*`` angles, ``instruments``,
    ``take5:delivered_at`` and, for L2A, ``eo:cloud_cover``.
    """

    name: str
    level: str
    site_id: str
    product_id: str
    acquired: datetime
    files: list[ProductFile] = field(default_factory=list)
    properties: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["acquired"] = self.acquired.isoformat()
        d["files"] = [asdict(f) for f in self.files]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Product:
        files = [ProductFile(**{**f, "roles": tuple(f["roles"])}) for f in d["files"]]
        return cls(d["name"], d["level"], d["site_id"], d["product_id"],
                   datetime.fromisoformat(d["acquired"]), files, dict(d["properties"]))

    def to_json(self) -> bytes:
        """Canonical JSON (sorted keys), byte-identical for identical products."""
        return (json.dumps(self.to_dict(), sort_keys=True, indent=1) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Product:
        return cls.from_dict(json.loads(data))

    def write_manifest(self, folder: Path) -> Path:
        path = Path(folder) / MANIFEST
        path.write_bytes(self.to_json())
        return path

    def file(self, asset: str) -> ProductFile:
        """The file of an asset key."""
        for f in self.files:
            if f.asset == asset:
                return f
        raise KeyError(f"{self.name}: no asset {asset!r}")


def write_folder(out_root: Path, name: str, build: Callable[[Path], Product]) -> Product:
    """Run ``build(folder)`` in a hidden folder beside ``out_root/<name>``, then move it into place:
    a failure leaves no half-written product (and the previous one, if any, untouched)."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_root))
    try:
        product = build(work)
        final = out_root / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return product
