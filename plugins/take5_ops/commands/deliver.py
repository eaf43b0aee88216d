"""``take5 deliver``: upload simulated (or any local) deliveries to the delivery bucket."""

from __future__ import annotations

import argparse
from pathlib import Path

from take5_ops.commands.buckets import add_bucket_arguments, bucket_from_args


def register(sub) -> None:
    p = sub.add_parser(
        "deliver",
        help="upload local delivery folders to the L1A bucket (DELIVERY.OK last)",
        description="Upload every <SITE_ID>/<PRODUCT_ID>/ folder below ROOT that holds a "
        "DELIVERY.OK to the delivery bucket, files first and DELIVERY.OK last.",
    )
    p.add_argument("root", type=Path, help="folder laid out like the delivery bucket")
    add_bucket_arguments(p, "l1a")
    p.add_argument("--product", action="append", default=[],
                   help="only this PRODUCT_ID (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.l1a.upload import delivery_folders, upload_delivery
    from take5_ops.progress import Progress

    store = bucket_from_args(args)
    folders = [f for f in delivery_folders(args.root) if not args.product or f.name in args.product]
    with Progress(len(folders), "deliver") as bar:
        for folder in folders:
            upload_delivery(folder, store)
            bar.advance(folder.name)
    print(f"{len(folders)} deliveries uploaded to s3://{args.bucket}")
    return 0
