"""``take5 reprocess``: make deliveries pending again, so that the next run processes them anew."""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "reprocess",
        help="make a site's deliveries pending again, or replay its L2A series (after a processor fix)",
        description="Forget the chosen deliveries of a site (ledger entry and processed products in the "
        "work bucket): the next DAG run (or take5 run-site) processes and republishes them.",
    )
    p.add_argument("--site", required=True, help="SITE_ID")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--product", action="append", help="PRODUCT_ID of the L1A (repeatable)")
    which.add_argument("--all", action="store_true", help="every delivery of the site")
    which.add_argument("--l2a", action="store_true",
                       help="only the L2A series: replay it (from --from, else from its start) at the next run")
    p.add_argument("--from", dest="since", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="with --l2a: replay from this acquisition date on")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--work", type=Path, help="local work folder (as take5 run-site uses)")
    where.add_argument("--endpoint", default=os.environ.get("TAKE5_S3_ENDPOINT"), help="S3 endpoint URL")
    p.add_argument("--bucket", default=os.environ.get("TAKE5_WORK_BUCKET", "take5-work"), help="work bucket")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.reprocess import forget, forget_l2a
    from take5_ops.storage import LocalStore, S3Store

    if args.since and not args.l2a:
        raise ValueError("--from goes with --l2a")
    work = LocalStore(args.work) if args.work else S3Store.from_endpoint(args.bucket, args.endpoint)
    if args.l2a:
        n = forget_l2a(work, args.site, args.since)
        print(f"{n} L2A step(s) of {args.site} forgotten: the next run replays the series"
              + (f" from {args.since}" if args.since else ""))
        return 0
    done = forget(work, args.site, None if args.all else args.product)
    for product_id in done:
        print(f"pending again: {product_id}")
    print(f"{len(done)} deliveries of {args.site} will be processed by the next run")
    return 0
