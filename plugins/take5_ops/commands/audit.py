"""``take5 audit``: reconcile the chain's state site by site; ``--repair`` applies the safe fixes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from take5_ops.storage.buckets import ENDPOINT_ENV, ROLES, STAC_API_ENV, bucket_name, endpoint, stac_api_db


def register(sub) -> None:
    p = sub.add_parser(
        "audit",
        help="check that deliveries, ledger, products, Items, files, collection, Metalinks and pages agree",
        description="Reconcile, per site, deliveries, ledger, quarantine, work products, L2A status, SLA "
        "records, Items and their files (size and SHA-256), collection links, Metalinks and pages. Prints "
        "every inconsistency with what it means and the safe fix; exits 1 when one is left. --repair "
        "applies the safe fixes (idempotent; nothing is deleted that cannot be rebuilt). The result is "
        "kept in the work bucket for the dashboard.",
    )
    p.add_argument("--repair", action="store_true", help="apply the safe fixes, then audit again")
    add_chain_arguments(p, "audit")
    p.set_defaults(func=run)


def add_chain_arguments(p: argparse.ArgumentParser, verb: str) -> None:
    """The sites (``--configs``, ``--site-config``, ``--site``) and the four buckets (S3, or the local
    folders of ``take5 run-site``), as ``take5 audit`` and ``take5 reprocess-versions`` take them."""
    p.add_argument("--site", action="append", metavar="SITE_ID", help=f"{verb} this site only (repeatable)")
    p.add_argument("--configs", type=Path, default=Path(os.environ.get("TAKE5_SITE_CONFIGS", "include/site_configs")),
                   help="folder of the site configurations (default: $TAKE5_SITE_CONFIGS, else include/site_configs)")
    p.add_argument("--site-config", type=Path, action="append", help="a site's YAML instead of --configs (repeatable)")
    p.add_argument("--endpoint", default=endpoint(), help=f"S3 endpoint URL (default: ${ENDPOINT_ENV}, else AWS)")
    p.add_argument("--stac-api-db", default=stac_api_db(),
                   help=f"PostgreSQL URL of the STAC API's database, also audited (default: ${STAC_API_ENV}; none: "
                   "the static catalog only)")
    for role in ROLES:
        p.add_argument(f"--{role}-bucket", default=bucket_name(role), help=f"default: $TAKE5_{role.upper()}_BUCKET")
    local = p.add_argument_group("local folders, as take5 run-site uses (instead of S3)")
    local.add_argument("--l1a", type=Path, help="deliveries: <SITE_ID>/<PRODUCT_ID>/...")
    local.add_argument("--aux", type=Path, help="auxiliary data (DEMs), as for run-site")
    local.add_argument("--out", type=Path, help="distribution tree (catalog.json, ...)")
    local.add_argument("--work", type=Path, help="work folder (default: <OUT>.work)")


def chain_buckets(args: argparse.Namespace):
    from take5_ops.commands.run_site import work_folder
    from take5_ops.storage import Buckets, S3Store

    if args.l1a or args.out:
        if not (args.l1a and args.out):
            raise ValueError("--l1a and --out go together (local folders)")
        for folder in (args.l1a, args.out):
            if not folder.is_dir():
                raise ValueError(f"{folder}: no such folder")
        work = work_folder(args.out, args.work)
        buckets = Buckets.local(args.l1a, args.aux or args.l1a, work, args.out)
        buckets.api = args.stac_api_db
        return buckets
    client = S3Store.from_endpoint(args.l1a_bucket, args.endpoint).client
    return Buckets(**{role: S3Store(client, getattr(args, f"{role}_bucket")) for role in ROLES}, api=args.stac_api_db)


def chosen_sites(args: argparse.Namespace):
    from take5_ops.siteconfig import load_site_config, load_site_configs

    if args.site_config:
        sites = {s.site_id: s for s in map(load_site_config, args.site_config)}
    else:
        sites, errors = load_site_configs(args.configs)
        for path, message in errors.items():
            print(f"skipped {path}: {message}")
    missing = sorted(set(args.site or ()) - set(sites))
    if missing:
        raise ValueError(f"no configuration for {', '.join(missing)}")
    return [sites[s] for s in sorted(args.site or sites)]


def run(args: argparse.Namespace) -> int:
    from take5_ops.audit import run_audit

    report = run_audit(chain_buckets(args), chosen_sites(args), repair=args.repair)
    for line in report.repaired:
        print(f"repaired: {line}")
    for finding in report.findings:
        print(finding.line())
    for site_id, error in report.errors.items():
        print(f"{site_id}: not audited: {error}")
    for site_id, product_ids in report.pending.items():
        print(f"{site_id}: {len(product_ids)} delivery(ies) pending (the next run processes them): "
              + ", ".join(product_ids))
    print(f"audit: {len(report.findings)} inconsistency(ies), {len(report.errors)} site(s) not audited"
          + (f", {len(report.repaired)} repair(s)" if args.repair else ""))
    return 0 if report.clean else 1
