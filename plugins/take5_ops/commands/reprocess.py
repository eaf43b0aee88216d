"""``take5 reprocess``: make deliveries pending again, so that the next run processes them anew."""

from __future__ import annotations

import argparse
from datetime import date

from take5_ops.commands.buckets import add_bucket_arguments, bucket_from_args


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
    add_bucket_arguments(p, "work", local="work")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.reprocess import forget, forget_l2a

    if args.since and not args.l2a:
        raise ValueError("--from goes with --l2a")
    work = bucket_from_args(args, local="work")
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
