"""Public access to the distribution bucket: its read-only policy and the URLs users download from.

The public may only *read objects* of the distribution bucket (``s3:GetObject``,
granted by :func:`public_read_policy`): no listing, no write, no delete.
Everything else needs credentials. For a private bucket, :func:`presigned_urls`
gives time-limited URLs instead (docs/distribution.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from urllib.parse import quote

from take5_ops.storage import LocalStore, S3Store, Store, check_key

PUBLIC_URL_ENV = "TAKE5_PUBLIC_URL"
STAC_API_URL_ENV = "TAKE5_STAC_API_URL"


def stac_api_url() -> str | None:
    """The public URL of the STAC API (``TAKE5_STAC_API_URL``) that the pages link; ``None``: no API."""
    return os.environ.get(STAC_API_URL_ENV, "").strip() or None


def public_read_policy(bucket: str) -> dict:
    """Bucket policy letting anyone GET the objects of ``bucket`` (and nothing else)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                       "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]}],
    }


def set_public_read(store: S3Store) -> None:
    """Put :func:`public_read_policy` on the store's bucket."""
    store.client.put_bucket_policy(Bucket=store.bucket, Policy=json.dumps(public_read_policy(store.bucket)))


def public_base_url(store: Store) -> str:
    """Base URL (ending in ``/``) under which the public reads ``store``'s objects.

    ``TAKE5_PUBLIC_URL`` when set; else, for S3, the endpoint and the bucket
    (path style, e.g. ``http://127.0.0.1:9000/take5-dist/``); for a local
    folder, its ``file://`` URI.
    """
    base = os.environ.get(PUBLIC_URL_ENV, "").strip()
    if not base:
        if isinstance(store, S3Store):
            base = f"{store.client.meta.endpoint_url.rstrip('/')}/{store.bucket}/"
        elif isinstance(store, LocalStore):
            base = store.root.as_uri() + "/"
        else:
            raise ValueError(f"{store.url}: no public URL known; set {PUBLIC_URL_ENV}")
    return base if base.endswith("/") else base + "/"


def public_urls(base: str) -> Callable[[str], str]:
    """``key -> URL`` under the public base URL ``base``."""
    base = base if base.endswith("/") else base + "/"
    return lambda key: base + quote(check_key(key), safe="/")


def presigned_urls(store: S3Store, expires: int) -> Callable[[str], str]:
    """``key -> presigned GET URL`` of the store's bucket, valid ``expires`` seconds (private buckets)."""
    if not 1 <= expires <= 7 * 24 * 3600:
        raise ValueError(f"presigned URL expiry {expires}s: must be 1 s to 7 days (the S3 maximum)")
    return lambda key: store.client.generate_presigned_url(
        "get_object", Params={"Bucket": store.bucket, "Key": check_key(key)}, ExpiresIn=expires)
