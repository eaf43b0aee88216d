"""The options that name one bucket of the chain, shared by the commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from take5_ops.storage.buckets import ENDPOINT_ENV, bucket_name, endpoint, env_name


def add_bucket_arguments(p: argparse.ArgumentParser, role: str, local: str | None = None) -> None:
    """``--endpoint`` (``$TAKE5_S3_ENDPOINT``) and ``--bucket`` (``$TAKE5_<ROLE>_BUCKET``, else
    ``take5-<role>``: :mod:`take5_ops.storage.buckets`); with ``local``, a ``--<local> DIR`` folder laid out like the bucket instead of S3."""
    where = p.add_mutually_exclusive_group() if local else p
    if local:
        where.add_argument(f"--{local}", type=Path, help=f"local {role} folder (as take5 run-site uses)")
    where.add_argument("--endpoint", default=endpoint(), help=f"S3 endpoint URL (default: ${ENDPOINT_ENV}, else AWS)")
    p.add_argument("--bucket", default=bucket_name(role), help=f"{role} bucket (default: ${env_name(role)}, else take5-{role})")


def bucket_from_args(args: argparse.Namespace, local: str | None = None):
    """The store the options name: the ``--<local>`` folder (which must exist) or the S3 bucket."""
    from take5_ops.storage import LocalStore, S3Store

    folder = getattr(args, local) if local else None
    if folder is not None:
        if not folder.is_dir():
            raise ValueError(f"--{local} {folder}: no such folder")
        return LocalStore(folder)
    return S3Store.from_endpoint(args.bucket, args.endpoint)
