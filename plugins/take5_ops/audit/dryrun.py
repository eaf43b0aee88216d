"""A store that records writes instead of making them: the audit runs the publication code on it.

:class:`DryRun` wraps a real store: reads see the wrapped store with the recorded writes and
deletions laid over it; ``changes`` lists what the code would have done (``("put", key)``,
``("delete", key)``). Whatever the publication code would rewrite is out of date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from take5_ops.storage import ObjectInfo, Store, StoreError


class DryRun(Store):
    """``store`` as it would be after the recorded writes; nothing reaches ``store``."""

    def __init__(self, store: Store):
        self.store, self.url = store, store.url
        self.written: dict[str, bytes] = {}
        self.deleted: set[str] = set()
        self.changes: list[tuple[str, str]] = []

    def _info(self, key: str) -> ObjectInfo:
        data = self.written[key]
        sha = hashlib.sha256(data).hexdigest()
        return ObjectInfo(key, len(data), sha, datetime.now(UTC), sha)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        keys = {i.key: i for i in self.store.list(prefix) if i.key not in self.deleted}
        keys.update({k: self._info(k) for k in self.written if k.startswith(prefix)})
        return iter([keys[k] for k in sorted(keys)])

    def list_dirs(self, prefix: str = "") -> list[str]:
        extra = {k[len(prefix):].split("/")[0] for k in self.written if k.startswith(prefix) and "/" in k[len(prefix):]}
        return sorted(set(self.store.list_dirs(prefix)) | extra)

    def head(self, key: str) -> ObjectInfo | None:
        if key in self.written:
            return self._info(key)
        return None if key in self.deleted else self.store.head(key)

    def get_bytes(self, key: str) -> bytes:
        if key in self.written:
            return self.written[key]
        if key in self.deleted:
            raise StoreError(f"{self.href(key)}: deleted (dry run)")
        return self.store.get_bytes(key)

    def download(self, key: str, path: Path) -> str:
        data = self.get_bytes(key)
        Path(path).write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectInfo:
        self.written[key] = data
        self.deleted.discard(key)
        self.changes.append(("put", key))
        return self._info(key)

    def upload(self, path: Path, key: str, content_type: str | None = None, sha256: str | None = None) -> ObjectInfo:
        return self.put_bytes(key, Path(path).read_bytes(), content_type)

    def delete(self, key: str) -> None:
        self.written.pop(key, None)
        self.deleted.add(key)
        self.changes.append(("delete", key))

    def href(self, key: str) -> str:
        return self.store.href(key)
