"""Object stores: one interface over S3 (boto3) and a local folder.

Every bucket of the chain (deliveries, auxiliary data, work, distribution) is
a :class:`Store`. The Airflow tasks use :class:`S3Store`; ``take5 run-site``
uses :class:`LocalStore` folders laid out exactly like the buckets. Keys are
``/``-separated and validated: no absolute keys, no ``..``, no empty parts.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

CHUNK = 8 * 1024 * 1024
SINGLE_PUT_MAX = 1024**3  # larger objects are copied by download/upload (CopyObject's single-request limit is 5 GB)
MULTIPART_THRESHOLD = 16 * 1024 * 1024  # uploads above it go multipart, 16 MiB parts
MULTIPART_CHUNK = 16 * 1024 * 1024
MAX_CONCURRENCY = 8  # parts in flight per upload
PART_CHECKSUM = "CRC32"  # each part's checksum, verified by S3 on receipt (the whole's SHA-256 is ours, same pass)
CLIENT_ATTEMPTS = 5  # botocore "standard" retries: connection errors, 5xx, throttling, with backoff
ATTEMPTS = 3  # our own retries of a whole operation that failed its verification or lost the server
RETRY_BASE_SECONDS = 0.5  # backoff before retry n: RETRY_BASE_SECONDS * 2**(n-1)

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """A store operation failed; the message names the store and the key."""


class ChecksumMismatch(StoreError):
    """Bytes read or stored do not have the expected SHA-256 (or size)."""


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


def client_config():
    """botocore settings of every S3 client: standard retries with backoff, a connection pool for
    concurrent multipart transfers, bounded timeouts."""
    from botocore.config import Config

    return Config(retries={"max_attempts": CLIENT_ATTEMPTS, "mode": "standard"},
                  max_pool_connections=2 * MAX_CONCURRENCY, connect_timeout=10, read_timeout=120)


def transfer_config():
    """Multipart, concurrent transfers (boto3 ``TransferConfig``)."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK,
                          max_concurrency=MAX_CONCURRENCY, use_threads=True)


class HashingReader:
    """A binary file read once, front to back, by a multipart upload: SHA-256 and size in the same pass.

    When the last byte has been read and the digest is not ``expected``, the
    read raises :class:`ChecksumMismatch`: the multipart upload is aborted
    before completion, so the object is never replaced by the wrong bytes.
    """

    def __init__(self, f, size: int, expected: str, where: str):
        self.f, self.size, self.expected, self.where = f, size, expected, where
        self.h, self.count = hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.h.update(data)
        self.count += len(data)
        if self.count > self.size or (self.count == self.size and self.h.hexdigest() != self.expected):
            raise ChecksumMismatch(f"{self.where}: checksum mismatch: {self.count} bytes read with SHA-256 "
                                   f"{self.h.hexdigest()}, expected {self.size} bytes, {self.expected}")
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.f.seek(offset, whence)

    def tell(self) -> int:
        return self.f.tell()

    def seekable(self) -> bool:
        return True


class InvalidKey(ValueError):
    """A key that could escape its bucket or folder."""


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


class Store:
    """Interface shared by :class:`S3Store` and :class:`LocalStore`."""

    url: str

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        raise NotImplementedError

    def list_dirs(self, prefix: str = "") -> list[str]:
        """Names of the 'folders' directly below ``prefix`` (which ends with ``/`` or is empty)."""
        raise NotImplementedError

    def head(self, key: str) -> ObjectInfo | None:
        """Information on one object, with its SHA-256 when known; ``None`` if absent."""
        raise NotImplementedError

    def get_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def download(self, key: str, path: Path) -> str:
        """Copy an object to a local file; return its hex SHA-256 computed while writing."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        raise NotImplementedError

    def upload(self, path: Path, key: str, content_type: str | None = None, sha256: str | None = None) -> ObjectInfo:
        """Upload a local file; ``sha256`` (hex) is checked by the store when given."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def copy_from(self, src: "Store", key: str, dst_key: str | None = None) -> ObjectInfo:
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

    def href(self, key: str) -> str:
        """A URL that names the object or, for a key ending in ``/``, the prefix (``s3://bucket/key`` or a path)."""
        raise NotImplementedError


class LocalStore(Store):
    """A folder used as a bucket (for ``run-site``, tests and debugging)."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _info(self, path: Path, key: str, with_sha: bool = False) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc),
            sha256=sha256_file(path) if with_sha else None,
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        if not self.root.is_dir():
            return
        keys = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".take5-tmp-"):
                    continue
                key = (Path(dirpath) / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        for key in sorted(keys):
            yield self._info(self.root / key, key)

    def list_dirs(self, prefix: str = "") -> list[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir())

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        return self._info(path, key, with_sha=True) if path.is_file() else None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{self.url}: no object {key!r}") from None

    def download(self, key: str, path: Path) -> str:
        src = self._path(key)
        if not src.is_file():
            raise StoreError(f"{self.url}: no object {key!r}")
        h = hashlib.sha256()
        with open(src, "rb") as fin, open(path, "wb") as fout:
            for chunk in iter(lambda: fin.read(CHUNK), b""):
                h.update(chunk)
                fout.write(chunk)
        return h.hexdigest()

    def _atomic_write(self, key: str, writer) -> ObjectInfo:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".take5-tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                writer(f)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; published files must be readable by a web server
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self._info(dest, key)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        return replace(self._atomic_write(key, lambda f: f.write(data)), sha256=hashlib.sha256(data).hexdigest())

    def upload(self, path: Path, key: str, content_type: str | None = None, sha256: str | None = None) -> ObjectInfo:
        h = hashlib.sha256()

        def write(f):
            with open(path, "rb") as fin:
                for chunk in iter(lambda: fin.read(CHUNK), b""):
                    h.update(chunk)
                    f.write(chunk)
            if sha256 is not None and h.hexdigest() != sha256:
                raise StoreError(f"{self.url}: checksum mismatch writing {key!r}")

        return replace(self._atomic_write(key, write), sha256=h.hexdigest())

    def copy_from(self, src: Store, key: str, dst_key: str | None = None) -> ObjectInfo:
        if isinstance(src, LocalStore):
            path = src._path(key)
            if not path.is_file():
                raise StoreError(f"{src.url}: no object {key!r}")
            return self.upload(path, dst_key or key, sha256=sha256_file(path))
        return super().copy_from(src, key, dst_key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def href(self, key: str) -> str:
        if key.endswith("/"):  # a prefix: the folder
            return str(self._path(key[:-1])) + "/"
        return str(self._path(key))


class S3Store(Store):
    """One bucket of an S3-compatible server, through a boto3 client."""

    def __init__(self, client, bucket: str):
        self.client = client
        self.bucket = bucket
        self.url = f"s3://{bucket}"

    @classmethod
    def from_endpoint(cls, bucket: str, endpoint_url: str | None = None, **client_kwargs) -> "S3Store":
        """A store on ``endpoint_url`` (credentials from the environment, as boto3 does)."""
        import boto3

        config = client_config()
        if "config" in client_kwargs:
            config = config.merge(client_kwargs.pop("config"))
        client = boto3.client("s3", endpoint_url=endpoint_url, config=config, **client_kwargs)
        return cls(client, bucket)

    def _err(self, op: str, key: str, exc: Exception) -> StoreError:
        return StoreError(f"{self.url}: {op} {key!r} failed: {exc}")

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield ObjectInfo(
                    key=obj["Key"],
                    size=obj["Size"],
                    etag=obj["ETag"].strip('"'),
                    last_modified=obj["LastModified"],
                )

    def list_dirs(self, prefix: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        names = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            for cp in page.get("CommonPrefixes", []):
                names.append(cp["Prefix"][len(prefix):].rstrip("/"))
        return sorted(names)

    def head(self, key: str) -> ObjectInfo | None:
        check_key(key)
        return retrying(lambda: self._head_once(key), f"{self.url}: HEAD {key!r}")

    def _head_once(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            r = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._err("HEAD", key, exc) from exc
        except BotoCoreError as exc:  # the server unreachable (after botocore's own retries)
            raise self._err("HEAD", key, exc) from exc
        sha = r.get("ChecksumSHA256")
        if sha and "-" not in sha and "-" not in r["ETag"]:  # a multipart object's checksum is composite
            sha = base64.b64decode(sha).hex()
        else:
            sha = r.get("Metadata", {}).get("sha256")
        return ObjectInfo(key, r["ContentLength"], r["ETag"].strip('"'), r["LastModified"], sha)

    def get_bytes(self, key: str) -> bytes:
        check_key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise self._err("GET", key, exc) from exc

    def download(self, key: str, path: Path) -> str:
        """Download (retried, see :func:`retrying`); a partial file is removed on failure (a full disk too)."""
        check_key(key)
        return retrying(lambda: self._download_once(key, Path(path)), f"{self.url}: GET {key!r} to {path}")

    def _download_once(self, key: str, path: Path) -> str:
        h = hashlib.sha256()
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with open(path, "wb") as f:
                for chunk in iter(lambda: body.read(CHUNK), b""):
                    h.update(chunk)
                    f.write(chunk)
        except OSError:
            path.unlink(missing_ok=True)
            raise
        except Exception as exc:
            path.unlink(missing_ok=True)
            raise self._err("GET", key, exc) from exc
        return h.hexdigest()

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        """One PUT with its SHA-256, checked after (retried, see :func:`retrying`)."""
        check_key(key)
        return retrying(lambda: self._put_once(key, data, content_type), f"{self.url}: PUT {key!r}")

    def _put_once(self, key: str, data: bytes, content_type: str | None) -> ObjectInfo:
        digest = hashlib.sha256(data).digest()
        extra = {"ContentType": content_type} if content_type else {}
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ChecksumSHA256=base64.b64encode(digest).decode(),
                Metadata={"sha256": digest.hex()},
                **extra,
            )
        except Exception as exc:
            raise self._err("PUT", key, exc) from exc
        return self._check_stored(key, len(data), digest.hex())

    def upload(self, path: Path, key: str, content_type: str | None = None, sha256: str | None = None) -> ObjectInfo:
        """Upload a local file, verified, retried (:func:`retrying`); a mismatch never replaces the object.

        Up to :data:`MULTIPART_THRESHOLD` the file is read once into memory,
        hashed and PUT; above, a concurrent multipart upload hashes the parts
        as it reads them (:class:`HashingReader`) and is aborted before
        completion if the whole does not match. Without ``sha256`` the file is
        hashed first (one more read).
        """
        check_key(key)
        path = Path(path)
        expected = sha256 or sha256_file(path)
        return retrying(lambda: self._upload_once(path, key, content_type, expected), f"{self.url}: upload {key!r}")

    def _upload_once(self, path: Path, key: str, content_type: str | None, expected: str) -> ObjectInfo:
        size = path.stat().st_size
        if size <= MULTIPART_THRESHOLD:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != expected:
                raise ChecksumMismatch(f"{self.url}: checksum mismatch uploading {path} to {key!r} "
                                       f"(expected SHA-256 {expected})")
            return self._put_once(key, data, content_type)
        extra = {"Metadata": {"sha256": expected}, "ChecksumAlgorithm": PART_CHECKSUM}
        if content_type:
            extra["ContentType"] = content_type
        with open(path, "rb") as f:
            reader = HashingReader(f, size, expected, f"{self.url}: uploading {path} to {key!r}")
            try:
                self.client.upload_fileobj(reader, self.bucket, key, ExtraArgs=extra, Config=transfer_config())
            except ChecksumMismatch:
                raise
            except Exception as exc:
                raise self._err("upload", key, exc) from exc
        if reader.count != size or reader.h.hexdigest() != expected:
            raise ChecksumMismatch(f"{self.url}: checksum mismatch uploading {path} to {key!r}")
        return self._check_stored(key, size, expected)

    def _check_stored(self, key: str, size: int, sha256: str) -> ObjectInfo:
        info = self.head(key)
        if info is None or info.size != size or info.sha256 != sha256:
            raise ChecksumMismatch(f"{self.url}: {key!r} not stored as written (size or SHA-256 differ)")
        return info

    def content_type(self, key: str) -> str | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=check_key(key)).get("ContentType")
        except Exception:
            return None

    def same_server(self, other: Store) -> bool:
        """True when ``other`` is an S3 bucket reachable by a server-side copy from here."""
        return isinstance(other, S3Store) and other.client.meta.endpoint_url == self.client.meta.endpoint_url

    def copy_from(self, src: Store, key: str, dst_key: str | None = None) -> ObjectInfo:
        """Server-side copy from a bucket of the same server (metadata kept, SHA-256
        recomputed by the server and checked, retried); download/upload otherwise."""
        if not self.same_server(src):
            return super().copy_from(src, key, dst_key)
        dst_key = check_key(dst_key or key)
        source = src.head(key)
        if source is None:
            raise StoreError(f"{src.url}: no object {key!r}")
        if source.size > SINGLE_PUT_MAX or source.sha256 is None:
            return super().copy_from(src, key, dst_key)
        return retrying(lambda: self._copy_once(src, key, dst_key, source), f"{self.url}: COPY {dst_key!r}")

    def _copy_once(self, src: S3Store, key: str, dst_key: str, source: ObjectInfo) -> ObjectInfo:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.copy_object(Bucket=self.bucket, Key=dst_key, MetadataDirective="COPY",
                                    CopySource={"Bucket": src.bucket, "Key": check_key(key)},
                                    ChecksumAlgorithm="SHA256")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("AccessDenied", "NotImplemented"):
                return Store.copy_from(self, src, key, dst_key)
            raise self._err("COPY", dst_key, exc) from exc
        except BotoCoreError as exc:  # the server unreachable (after botocore's own retries)
            raise self._err("COPY", dst_key, exc) from exc
        return self._check_stored(dst_key, source.size, source.sha256)

    def delete(self, key: str) -> None:
        check_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._err("DELETE", key, exc) from exc

    def href(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def read_json(store: Store, key: str) -> dict | None:
    """A JSON object of the store; ``None`` when absent or unreadable (logged: the caller rebuilds it)."""
    import json
    import logging

    if not store.exists(key):
        return None
    try:
        doc = json.loads(store.get_bytes(key))
    except ValueError as exc:
        logging.getLogger(__name__).warning("%s: unreadable JSON, ignored (%s)", store.href(key), exc)
        return None
    return doc if isinstance(doc, dict) else None


def copy_tree(src: Store, dst: Store, prefix: str = "") -> int:
    """Copy every object under ``prefix`` from one store to another; return the count."""
    n = 0
    for info in src.list(prefix):
        dst.copy_from(src, info.key)
        n += 1
    return n


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


def remove_tree(path: Path) -> None:
    """Remove a local folder if it exists."""
    shutil.rmtree(path, ignore_errors=True)
