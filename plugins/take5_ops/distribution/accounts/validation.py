"""Every web input of the accounts server, checked: a :class:`~take5_ops.errors.FieldError` names
the field (``email``, ``cart[2].assets[0]``) and says what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass

from take5_ops.errors import FieldError

EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
SITE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
PRODUCT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
ASSET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
NAME_RE = re.compile(r"[\w .:@()-]{1,64}")
PASSWORD_MIN, PASSWORD_MAX = 10, 256
TOKEN_DAYS_MAX = 3650
CART_MAX = 5000


def text(form: dict, field: str, *, max_len: int = 320) -> str:
    value = form.get(field)
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, "required")
    if len(value) > max_len:
        raise FieldError(field, f"longer than {max_len} characters")
    return value


def email(form: dict, field: str = "email") -> str:
    """The e-mail address, lower-cased (accounts are found by it)."""
    value = text(form, field, max_len=254).strip()
    if not EMAIL_RE.fullmatch(value):
        raise FieldError(field, f"{value!r} is not an e-mail address")
    return value.lower()


def new_password(form: dict, field: str = "password") -> str:
    value = form.get(field)
    if not isinstance(value, str) or not value:
        raise FieldError(field, "required")
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise FieldError(field, f"{PASSWORD_MIN} to {PASSWORD_MAX} characters")
    if value.isdigit():
        raise FieldError(field, "digits only: choose a passphrase")
    return value


def licence_acceptance(form: dict, version: str) -> str:
    """The licence version accepted: the box must be ticked, for the licence the page showed (the current one)."""
    if form.get("accept_licence") not in ("on", "yes", "true", "1"):
        raise FieldError("accept_licence", "the data licence must be accepted to sign up")
    shown = form.get("licence_version")
    if shown != version:
        raise FieldError("licence_version", f"{shown!r} is not the current licence ({version}): read it again")
    return version


def token_request(form: dict) -> tuple[str, int]:
    """A new token's name and lifetime in days (1 to 3650; default 365)."""
    name = text(form, "name", max_len=64).strip()
    if not NAME_RE.fullmatch(name):
        raise FieldError("name", "letters, digits, spaces and . : @ ( ) - only")
    raw = form.get("days") or "365"
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise FieldError("days", f"{raw!r} is not a whole number of days") from None
    if not 1 <= days <= TOKEN_DAYS_MAX:
        raise FieldError("days", f"{days}: 1 to {TOKEN_DAYS_MAX} days")
    return name, days


def identifier(value: str, field: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise FieldError(field, f"{value!r} is not an id") from None
    if not 0 < n < 2**63:
        raise FieldError(field, f"{n} is not an id")
    return n


@dataclass(frozen=True)
class CartEntry:
    """One product of a cart; ``assets`` empty = every asset of the product."""

    collection: str
    item: str
    assets: tuple[str, ...]
    field: str  # where it came from: cart[i]


def cart(doc: object) -> list[CartEntry]:
    """The cart JSON of the website (a list of ``{"collection", "item", "assets": [keys]}``; ``assets``
    left out or empty: all). Entries of the same product are merged; other fields are ignored."""
    if isinstance(doc, dict) and "cart" in doc:
        doc = doc["cart"]
    if not isinstance(doc, list):
        raise FieldError("cart", 'must be a list of {"collection", "item", "assets"}')
    if not doc:
        raise FieldError("cart", "empty: nothing to order")
    if len(doc) > CART_MAX:
        raise FieldError("cart", f"{len(doc)} entries: at most {CART_MAX} per order")
    merged: dict[tuple[str, str], CartEntry] = {}
    for i, entry in enumerate(doc):
        where = f"cart[{i}]"
        if not isinstance(entry, dict):
            raise FieldError(where, "must be an object")
        collection, item = entry.get("collection"), entry.get("item")
        if not isinstance(collection, str) or not SITE_RE.fullmatch(collection):
            raise FieldError(f"{where}.collection", f"{collection!r} is not a site id")
        if not isinstance(item, str) or not PRODUCT_RE.fullmatch(item) or ".." in item:
            raise FieldError(f"{where}.item", f"{item!r} is not a product name")
        assets = entry.get("assets", [])
        if assets is None:
            assets = []
        if not isinstance(assets, list):
            raise FieldError(f"{where}.assets", "must be a list of asset keys")
        for j, key in enumerate(assets):
            if not isinstance(key, str) or not ASSET_RE.fullmatch(key):
                raise FieldError(f"{where}.assets[{j}]", f"{key!r} is not an asset key")
        previous = merged.get((collection, item))
        if previous is not None:  # the same product twice: the union of the assets (all wins)
            keys = () if not previous.assets or not assets else tuple(dict.fromkeys([*previous.assets, *assets]))
            merged[(collection, item)] = CartEntry(collection, item, keys, previous.field)
        else:  # in the cart's order, so that an error names the asset's place
            merged[(collection, item)] = CartEntry(collection, item, tuple(dict.fromkeys(assets)), where)
    return list(merged.values())
