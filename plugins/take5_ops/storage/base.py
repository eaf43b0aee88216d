"""The store interface, its object model, key validation and the helpers every store shares.

Every bucket of the chain (deliveries, auxiliary data, work, distribution) is
a :class:`Store`: :class:`~take5_ops.storage.s3.S3Store` in production,
:class:`~take5_ops.storage.local.LocalStore` (a folder laid out like the
bucket) for ``take5 run-site`` and tests. Keys are ``/``-separated and
validated: no absolute keys, no ``..``, no empty parts.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TypeVar

from take5_ops.errors import ChecksumMismatch, InvalidKey, StoreError

CHUNK = 8 * 1024 * 1024
ATTEMPTS = 3  # our own retries of a whole operation that failed its verification or lost the server
RETRY_BASE_SECONDS = 0.5  # backoff before retry n: RETRY_BASE_SECONDS * 2**(n-1)

log = logging.getLogger(__name__)
T = TypeVar("T")


def _transient(exc: BaseException) -> bool:
    """Worth retrying: a verification failure, a full disk, or the server unreachable / failing (5xx)."""
    if isinstance(exc, ChecksumMismatch):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    if cause is None:
        return False
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(cause, (ConnectionError, HTTPClientError)):
        return True
    if isinstance(cause, ClientError):
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or cause.response.get("Error", {}).get("Code") in ("BadDigest", "SlowDown")
    return False


def retrying(operation, what: str, attempts: int | None = None):
    """Run ``operation()``; retry transient failures (see :func:`_transient`) with exponential backoff.

    After ``attempts`` (default :data:`ATTEMPTS`) the last error is raised, as a
    :class:`StoreError` naming ``what`` and the number of attempts (a full disk
    stays an ``OSError``, with the same message). Other errors are raised at once.
    """
    attempts = attempts or ATTEMPTS
    for n in range(1, attempts + 1):
        try:
            return operation()
        except (StoreError, OSError) as exc:
            if not _transient(exc):
                raise
            if n == attempts:
                message = f"{what}: failed after {attempts} attempts: {exc}"
                if isinstance(exc, OSError) and not isinstance(exc, StoreError):
                    raise OSError(exc.errno, message) from exc
                raise type(exc)(message) from exc
            delay = RETRY_BASE_SECONDS * 2 ** (n - 1)
            log.warning("%s: attempt %d/%d failed (%s); retrying in %.1f s", what, n, attempts, exc, delay)
            time.sleep(delay)

@dataclass(frozen=True)
class ObjectInfo:
    """What a listing or a HEAD tells about one object."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    sha256: str | None = None  # hex digest, when the store knows it


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`InvalidKey`."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"invalid object key {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey(f"invalid object key {key!r}")
    return key


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class Store(ABC):
    """One bucket: the interface of :class:`~take5_ops.storage.s3.S3Store` and :class:`~take5_ops.storage.local.LocalStore`."""

    url: str

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""

    @abstractmethod
    def list_dirs(self, prefix: str = "") -> list[str]:
        """Names of the 'folders' directly below ``prefix`` (which ends with ``/`` or is empty)."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Information on one object, with its SHA-256 when known; ``None`` if absent."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The whole object."""

    @abstractmethod
    def download(self, key: str, path: Path) -> str:
        """Copy an object to a local file; return its hex SHA-256 computed while writing."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        """Write an object from memory."""

    @abstractmethod
    def upload(self, path: Path, key: str, content_type: str | None = None, sha256: str | None = None) -> ObjectInfo:
        """Upload a local file; ``sha256`` (hex) is checked by the store when given."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; absent is fine."""

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        return self.head(key) is not None

    def copy_from(self, src: Store, key: str, dst_key: str | None = None) -> ObjectInfo:
        """Copy object ``key`` of ``src`` here (as ``dst_key``, default the same key).

        The generic way streams through a temporary file and uploads it with
        its SHA-256 checked; stores override it with a cheaper path when they can.
        """
        dst_key = check_key(dst_key or key)
        with tempfile.TemporaryDirectory(prefix="take5-copy-") as tmp:
            local = Path(tmp) / "object"
            digest = src.download(key, local)
            return self.upload(local, dst_key, content_type=src.content_type(key), sha256=digest)

    def content_type(self, key: str) -> str | None:
        """The object's content type when the store records one."""
        return None

    @abstractmethod
    def href(self, key: str) -> str:
        """A URL that names the object or, for a key ending in ``/``, the prefix (``s3://bucket/key`` or a path)."""


def read_json(store: Store, key: str) -> dict | None:
    """A JSON object of the store; ``None`` when absent or unreadable (logged: the caller rebuilds it).
    One GET when it exists (a HEAD more when the GET fails: absent, or the error is raised)."""
    try:
        data = store.get_bytes(key)
    except StoreError:
        if store.exists(key):
            raise
        return None
    try:
        doc = json.loads(data)
    except ValueError as exc:
        log.warning("%s: unreadable JSON, ignored (%s)", store.href(key), exc)
        return None
    return doc if isinstance(doc, dict) else None


def copy_tree(src: Store, dst: Store, prefix: str = "") -> int:
    """Copy every object under ``prefix`` from one store to another; return the count."""
    return for_each(lambda info: dst.copy_from(src, info.key), src.list(prefix))


def for_each(work: Callable[[T], object], items: Iterable[T], workers: int = 1,
             progress: Callable[[int], None] | None = None) -> int:
    """Call ``work`` on every item, ``workers`` at a time (threads: the work waits on a store); the count.
    ``progress(n)`` is called after each item, ``n`` the items done so far. Items are drawn from ``items`` as
    the work goes, never more than ``2 * workers`` ahead. The first error stops it: the calls not started are
    cancelled, those under way end, then it is raised."""
    workers = max(1, workers)
    todo = iter(items)
    n = 0
    pool = ThreadPoolExecutor(workers)
    try:
        pending: set[Future[object]] = set()
        while True:
            pending.update(pool.submit(work, item) for item in islice(todo, 2 * workers - len(pending)))
            if not pending:
                return n
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
                n += 1
                if progress is not None:
                    progress(n)
    finally:
        pool.shutdown(cancel_futures=True)


def holds(store: Store, key: str, size: int, sha256: str) -> bool:
    """True when ``key`` exists with exactly this size and SHA-256 (one HEAD)."""
    info = store.head(key)
    return info is not None and info.size == size and info.sha256 == sha256


def put_if_changed(store: Store, key: str, data: bytes, content_type: str | None = None) -> bool:
    """Write ``data`` unless the object already holds exactly these bytes; True if written."""
    if holds(store, key, len(data), hashlib.sha256(data).hexdigest()):
        return False
    store.put_bytes(key, data, content_type)
    return True
