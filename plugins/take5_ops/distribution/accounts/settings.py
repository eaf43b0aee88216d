"""Accounts mode and the accounts server's settings, from the environment (docs/operations.md, "Accounts").

Public access is the default: accounts mode is on only with ``TAKE5_ACCOUNTS=1``. No secret has a
default: the session key and the database URL come from the environment (``make run`` generates
them into ``var/secrets.json`` at first start).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from take5_ops.errors import InputError

MODE_ENV = "TAKE5_ACCOUNTS"
MAX_EXPIRY = 7 * 24 * 3600  # SigV4 presigned URLs: 7 days at most
DEFAULT_LICENCE = Path(__file__).resolve().parents[4] / "docs" / "data-licence.md"
VERSION_RE = re.compile(r"^Version:\s*(\S+)\s*$", re.MULTILINE)
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)


def accounts_mode(environ: dict | None = None) -> bool:
    """Whether accounts mode is on (``TAKE5_ACCOUNTS`` = 1/true/yes/on)."""
    value = (environ if environ is not None else os.environ).get(MODE_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{url!r}: not an http(s) URL")
    return f"{parts.scheme}://{parts.netloc}"


def rate(text: str, name: str) -> tuple[int, int]:
    """``N/SECONDS`` (e.g. ``10/600``) as ``(N, SECONDS)``, both at least 1; ``name`` says where it came from."""
    count, _, seconds = text.partition("/")
    if not (count.strip().isdigit() and seconds.strip().isdigit() and int(count) >= 1 and int(seconds) >= 1):
        raise InputError(f"{name}={text!r}: expected N/SECONDS, e.g. 10/600 (10 attempts per 10 minutes)")
    return int(count), int(seconds)


@dataclass(frozen=True)
class Licence:
    """The data licence users accept: its text (less ``<!-- -->`` comments, notes for the operators)
    and version (the ``Version: X`` line of the file)."""

    version: str
    text: str

    @classmethod
    def load(cls, path: Path) -> Licence:
        text = COMMENT_RE.sub("", path.read_text(encoding="utf-8")).strip() + "\n"
        m = VERSION_RE.search(text)
        if m is None:
            raise InputError(f"{path}: no 'Version: ...' line: the licence needs a version")
        return cls(m[1], text)


@dataclass(frozen=True)
class Settings:
    """What the server needs; :meth:`from_env` reads it."""

    database_url: str
    session_secret: str
    public_url: str  # where users reach the server (its links, the order URL)
    website_origins: tuple[str, ...]  # origins allowed to order from a browser (CORS with credentials)
    licence: Licence
    s3_endpoint: str | None
    dist_bucket: str
    work_bucket: str
    order_expires: int = MAX_EXPIRY
    secure_cookies: bool = False
    session_max_age: int = 12 * 3600
    host: str = "127.0.0.1"
    port: int = 8081
    signin_limit: tuple[int, int] = field(default=(10, 900))  # failed sign-ins allowed per e-mail per seconds
    attempt_limit: tuple[int, int] = field(default=(10, 600))  # sign-ups + sign-ins allowed per address per seconds

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Settings:
        from take5_ops.storage.buckets import bucket_name

        env = environ if environ is not None else os.environ

        def need(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise InputError(f"{name} is not set (accounts mode needs it; make run sets it)")
            return value

        port = int(env.get("TAKE5_ACCOUNTS_PORT", "8081"))
        public_url = env.get("TAKE5_ACCOUNTS_URL", "").strip() or f"http://127.0.0.1:{port}"
        endpoint = env.get("TAKE5_S3_ENDPOINT", "").strip() or None
        origins = [o.strip() for o in env.get("TAKE5_ACCOUNTS_WEBSITE_ORIGINS", "").split(",") if o.strip()]
        if not origins and endpoint:
            origins = [endpoint]  # the website served by the bucket itself
        public_site = env.get("TAKE5_PUBLIC_URL", "").strip()
        if public_site:
            origins.append(public_site)
        expires = int(env.get("TAKE5_ORDER_EXPIRES", str(MAX_EXPIRY)))
        if not 60 <= expires <= MAX_EXPIRY:
            raise InputError(f"TAKE5_ORDER_EXPIRES={expires}: must be 60 s to 7 days ({MAX_EXPIRY} s)")
        secret = need("TAKE5_ACCOUNTS_SECRET")
        if len(secret) < 32:
            raise InputError("TAKE5_ACCOUNTS_SECRET: at least 32 characters")
        return cls(
            database_url=need("TAKE5_ACCOUNTS_DB"),
            session_secret=secret,
            public_url=public_url.rstrip("/"),
            website_origins=tuple(dict.fromkeys(origin(o) for o in origins)),
            licence=Licence.load(Path(env.get("TAKE5_ACCOUNTS_LICENCE", "").strip() or DEFAULT_LICENCE)),
            s3_endpoint=endpoint,
            dist_bucket=bucket_name("dist"),
            work_bucket=bucket_name("work"),
            order_expires=expires,
            secure_cookies=public_url.startswith("https://"),
            host=env.get("TAKE5_ACCOUNTS_HOST", "127.0.0.1"),
            port=port,
            attempt_limit=rate(env.get("TAKE5_ACCOUNTS_ATTEMPTS", "").strip() or "10/600", "TAKE5_ACCOUNTS_ATTEMPTS"),
        )

    @property
    def order_url(self) -> str:
        return f"{self.public_url}/orders"
