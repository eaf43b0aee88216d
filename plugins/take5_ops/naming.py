"""Identifiers of the delivery contract and of our products.

``SITE_ID`` and ``PRODUCT_ID`` follow the L1A delivery contract, section 3;
product names follow the MUSCATE style, e.g.
``SPOT5-HRG2-XS_20150428-103235-000_L1C_AustraliaLitchfield_D_V1-0``, whose last field is the
version of the processor that made it (:data:`PROCESSOR_VERSIONS`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from take5_ops.errors import InvalidProductId

SITE_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{2,39}")
PRODUCT_ID_RE = re.compile(
    r"SPOT5-HRG(?P<instrument>[12])-XS_(?P<date>\d{8})-(?P<time>\d{6})_L1A_(?P<site>[A-Za-z][A-Za-z0-9]{2,39})"
)
PRODUCT_NAME_RE = re.compile(
    r"SPOT5-HRG(?P<instrument>[12])-XS_(?P<date>\d{8})-(?P<time>\d{6})-000_(?P<level>L1A|L1C|L2A)_"
    r"(?P<site>[A-Za-z][A-Za-z0-9]{2,39})_D_V(?P<major>\d+)-(?P<minor>\d+)"
)
VERSION_RE = re.compile(r"(?P<major>\d+)\.(?P<minor>\d+)")
# The processor version of each level: it goes into every product name (``_D_V1-0``), the product
# metadata and the STAC Item. BUMP IT whenever a change of the code changes the level's results (a
# product's bytes): the minor number for a fix, the major for a new method. Then reprocess the
# products (the take5_reprocess DAG, docs/operations.md): the new version is published, the old one
# withdrawn. An L1C bump changes the L2A inputs, so the L2A series replay with the L1C products.
PROCESSOR_VERSIONS = {"L1A": "1.0", "L1C": "1.0", "L2A": "1.0"}
LEVELS = tuple(PROCESSOR_VERSIONS)  # product levels: the delivery as published, TOA and surface reflectance
VERSION_ENV = "TAKE5_PROCESSOR_VERSION_{level}"  # overrides the above: tests and reprocessing drills only


def processor_version(level: str) -> str:
    """The current processor version of ``level`` (``"1.0"``): :data:`PROCESSOR_VERSIONS`, or its
    ``$TAKE5_PROCESSOR_VERSION_<LEVEL>`` override."""
    if level not in PROCESSOR_VERSIONS:
        raise ValueError(f"unknown product level {level!r}")
    version = os.environ.get(VERSION_ENV.format(level=level)) or PROCESSOR_VERSIONS[level]
    if VERSION_RE.fullmatch(version) is None:
        raise ValueError(f"{VERSION_ENV.format(level=level)}: {version!r} is not a version MAJOR.MINOR")
    return version


@dataclass(frozen=True, order=True)
class ProductId:
    """A parsed ``PRODUCT_ID``: acquisition time (UTC), instrument (1 or 2) and site."""

    acquired: datetime
    instrument: int
    site_id: str

    def __str__(self) -> str:
        stamp = self.acquired.strftime("%Y%m%d-%H%M%S")
        return f"SPOT5-HRG{self.instrument}-XS_{stamp}_L1A_{self.site_id}"

    def product_name(self, level: str, version: str | None = None) -> str:
        """MUSCATE-style name of the product of ``level`` (one of :data:`LEVELS`) made by ``version``
        (``"1.0"``; default: the level's current :func:`processor_version`)."""
        if level not in PROCESSOR_VERSIONS:
            raise ValueError(f"unknown product level {level!r}")
        version = version or processor_version(level)
        m = VERSION_RE.fullmatch(version)
        if m is None:
            raise ValueError(f"{version!r} is not a version MAJOR.MINOR")
        stamp = self.acquired.strftime("%Y%m%d-%H%M%S")
        return f"SPOT5-HRG{self.instrument}-XS_{stamp}-000_{level}_{self.site_id}_D_V{m['major']}-{m['minor']}"


def is_site_id(text: str) -> bool:
    """True when ``text`` is a valid ``SITE_ID``."""
    return SITE_ID_RE.fullmatch(text) is not None


def match_product_id(text: str) -> bool:
    """True when ``text`` has the shape of a ``PRODUCT_ID`` (its date may still be impossible)."""
    return PRODUCT_ID_RE.fullmatch(text) is not None


def parse_product_id(text: str) -> ProductId:
    """Parse a ``PRODUCT_ID``.

    Raises ``ValueError`` when ``text`` does not have the shape of a product id
    (not a product at all) and :class:`InvalidProductId` when it has the shape
    but names an impossible date or time (a corrupt delivery).
    """
    m = PRODUCT_ID_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a PRODUCT_ID")
    try:
        acquired = datetime.strptime(m["date"] + m["time"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidProductId(f"PRODUCT_ID {text!r}: impossible acquisition date or time ({exc})") from None
    return ProductId(acquired=acquired, instrument=int(m["instrument"]), site_id=m["site"])


def parse_product_name(text: str) -> tuple[ProductId, str]:
    """Parse a MUSCATE product name into its ``ProductId`` and level."""
    m = PRODUCT_NAME_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a Take5 product name")
    acquired = datetime.strptime(m["date"] + m["time"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return ProductId(acquired, int(m["instrument"]), m["site"]), m["level"]


def product_version(name: str) -> str:
    """The processor version (``"1.0"``) a product name carries (``..._D_V1-0``)."""
    m = PRODUCT_NAME_RE.fullmatch(name)
    if m is None:
        raise ValueError(f"{name!r} is not a Take5 product name")
    return f"{int(m['major'])}.{int(m['minor'])}"


def version_key(version: str) -> tuple[int, int]:
    """A version as a sortable ``(major, minor)``."""
    major, minor = version.split(".")
    return int(major), int(minor)


def product_stem(name: str) -> str | None:
    """The name without its version field: what every version of one product shares (``None`` when
    ``name`` is not a product name)."""
    return name.rsplit("_", 1)[0] if PRODUCT_NAME_RE.fullmatch(name) else None
