"""``take5 search``: find published products by site, level, dates, cloud cover and bbox."""

from __future__ import annotations

import argparse
import json

from take5_ops.commands.buckets import add_bucket_arguments, bucket_from_args
from take5_ops.naming import LEVELS


def add_query_arguments(p: argparse.ArgumentParser) -> None:
    """The selection and distribution-bucket options shared by ``take5 search`` and ``take5 cart``."""
    p.add_argument("text", nargs="*", metavar="WORD",
                   help='free text, as in the website\'s search box: site or place names, a country, a level, '
                   'a year, month, day or range, cloud<N (e.g. "Pornic L2A 2015-05"; docs/distribution.md)')
    p.add_argument("--site", help="SITE_ID")
    p.add_argument("--level", choices=LEVELS, help="product level")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first acquisition day (UTC, inclusive)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last acquisition day (UTC, inclusive)")
    p.add_argument("--max-cloud", type=float, metavar="PERCENT",
                   help="maximum cloud cover (L2A's; an L1C takes its L2A's; unknown = excluded)")
    p.add_argument("--bbox", metavar="W,S,E,N", help="lon/lat box the product footprint must intersect (write --bbox=W,... when W < 0)")
    add_bucket_arguments(p, "dist", local="dist")


def query_from_args(args: argparse.Namespace):
    """The :class:`~take5_ops.distribution.search.Query` of the parsed options."""
    from take5_ops.distribution.search import parse_bbox, parse_day, text_query

    return text_query(" ".join(args.text or ()), site=args.site, level=args.level,
                      start=parse_day(args.start) if args.start else None,
                      end=parse_day(args.end, end=True) if args.end else None,
                      max_cloud=args.max_cloud, bbox=parse_bbox(args.bbox) if args.bbox else None)


def dist_store(args: argparse.Namespace):
    """The distribution store the options name: ``--dist`` folder (``take5 run-site --out``) or the S3 bucket."""
    return bucket_from_args(args, local="dist")


def register(sub) -> None:
    p = sub.add_parser(
        "search",
        help="find published products (free text, site, level, dates, cloud cover, bbox)",
        description="Walk the published STAC catalog and list the products that match every filter given "
        "(the free text and the options together).",
    )
    add_query_arguments(p)
    p.add_argument("--json", action="store_true", help="print the matching STAC Items as a JSON list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.distribution.search import search

    found = search(dist_store(args), query_from_args(args))
    if args.json:
        print(json.dumps([f.item for f in found], indent=1, sort_keys=True))
        return 0
    for f in found:
        props = f.item["properties"]
        cloud = "-" if f.cloud_cover is None else f"{f.cloud_cover:.1f}"
        print(f"{f.name}  {props['datetime']}  {props.get('take5:level', '?')}  cloud {cloud:>5}  {f.key}")
    print(f"{len(found)} product(s)")
    return 0
