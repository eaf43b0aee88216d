"""Credentials: passwords hashed with argon2id (argon2-cffi), API tokens stored as their SHA-256.

An API token is 32 random bytes (``t5_`` + URL-safe base64): a fast hash is enough to store it
(nothing to brute-force), and lets the server find the token by its hash. Passwords, chosen by
people, get argon2id with the library's current parameters; a hash made with older parameters is
upgraded at the next sign-in (:func:`needs_rehash`).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "t5_"
_hasher = PasswordHasher()
# A hash verified when the e-mail is unknown, so that sign-in takes as long either way
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (``None``: no such account, verified against a dummy)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def new_token() -> str:
    """A new API token (shown once to its owner, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
