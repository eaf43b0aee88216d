"""A folder used as a bucket: :class:`LocalStore` (``take5 run-site``, tests, debugging)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from take5_ops.errors import StoreError
from take5_ops.storage.base import CHUNK, ObjectInfo, Store, check_key, sha256_file


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
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
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
        path = self._path(key)
        path.unlink(missing_ok=True)
        for folder in path.parents:  # no empty folder left behind (as in a bucket, no "folder" without keys)
            if folder == self.root or not folder.is_relative_to(self.root):
                break
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break

    def href(self, key: str) -> str:
        if key.endswith("/"):  # a prefix: the folder
            return str(self._path(key[:-1])) + "/"
        return str(self._path(key))
