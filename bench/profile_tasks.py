#!/usr/bin/env python3
"""Profile: what one site's tasks cost at the campaign benchmark's scene size, against a moto S3 server.

Simulates ``--weeks`` of one site (its own configuration, ``--size`` px scenes), starts a moto server
(real HTTP), delivers the scenes, then runs each task's library call in order, in this process, as a
task of the site DAG does: ``validate_deliveries`` (``pipeline.intake``), per delivery ``l1c``,
``publish`` and ``l1a``, then ``update_catalog`` and ``sla_check``. For each it prints the wall time,
the S3 requests by operation, the requests repeated on the same key, and the top of its cProfile
(``--top``). ``--imports`` adds the time a fresh interpreter takes to import what each task imports
(every task runs in a fresh process on a Celery worker). ``--other-sites N`` then gives the distribution
bucket the collections of N more sites (copies of this one's) and profiles ``update_catalog`` twice (the
sites just added, then the steady state: nothing new) and ``sla_check`` again, as in a campaign of N + 1 sites.
``--digest`` prints a SHA-256 over the distribution bucket, to compare the published bytes of two versions
of the code on the same deliveries (``--sim DIR``: simulated once, then reused).

``python bench/profile_tasks.py [--site FrancePornic] [--size 300] [--weeks 2] [--top 12] [--other-sites 149]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_publish import _moto  # noqa: E402

IMPORTS = {  # what each task callable imports (take5_ops.airflow.tasks, .sla)
    "validate_deliveries": "take5_ops.pipeline",
    "l1c": "take5_ops.pipeline, take5_ops.l1c.processor",
    "sla_check": "take5_ops.sla, take5_ops.airflow.mailer",
}


class S3Calls:
    """Counts the S3 requests of one boto3 client, by operation and by (operation, bucket, key)."""

    def __init__(self, client):
        self.ops: Counter = Counter()
        self.keys: Counter = Counter()
        client.meta.events.register("before-parameter-build.s3", self._count)

    def _count(self, params, model, **_kwargs):
        self.ops[model.name] += 1
        self.keys[(model.name, params.get("Bucket"), params.get("Key") or params.get("Prefix"))] += 1

    def take(self) -> tuple[Counter, list]:
        ops, repeated = self.ops, [(k, n) for k, n in self.keys.most_common() if n > 1]
        self.ops, self.keys = Counter(), Counter()
        return ops, repeated


def profiled(label: str, calls: S3Calls, top: int, fn, *args):
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    result = prof.runcall(fn, *args)
    wall = time.perf_counter() - t0
    ops, repeated = calls.take()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return result, {"task": label, "wall": wall, "requests": sum(ops.values()), "ops": dict(ops.most_common()),
                    "repeated": repeated[:8], "profile": out.getvalue()}


def campaign_sites(dist, site_id: str, count: int) -> list[str]:
    """Give ``count`` other sites (the first site configurations) a copy of ``site_id``'s collection."""
    import json

    from take5_ops.storage import layout

    doc = json.loads(dist.get_bytes(layout.collection_key(site_id)))
    others = [p.stem for p in sorted((ROOT / "include" / "site_configs").glob("*.yaml")) if p.stem != site_id][:count]
    for other in others:
        dist.put_bytes(layout.collection_key(other), json.dumps(dict(doc, id=other)).encode(), "application/json")
    return others


def import_seconds(modules: str) -> float:
    code = f"import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", default="FrancePornic")
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=2)
    parser.add_argument("--top", type=int, default=12, help="lines of cProfile per task (0: none)")
    parser.add_argument("--imports", action="store_true")
    parser.add_argument("--other-sites", type=int, default=0)
    parser.add_argument("--digest", action="store_true")
    parser.add_argument("--sim", type=Path, help="keep the simulated deliveries here, or take them from here")
    parser.add_argument("--end", type=date.fromisoformat, default=date.today() - timedelta(days=1),
                        help="last day simulated (give the same one to compare digests across days)")
    args = parser.parse_args()
    for key, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                       ("AWS_DEFAULT_REGION", "us-east-1"),
                       ("TAKE5_PUBLIC_URL", "https://take5.example.org/")):  # not the moto server's random port
        os.environ.setdefault(key, value)
    from take5_ops import pipeline
    from take5_ops.l1a.upload import delivery_folders, upload_delivery
    from take5_ops.siteconfig import load_site_config
    from take5_ops.sla import check_site
    from take5_ops.sla.sending import Mailer
    from take5_ops.storage import Buckets, LocalStore, S3Store, copy_tree
    from take5_ops.storage.buckets import ROLES

    site = load_site_config(ROOT / "include" / "site_configs" / f"{args.site}.yaml")
    home = Path(tempfile.mkdtemp(prefix="take5-profile-"))
    end = args.end
    if args.sim and (args.sim / "sim").is_dir():  # the same deliveries as a previous run
        shutil.copytree(args.sim / "sim", home / "sim")
    else:
        subprocess.run([str(Path(sys.executable).parent / "take5"), "simulate", "--out", str(home / "sim"), "--start",
                        str(end - timedelta(weeks=args.weeks)), "--end", str(end), "--size", str(args.size),
                        "--no-truth", "--site-config", str(ROOT / "include" / "site_configs" / f"{args.site}.yaml")],
                       check=True, stdout=subprocess.DEVNULL)
        if args.sim:
            shutil.copytree(home / "sim", args.sim / "sim")
    proc, endpoint = _moto()
    rows = []
    try:
        client = S3Store.from_endpoint("take5-l1a", endpoint).client
        buckets = Buckets(**{role: S3Store(client, f"take5-{role}") for role in ROLES}, api=None)
        for role in ROLES:
            client.create_bucket(Bucket=f"take5-{role}")
        copy_tree(LocalStore(home / "sim" / "aux"), buckets.aux)
        for folder in delivery_folders(home / "sim" / "l1a"):
            upload_delivery(folder, buckets.l1a)
        calls = S3Calls(client)
        calls.take()
        accepted, row = profiled("validate_deliveries", calls, args.top, pipeline.intake, buckets, site)
        rows.append(row)
        published = []
        for acc in accepted:
            made, row = profiled("l1c", calls, args.top, pipeline.run_l1c, buckets, site, acc)
            rows.append(row)
            done, row = profiled("publish", calls, args.top, pipeline.publish, buckets, site, made)
            rows.append(row)
            published.append(done)
            done, row = profiled("l1a", calls, args.top, pipeline.publish_l1a, buckets, site, acc)
            rows.append(row)
            published.append(done)
        _, row = profiled("update_catalog", calls, args.top, pipeline.update_catalog, buckets, site, published,
                          accepted)
        rows.append(row)
        mailer = Mailer(send=lambda message: None)
        _, row = profiled("sla_check", calls, args.top, check_site, site, buckets, datetime.now(UTC), mailer)
        rows.append(row)
        if args.digest:
            import hashlib

            digest = hashlib.sha256()
            for info in sorted(buckets.dist.list(), key=lambda i: i.key):
                data = buckets.dist.get_bytes(info.key)
                digest.update(info.key.encode() + b"\0" + data)
                print(f"  {hashlib.sha256(data).hexdigest()[:16]} {info.key}")
            print(f"distribution bucket: {sum(1 for _ in buckets.dist.list())} objects, SHA-256 {digest.hexdigest()}")
        if args.other_sites:
            others = campaign_sites(buckets.dist, site.site_id, args.other_sites)
            calls.take()
            for when in ("sites added", "again"):
                _, row = profiled(f"update_catalog ({len(others) + 1} sites, {when})", calls, args.top,
                                  pipeline.update_catalog, buckets, site, published, accepted)
                rows.append(row)
            _, row = profiled(f"sla_check ({len(others) + 1} sites)", calls, args.top, check_site, site, buckets,
                              datetime.now(UTC), mailer)
            rows.append(row)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
    for row in rows:
        print(f"\n=== {row['task']}: {row['wall']:.2f} s, {row['requests']} S3 requests {row['ops']}")
        for (op, bucket, key), n in row["repeated"]:
            print(f"    repeated x{n}: {op} {bucket}/{key}")
        if args.top:
            print(row["profile"])
    print(f"\n{args.site}, {len(accepted)} deliveries of {args.size} px, grid {site.grid.width} x {site.grid.height}:")
    print("| task | runs | wall median (s) | S3 requests median |")
    print("|---|---:|---:|---:|")
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        print(f"| {task} | {len(mine)} | {statistics.median(r['wall'] for r in mine):.2f} | "
              f"{statistics.median(r['requests'] for r in mine):.0f} |")
    if args.imports:
        for task, modules in IMPORTS.items():
            print(f"import for {task} ({modules}): {import_seconds(modules):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
