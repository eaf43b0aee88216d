"""Public access to the distribution bucket: its read-only policy and the URLs users download from.

The public may only *read objects* of the distribution bucket (``s3:GetObject``,
granted by :func:`public_read_policy`): no listing, no write, no delete.
Everything else needs credentials. For a private bucket, :func:`presigned_urls`
gives time-limited URLs instead (docs/distribution.md).

In accounts mode (docs/distribution.md, "Accounts") the public reads only what browsing needs
(:func:`browse_read_policy`: pages, STAC documents, quicklooks, the website's own files); the
product files are reached through presigned URLs of an order, and :func:`set_order_url` tells the
website where to order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from urllib.parse import quote

from take5_ops.storage import LocalStore, S3Store, Store, check_key, layout, read_json

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
    set_access(store, accounts=False)


# What anonymous users may GET in accounts mode: everything browsing needs, no product data file.
BROWSE_PATTERNS = ("*.html", "*.json", "*_QKL.jpg", "*_PREVIEW.JPG", "assets/*")  # quicklooks: L1C/L2A's, L1A's


def browse_read_policy(bucket: str) -> dict:
    """Bucket policy of accounts mode: anyone may GET the objects matching :data:`BROWSE_PATTERNS`
    (pages, catalog, collections, Items, product metadata, quicklooks, the website's style and
    scripts), nothing else: the imagery, masks and Metalinks need a presigned URL."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PublicBrowse", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                       "Resource": [f"arn:aws:s3:::{bucket}/{p}" for p in BROWSE_PATTERNS]}],
    }


def set_access(store: S3Store, accounts: bool) -> None:
    """The bucket policy of the mode: :func:`browse_read_policy` with accounts, else :func:`public_read_policy`."""
    policy = browse_read_policy(store.bucket) if accounts else public_read_policy(store.bucket)
    store.client.put_bucket_policy(Bucket=store.bucket, Policy=json.dumps(policy))


def set_order_url(store: Store, order_url: str | None) -> bool:
    """Set ``order_url`` in the website's ``config.json`` (``None``: public downloads), keeping its
    other settings; write only when it changes. Returns whether it wrote."""
    key = layout.WEB_CONFIG_KEY
    config = read_json(store, key)
    wanted = {**(config or {}), "order_url": order_url or None}
    if wanted == config:
        return False
    store.put_bytes(key, json.dumps(wanted, indent=1, sort_keys=True).encode() + b"\n", "application/json")
    return True


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
    """``key -> presigned GET URL`` of the store's bucket, valid ``expires`` seconds (private buckets).

    Signed with Signature Version 4 (boto3 would sign a custom endpoint with the deprecated
    version 2, which AWS no longer accepts and which has no 7-day limit): ``X-Amz-Expires`` is the
    validity, 7 days at most.
    """
    if not 1 <= expires <= 7 * 24 * 3600:
        raise ValueError(f"presigned URL expiry {expires}s: must be 1 s to 7 days (the S3 maximum)")
    import boto3
    from botocore.config import Config

    meta = store.client.meta
    signer = boto3.client("s3", endpoint_url=meta.endpoint_url, region_name=meta.region_name,
                          config=meta.config.merge(Config(signature_version="s3v4")))
    return lambda key: signer.generate_presigned_url(
        "get_object", Params={"Bucket": store.bucket, "Key": check_key(key)}, ExpiresIn=expires)
