"""Identifiers of the delivery contract and of our products.

``SITE_ID`` and ``PRODUCT_ID`` follow the L1A delivery contract, section 3;
product names follow the MUSCATE style, e.g.
``SPOT5-HRG2-XS_20150428-103235-000_L1C_AustraliaLitchfield_D_V1-0``.
"""

from __future__ import annotations

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
PRODUCT_VERSION = "V1-0"
LEVELS = ("L1A", "L1C", "L2A")  # product levels: the delivery as published, TOA and surface reflectance


@dataclass(frozen=True, order=True)
class ProductId:
    """A parsed ``PRODUCT_ID``: acquisition time (UTC), instrument (1 or 2) and site."""

    acquired: datetime
    instrument: int
    site_id: str

    def __str__(self) -> str:
        stamp = self.acquired.strftime("%Y%m%d-%H%M%S")
        return f"SPOT5-HRG{self.instrument}-XS_{stamp}_L1A_{self.site_id}"

    def product_name(self, level: str) -> str:
        """MUSCATE-style name of the product of ``level`` (one of :data:`LEVELS`)."""
        if level not in LEVELS:
            raise ValueError(f"unknown product level {level!r}")
        stamp = self.acquired.strftime("%Y%m%d-%H%M%S")
        return f"SPOT5-HRG{self.instrument}-XS_{stamp}-000_{level}_{self.site_id}_D_{PRODUCT_VERSION}"


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
