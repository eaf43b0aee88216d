"""``take5 api-sync``: bring the STAC API's copy in line with the distribution bucket, site by site."""

from __future__ import annotations

import argparse

from take5_ops.commands.buckets import add_bucket_arguments, bucket_from_args
from take5_ops.storage.buckets import STAC_API_ENV, stac_api_db


def register(sub) -> None:
    p = sub.add_parser(
        "api-sync",
        help="resync the STAC API from the distribution bucket (the source of truth), with progress",
        description="For every site of the distribution bucket (and every collection of the API): upsert the "
        "collection and the Items that are missing or differ, delete by id the Items the bucket no longer has. "
        "Idempotent: a second run finds nothing to do. --check only reports.",
    )
    p.add_argument("--site", action="append", metavar="SITE_ID", help="this site only (repeatable)")
    p.add_argument("--check", action="store_true", help="report the differences, change nothing (exit 1 if any)")
    p.add_argument("--stac-api-db", default=stac_api_db(),
                   help=f"PostgreSQL URL of the STAC API's database (default: ${STAC_API_ENV})")
    add_bucket_arguments(p, "dist", local="dist")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.distribution.stacapi import StacApiIndex, diff_site, ensure_queryables, sites_to_sync, sync_site
    from take5_ops.progress import Progress

    if not args.stac_api_db:
        raise ValueError(f"no STAC API configured: set {STAC_API_ENV} or pass --stac-api-db")
    api = StacApiIndex(args.stac_api_db)
    dist = bucket_from_args(args, local="dist")
    sites = sorted(set(args.site)) if args.site else sites_to_sync(api, dist)
    if not args.check:
        ensure_queryables(api)
    counts = {"missing": 0, "different": 0, "extra": 0, "collections": 0}
    with Progress(len(sites), "api-sync") as bar:
        for site_id in sites:
            diff = diff_site(api, dist, site_id)[0] if args.check else sync_site(api, dist, site_id)
            for kind in ("missing", "different", "extra"):
                counts[kind] += len(getattr(diff, kind))
            counts["collections"] += diff.collection
            if not diff.clean:
                print(f"{site_id}: {len(diff.missing)} missing, {len(diff.different)} different, "
                      f"{len(diff.extra)} extra" + (", collection differs" if diff.collection else ""))
            bar.advance(site_id)
    verb = "found" if args.check else "fixed"
    print(f"api-sync: {len(sites)} site(s); {verb} {counts['missing']} missing, {counts['different']} different, "
          f"{counts['extra']} extra Item(s), {counts['collections']} collection(s)")
    return 1 if args.check and any(counts.values()) else 0
