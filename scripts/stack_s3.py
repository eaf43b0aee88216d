"""The embedded stack's S3 content across restarts: each bucket saved to a folder on stop, with every object's
content type beside it (``<bucket>.types.json``), and restored from there on start.

Without the types a restored website would be served as ``binary/octet-stream`` (browsers download the pages
instead of showing them), and publication, which rewrites only changed bytes, would never mend it.
"""

from __future__ import annotations

import json
import mimetypes
import shutil
from collections.abc import Callable
from pathlib import Path

from take5_ops.storage import LocalStore, S3Store, for_each

mimetypes.add_type("application/metalink4+xml", ".meta4")
UNTYPED = (None, "binary/octet-stream", "application/octet-stream")
WORKERS = 8  # objects saved or restored at a time (a campaign's work bucket holds ~10 000)


def types_file(folder: Path) -> Path:
    return folder.with_name(folder.name + ".types.json")


def snapshot(store: S3Store, folder: Path, progress: Callable[[int], None] | None = None) -> int:
    """Save every object of ``store`` to ``folder`` (replaced whole) and their content types; the count.
    ``progress(n)`` after each object (see :func:`~take5_ops.storage.for_each`)."""
    tmp = folder.with_name(folder.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)  # an empty bucket is saved as an empty folder
    types: dict[str, str | None] = {}
    dest = LocalStore(tmp)

    def save(info) -> None:
        dest.copy_from(store, info.key)
        types[info.key] = store.content_type(info.key)

    n = for_each(save, store.list(), WORKERS, progress)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    types_file(folder).write_text(json.dumps(types, indent=0, sort_keys=True))
    return n


def restore(folder: Path, store: S3Store, progress: Callable[[int], None] | None = None) -> int:
    """Upload the objects saved in ``folder`` into ``store``, each with its saved content type, else (a snapshot
    without types, an object saved untyped) the type its name implies; the count."""
    saved = types_file(folder)
    types = json.loads(saved.read_text()) if saved.is_file() else {}

    def load(info) -> None:
        kind = types.get(info.key)
        if kind in UNTYPED:
            kind = mimetypes.guess_type(info.key)[0]
        store.upload(folder / info.key, info.key, content_type=kind)

    return for_each(load, LocalStore(folder).list(), WORKERS, progress)
