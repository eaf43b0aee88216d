"""``take5 withdraw``: take a published product off the distribution bucket (listings first, then files)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from take5_ops.storage.buckets import ENDPOINT_ENV, STAC_API_ENV, bucket_name, endpoint, stac_api_db


def register(sub) -> None:
    p = sub.add_parser(
        "withdraw",
        help="withdraw a published product: out of the collection, Metalinks and pages, then its files",
        description="Record the withdrawal in the work bucket (no later run publishes the product again), "
        "remove the product from its site's collection, Metalinks, catalog and web pages, then delete its "
        "Item and files. Safe to rerun: a rerun completes an interrupted withdrawal.",
    )
    p.add_argument("--site", required=True, help="SITE_ID")
    p.add_argument("--product", required=True, action="append", metavar="NAME",
                   help="product name (MUSCATE, e.g. SPOT5-HRG2-XS_..._L1C_<SITE>_D_V1-0); repeatable")
    p.add_argument("--site-config", type=Path, help="the site's YAML (default: <configs>/<SITE>.yaml)")
    p.add_argument("--configs", type=Path, default=Path(os.environ.get("TAKE5_SITE_CONFIGS", "include/site_configs")),
                   help="folder of the site configurations")
    p.add_argument("--endpoint", default=endpoint(), help=f"S3 endpoint URL (default: ${ENDPOINT_ENV}, else AWS)")
    p.add_argument("--work-bucket", default=bucket_name("work"), help="work bucket (default: $TAKE5_WORK_BUCKET)")
    p.add_argument("--dist-bucket", default=bucket_name("dist"), help="distribution bucket (default: $TAKE5_DIST_BUCKET)")
    p.add_argument("--stac-api-db", default=stac_api_db(),
                   help=f"PostgreSQL URL of the STAC API's database (default: ${STAC_API_ENV}; none: static only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.distribution.access import public_base_url, public_urls
    from take5_ops.distribution.publish import withdraw_product
    from take5_ops.distribution.stacapi import index_for
    from take5_ops.naming import parse_product_name
    from take5_ops.siteconfig import load_site_config
    from take5_ops.storage import S3Store

    site = load_site_config(args.site_config or args.configs / f"{args.site}.yaml")
    if site.site_id != args.site:
        raise ValueError(f"{args.site_config}: field site_id is {site.site_id}, not {args.site}")
    for name in args.product:
        if parse_product_name(name)[0].site_id != args.site:
            raise ValueError(f"--product {name}: not a product of site {args.site}")
    work = S3Store.from_endpoint(args.work_bucket, args.endpoint)
    dist = S3Store(work.client, args.dist_bucket)
    url_for = public_urls(public_base_url(dist))
    for name in args.product:
        done = withdraw_product(work, dist, site, name, url_for, index_for(args.stac_api_db))
        state = "unlinked and removed" if done["unlinked"] else "was not listed; leftovers removed"
        print(f"withdrawn: {name} ({state}, {len(done['removed'])} object(s) deleted)")
    return 0
