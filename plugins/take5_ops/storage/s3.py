"""One bucket of an S3-compatible server: :class:`S3Store` (boto3), with verified multipart transfers."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

from take5_ops.errors import ChecksumMismatch, StoreError
from take5_ops.storage.base import (
    CHUNK,
    ObjectInfo,
    Store,
    check_key,
    retrying,
    sha256_file,
)

SINGLE_PUT_MAX = 1024**3  # larger objects are copied by download/upload (CopyObject's single-request limit is 5 GB)
MULTIPART_THRESHOLD = 16 * 1024 * 1024  # uploads above it go multipart, 16 MiB parts
MULTIPART_CHUNK = 16 * 1024 * 1024
MAX_CONCURRENCY = 8  # parts in flight per upload
PART_CHECKSUM = "CRC32"  # each part's checksum, verified by S3 on receipt (the whole's SHA-256 is ours, same pass)
CLIENT_ATTEMPTS = 5  # botocore "standard" retries: connection errors, 5xx, throttling, with backoff

log = logging.getLogger(__name__)


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

class S3Store(Store):
    """One bucket of an S3-compatible server, through a boto3 client."""

    def __init__(self, client, bucket: str):
        self.client = client
        self.bucket = bucket
        self.url = f"s3://{bucket}"

    @classmethod
    def from_endpoint(cls, bucket: str, endpoint_url: str | None = None, **client_kwargs) -> S3Store:
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
