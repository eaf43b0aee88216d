"""Object stores: one interface over S3 and local folders, the bucket layout, and the rule that names the buckets.

- :mod:`~take5_ops.storage.base`: :class:`Store`, :class:`ObjectInfo`, key checks, shared helpers;
- :mod:`~take5_ops.storage.s3` and :mod:`~take5_ops.storage.local`: the two stores;
- :mod:`~take5_ops.storage.layout`: every key of every bucket;
- :mod:`~take5_ops.storage.buckets`: bucket names, the endpoint, :class:`Buckets`.
"""

from take5_ops.errors import ChecksumMismatch, InvalidKey, StoreError
from take5_ops.storage import layout
from take5_ops.storage.base import (
    ObjectInfo,
    Store,
    check_key,
    copy_tree,
    for_each,
    holds,
    put_if_changed,
    read_json,
    retrying,
    sha256_file,
)
from take5_ops.storage.buckets import Buckets
from take5_ops.storage.local import LocalStore
from take5_ops.storage.s3 import S3Store

__all__ = [
    "Buckets", "ChecksumMismatch", "InvalidKey", "LocalStore", "ObjectInfo", "S3Store", "Store", "StoreError",
    "check_key", "copy_tree", "for_each", "holds", "layout", "put_if_changed", "read_json", "retrying", "sha256_file",
]
