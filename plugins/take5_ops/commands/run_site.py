"""``take5 run-site``: the chain of one site on local folders, without Airflow or S3."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "run-site",
        help="run intake, L1C and publication for one site on local folders",
        description="Run the whole chain of one site (the same library functions as the Airflow "
        "tasks) on local folders laid out like the buckets. OUT comes out laid out like the "
        "distribution bucket, starting at catalog.json.",
    )
    p.add_argument("--site-config", type=Path, required=True, help="the site's YAML configuration")
    p.add_argument("--l1a", type=Path, required=True, help="deliveries: <SITE_ID>/<PRODUCT_ID>/...")
    p.add_argument("--aux", type=Path, required=True, help="auxiliary data: <SITE_ID>/DEM.tif")
    p.add_argument("--out", type=Path, required=True, help="distribution tree (catalog.json, ...)")
    p.add_argument("--work", type=Path, default=None,
                   help="work folder: ledger, quarantine, products (default: <OUT>.work, beside OUT)")
    p.set_defaults(func=run)


def work_folder(out: Path, work: Path | None) -> Path:
    """The work folder: ``--work`` or ``<out>.work``; never inside ``out`` (nor ``out`` inside it)."""
    out = out.resolve()
    work = (work or out.with_name(out.name + ".work")).resolve()
    if work == out or out in work.parents or work in out.parents:
        raise ValueError(f"--work {work} must not be, contain or be inside --out {out}")
    return work


def run(args: argparse.Namespace) -> int:
    from take5_ops.pipeline import run_site
    from take5_ops.progress import Progress
    from take5_ops.siteconfig import load_site_config
    from take5_ops.storage import Buckets

    site = load_site_config(args.site_config)
    for option in ("l1a", "aux"):
        if not getattr(args, option).is_dir():
            raise ValueError(f"--{option} {getattr(args, option)}: no such folder")
    work = work_folder(args.out, args.work)
    buckets = Buckets.local(args.l1a, args.aux, work, args.out)
    summary = run_site(site, buckets, progress=Progress)
    print(json.dumps(summary, indent=2, sort_keys=True))
    print(f"{site.site_id}: {summary['accepted']} accepted, {summary['published']} published, "
          f"{len(summary['failed'])} failed; catalog at {args.out.resolve() / 'catalog.json'}")
    return 1 if summary["failed"] else 0
