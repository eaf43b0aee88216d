"""``take5 cart``: a Metalink 4 (.meta4) of any selection of published products, for a download manager."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from take5_ops.commands.search import add_query_arguments, dist_store, query_from_args


def register(sub) -> None:
    p = sub.add_parser(
        "cart",
        help="write a Metalink (.meta4) of the selected products (aria2c --metalink-file=...)",
        description="Select products like take5 search and write a Metalink 4 file listing every file "
        "of them with its size, SHA-256 and URL. URLs: the public URL of the bucket "
        "(TAKE5_PUBLIC_URL or --base-url; default the endpoint + bucket), or with --presign "
        "presigned URLs valid SECONDS, for a private bucket.",
    )
    add_query_arguments(p)
    p.add_argument("--out", type=Path, help="the .meta4 file to write (default: standard output)")
    urls = p.add_mutually_exclusive_group()
    urls.add_argument("--base-url", help="public base URL of the distribution bucket")
    urls.add_argument("--presign", type=int, metavar="SECONDS", help="presigned URLs valid SECONDS (S3 only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.distribution.access import (
        presigned_urls,
        public_base_url,
        public_urls,
    )
    from take5_ops.distribution.metalink import build_metalink
    from take5_ops.distribution.search import search
    from take5_ops.storage import S3Store

    dist = dist_store(args)
    found = search(dist, query_from_args(args))
    if not found:
        print("take5 cart: no product matches; nothing written", file=sys.stderr)
        return 1
    if args.presign is not None:
        if not isinstance(dist, S3Store):
            raise ValueError("--presign needs an S3 bucket (not --dist)")
        url_for = presigned_urls(dist, args.presign)
    else:
        url_for = public_urls(args.base_url or public_base_url(dist))
    data = build_metalink({f.key: f.item for f in found}, url_for)
    if args.out is None:
        sys.stdout.buffer.write(data)
    else:
        args.out.write_bytes(data)
    size = sum(a.get("file:size", 0) for f in found for a in f.item["assets"].values())
    print(f"{len(found)} product(s), {size / 1e6:.1f} MB -> {args.out or 'standard output'}", file=sys.stderr)
    return 0
