"""``take5 reprocess-versions``: bring sites' products to the current processor versions, as the
``take5_reprocess`` DAG does (plan, L1C, L2A, then the new versions linked and the old withdrawn)."""

from __future__ import annotations

import argparse
from datetime import date

from take5_ops.commands.audit import add_chain_arguments, chain_buckets, chosen_sites


def register(sub) -> None:
    p = sub.add_parser(
        "reprocess-versions",
        help="reprocess products to the current processor versions (after a version bump), site by site",
        description="For each site: the L1C products not at the current L1C version are processed and "
        "published again, the L2A series is replayed where its products are older (or its inputs changed), "
        "then the new versions are linked and the old ones withdrawn. Resumable: a rerun does what is left. "
        "Under Airflow: the take5_reprocess DAG.",
    )
    p.add_argument("--levels", nargs="+", choices=("L1C", "L2A"), default=["L1C", "L2A"],
                   help="levels whose processor version changed (default: both)")
    p.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="only products acquired on or after this date")
    p.add_argument("--reason", required=True, help="why (logged)")
    add_chain_arguments(p, "reprocess")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.naming import processor_version
    from take5_ops.reprocess import finish_site, plan_site, reprocess_l1c, reprocess_l2a

    buckets, failures = chain_buckets(args), 0
    versions = ", ".join(f"{level} {processor_version(level)}" for level in args.levels)
    print(f"reprocessing to {versions}: {args.reason}")
    for site in chosen_sites(args):
        plan = plan_site(buckets, site, args.levels, args.since)
        l1c = reprocess_l1c(buckets, site, plan)
        l2a = reprocess_l2a(buckets, site, plan)
        summary = finish_site(buckets, site)
        for what, reason in {**l1c["failed"], **l2a["failed"]}.items():
            print(f"{site.site_id}: failed: {what}: {reason}")
        failures += len(l1c["failed"]) + len(l2a["failed"])
        print(f"{site.site_id}: L1C {len(plan['l1c'])} planned, {len(l1c['published'])} published "
              f"({l1c['already']} already by an interrupted run); L2A "
              + (f"replayed from {plan['l2a_from']}" if plan["l2a_from"] else "brought up to date")
              + f", {l2a['processed']} date(s) processed, {len(l2a['published'])} published; "
              f"{len(summary['withdrawn_versions'])} old version(s) withdrawn")
        for name in summary["withdrawn_versions"]:
            print(f"    withdrawn: {name}")
    return 1 if failures else 0
