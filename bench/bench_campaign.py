#!/usr/bin/env python3
"""Benchmark: a campaign on the cluster profile (``make bench-campaign`` -> BENCHMARKS.md).

Starts the cluster (``scripts/cluster.py``: PostgreSQL, Redis, CeleryExecutor, two worker hosts in
network namespaces) in a private folder on its own ports, with ``--sites`` site DAGs unpaused (the
first N site configurations; 150 is the whole campaign), simulates the acquisitions of the last
``--weeks`` whole ISO weeks (to last Sunday), then for each weekly cycle:
delivers every site's acquisitions of that week as the producer does (a batch, ``DELIVERY.OK`` last),
triggers every site's DAG (a site without a delivery that week waits ``--idle-timeout`` seconds and
is skipped) and waits until every run has ended. Then the SLA monitor judges every site.

Checks (the benchmark fails if one does not hold): every delivered product published, zero failed
task instances, ``catalog.json`` links one collection per site, the dashboard's totals equal what the
buckets hold, the SLA monitor judged every site.
Reports: wall time, task instances, task instances per hour, where the time of a task goes
(queued -> running, process start, DAG building, the task's own work), the scheduler's and the
triggerer's CPU time. ``--full-size-sites K`` adds one full-size week for K sites: its wall time
against the sum of the tasks' own work divided by the cores.

Scheduled runs are off (``[scheduler] use_job_schedule=False``): each weekly cycle is triggered,
so that a cycle takes minutes instead of a week.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_task_overhead import log_events, summary, ts  # noqa: E402
from report import write_section  # noqa: E402

from helpers.cluster import Cluster, xcom  # noqa: E402
from stack import weekly_batches  # noqa: E402

TITLE = "## Campaign on the cluster"
SITE_TASKS = "/api/v2/dags/~/dagRuns/~/taskInstances"
ENDED = ["success", "failed", "skipped", "upstream_failed"]


def report(msg: str) -> None:
    print(f"[bench-campaign] {msg}", flush=True)


def simulate(configs: list[Path], out: Path, start: date, end: date, size: int) -> list[Path]:
    cmd = [str(Path(sys.executable).parent / "take5"), "simulate", "--out", str(out), "--start", str(start),
           "--end", str(end), "--size", str(size), "--no-truth"]
    for config in configs:
        cmd += ["--site-config", str(config)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    from take5_ops.l1a.upload import delivery_folders

    return delivery_folders(out / "l1a")


def cpu_seconds(pid: int) -> float:
    import psutil

    p = psutil.Process(pid)
    t = p.cpu_times()
    return t.user + t.system + t.children_user + t.children_system + sum(
        c.cpu_times().user + c.cpu_times().system for c in p.children(recursive=True))


def progress_line(label: str, runs: int, active: int, tasks_done: int, elapsed: float) -> str:
    """``cycle 1/2: 37/150 runs ended, 412 task instances done in 5.2 min, ~16 min left``: the time left
    extrapolated from the runs ended so far (none yet: unknown)."""
    ended = runs - active
    left = f"~{elapsed / ended * active / 60:.0f} min left" if ended else "time left unknown yet"
    return f"{label}: {ended}/{runs} runs ended, {tasks_done} task instances done in {elapsed / 60:.1f} min, {left}"


def run_cycle(c: Cluster, sites: list[str], batch: list[Path], idle_timeout: int, timeout: float,
              label: str = "cycle", every: float = 60) -> list[str]:
    """Deliver a batch, trigger every site, wait for every run's end (a progress line every ``every`` s);
    return the run ids."""
    from take5_ops.l1a.upload import upload_delivery

    stores = c.stores()
    for folder in batch:
        upload_delivery(folder, stores["l1a"])
    runs = [(site, c.api.trigger(f"take5_{site}", {"poll_seconds": 10, "timeout_seconds": idle_timeout}))
            for site in sites]
    t0 = time.monotonic()
    done0 = c.api.count(SITE_TASKS, state=ENDED)
    shown = t0
    while time.monotonic() - t0 < timeout:
        active = c.api.count("/api/v2/dags/~/dagRuns", state=["queued", "running"])
        if active == 0:
            return [run_id for _, run_id in runs]
        if time.monotonic() - shown >= every:
            shown = time.monotonic()
            report(progress_line(label, len(runs), active, c.api.count(SITE_TASKS, state=ENDED) - done0, shown - t0))
        time.sleep(15)
    raise RuntimeError(f"the cycle did not end within {timeout:.0f} s")


def wait_dags(c: Cluster, count: int, timeout: float = 900) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = [d for d in c.api.dag_ids("take5_") if d not in ("take5_sla_monitor", "take5_audit")]
        if len(ids) >= count:
            return ids
        time.sleep(5)
    raise RuntimeError("the site DAGs were not parsed in time")


def work_times(c: Cluster, tis: list[dict], logs: int | None = None) -> dict[str, list[float]]:
    """Per task: queued -> running (every task instance), then from the logs of ``logs`` of them drawn at
    random (all if None: a log costs a request to the API server, ~0.1-0.4 s) process start, DAG building,
    the task's own work (end of Pre Execute -> end)."""
    values: dict[str, list[float]] = {k: [] for k in ("queued", "process", "built", "work")}
    done = [ti for ti in tis if ti["state"] == "success" and ti["queued_when"] and ti["start_date"]
            and ti["end_date"] and ti["task_id"] != "wait_for_delivery"]  # deferred: start_date is its resumption's
    values["queued"] = [ts(ti["start_date"]) - ts(ti["queued_when"]) for ti in done]
    if logs is not None and logs < len(done):
        done = random.Random(0).sample(done, logs)
    for ti in done:
        started = ts(ti["start_date"])
        events = log_events(c.api, ti)
        stamps = [ts(e["timestamp"]) for e in events if e.get("timestamp")]
        if stamps:
            values["process"].append(stamps[0] - started)
        for e in events:
            event = str(e.get("event", ""))
            if event.startswith("built ") and " site DAG(s) in " in event:
                values["built"].append(float(event.split(" in ")[1].split(" s")[0]))
            elif event == "::endgroup::" and e.get("timestamp"):
                values["work"].append(ts(ti["end_date"]) - ts(e["timestamp"]))
                break
    return values


def campaign(args, home: Path) -> dict:
    configs_all = sorted((ROOT / "include" / "site_configs").glob("*.yaml"))[: args.sites]
    configs = home / "configs"
    configs.mkdir()
    for path in configs_all:
        shutil.copy(path, configs)
    sites = [p.stem for p in configs_all]
    end = date.today() - timedelta(days=date.today().weekday() + 1)  # last Sunday: whole ISO weeks
    t0 = time.monotonic()
    folders = simulate(configs_all, home / "sim", end - timedelta(weeks=args.weeks, days=-1), end, args.size)
    batches = weekly_batches(folders)
    report(f"simulated {len(folders)} deliveries of {len(sites)} sites ({args.size} px) in "
           f"{time.monotonic() - t0:.0f} s: {len(batches)} weekly batches")
    (home / "cluster").mkdir()
    c = Cluster(home=home / "cluster", extra_env={
        "TAKE5_SITE_CONFIGS": str(configs), "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
    try:
        c.start()
        from take5_ops.storage import LocalStore, copy_tree

        copy_tree(LocalStore(home / "sim" / "aux"), c.stores()["aux"])
        dag_ids = wait_dags(c, len(sites))
        for dag_id in dag_ids:
            c.api.unpause(dag_id)
        pids = c.state()["components"]
        cpu0 = {k: cpu_seconds(pids[k]) for k in ("scheduler", "triggerer")}
        t0 = time.monotonic()
        run_ids = []
        for i, batch in enumerate(batches):
            t = time.monotonic()
            run_ids += run_cycle(c, sites, batch, args.idle_timeout, args.timeout, f"cycle {i + 1}/{len(batches)}")
            report(f"cycle {i + 1}/{len(batches)}: {len(batch)} deliveries, ended in {time.monotonic() - t:.0f} s")
        wall = time.monotonic() - t0
        pids = c.state()["components"]
        cpu = {k: cpu_seconds(pids[k]) - cpu0[k] for k in cpu0}
        tis = [ti for ti in c.api.task_instances() if ti["dag_id"] != "take5_sla_monitor"]
        failed = [ti for ti in tis if ti["state"] == "failed"]
        result = check_published(c, sites, folders)
        try:
            result["dashboard"] = check_dashboard(c)
        except Exception as exc:  # reported with the other checks: the measures are not lost
            result["dashboard"] = {"error": f"{type(exc).__name__}: {exc}"}
        monitor = c.api.trigger("take5_sla_monitor", {})
        c.api.unpause("take5_sla_monitor")
        while c.api.get(f"/api/v2/dags/take5_sla_monitor/dagRuns/{monitor}")["state"] not in ("success", "failed"):
            time.sleep(5)
        judged = xcom(c.api, "take5_sla_monitor", monitor, "check_sites")
        result.update(sites=len(sites), deliveries=len(folders), batches=len(batches), wall=wall, tis=len(tis),
                      failed=len(failed), cpu=cpu, judged=judged.get("sites"), judge_errors=len(judged.get("errors") or {}),
                      times=work_times(c, tis, args.log_sample or None), size=args.size)
        if args.full_size_sites:
            result["full"] = full_size_week(c, configs_all[: args.full_size_sites], home)
        return result
    finally:
        left = c.stop()
        if left:
            report(f"left behind: {left}")


def check_published(c: Cluster, sites: list[str], folders: list[Path]) -> dict:
    import json

    dist = c.stores()["dist"]
    items = [i.key for i in dist.list() if i.key.endswith(".json") and "_L1C_" in i.key and i.key.count("/") == 2]
    catalog = json.loads(dist.get_bytes("catalog.json"))
    children = [link for link in catalog["links"] if link["rel"] == "child"]
    return {"published_l1c": len(items), "collections": len(children)}


def check_dashboard(c: Cluster) -> dict:
    """The dashboard's totals (``/take5/api/overview`` on the cluster's API server) against what the
    buckets hold: products received (``DELIVERY.OK`` in the L1A bucket), L1C and L2A Items in the
    distribution bucket. Returns ``{"totals": ..., "buckets": ..., "site_errors": n}``."""
    overview = c.api.request("GET", "/take5/api/overview", timeout=600)
    stores = c.stores()
    received = sum(1 for i in stores["l1a"].list() if i.key.endswith("/DELIVERY.OK"))
    items = [i.key for i in stores["dist"].list() if i.key.endswith(".json") and i.key.count("/") == 2]
    l1c, l2a = (sum(f"_{level}_" in k for k in items) for level in ("L1C", "L2A"))
    want = {"received": received, "rejected": 0, "l1c": l1c, "l2a": l2a, "published": l1c + l2a}
    return {"totals": {k: overview["totals"][k] for k in want}, "buckets": want,
            "site_errors": sum(1 for row in overview["sites"] if row.get("error"))}


def full_size_week(c: Cluster, configs: list[Path], home: Path) -> dict:
    """One full-size delivery for each of ``configs``' sites: wall time against the tasks' own work / cores."""
    end = date.today() - timedelta(days=1)
    folders = simulate(configs, home / "full", end - timedelta(days=5), end, 6000)
    from take5_ops.storage import LocalStore, copy_tree

    copy_tree(LocalStore(home / "full" / "aux"), c.stores()["aux"])
    picked = {}
    for folder in folders:  # one product a site
        picked.setdefault(folder.parent.name, folder)
    t0 = time.monotonic()
    run_ids = run_cycle(c, [p.stem for p in configs], list(picked.values()), 60, 7200, "full-size week")
    wall = time.monotonic() - t0
    tis = [ti for ti in c.api.task_instances() if ti["dag_run_id"] in run_ids]
    work = work_times(c, tis)["work"]
    return {"sites": len(configs), "wall": wall, "work": sum(work), "cores": os.cpu_count() or 1,
            "ratio": wall / (sum(work) / (os.cpu_count() or 1))}


def dashboard_cell(board: dict) -> str:
    if "error" in board:
        return f"not read: {board['error']}"
    keys = ("received", "l1c", "l2a")
    return (f"{' / '.join(str(board['totals'][k]) for k in keys)} "
            f"(the buckets: {' / '.join(str(board['buckets'][k]) for k in keys)})")


def section(r: dict, args) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    t = r["times"]
    lines = [TITLE, "", f"Written by `make bench-campaign` on {when} ({os.cpu_count()} cores shared with other "
             f"developers' jobs; load average {os.getloadavg()[0]:.0f} at the end).", "",
             "| measure | value |", "|---|---|",
             f"| sites unpaused / weekly cycles | {r['sites']} / {r['batches']} ({r['size']} px scenes) |",
             f"| deliveries / L1C published | {r['deliveries']} / {r['published_l1c']} |",
             f"| collections linked by `catalog.json` | {r['collections']} |",
             f"| sites judged by the SLA monitor (errors) | {r['judged']} ({r['judge_errors']}) |",
             f"| dashboard totals (received / L1C / L2A published) | {dashboard_cell(r['dashboard'])} |",
             f"| wall time of the cycles | {r['wall'] / 60:.1f} min |",
             f"| task instances (failed) | {r['tis']} ({r['failed']}) |",
             f"| task instances per hour | {r['tis'] / (r['wall'] / 3600):.0f} |",
             f"| scheduler / triggerer CPU | {r['cpu']['scheduler']:.0f} s / {r['cpu']['triggerer']:.0f} s |",
             "", "| per task (median / mean / p90) | cluster |", "|---|---|",
             f"| queued → running | {summary(t['queued'])} |",
             f"| process start (`start_date` → first log line) | {summary(t['process'])} |",
             f"| DAG building | {summary(t['built'])} |",
             f"| the task's own work (end of Pre Execute → end) | {summary(t['work'])} |",
             f"| task instances measured (of them, logs read) | {len(t['queued'])} ({len(t['process'])}) |"]
    if "full" in r:
        f = r["full"]
        lines += ["", f"Full-size week: {f['sites']} sites × 1 full-size product: wall {f['wall']:.0f} s, the tasks' own "
                  f"work {f['work']:.0f} s over {f['cores']} cores: {f['ratio']:.2f}× (target ≤ 1.2×)."]
    if t["work"]:
        lines += ["", f"Median task work {statistics.median(t['work']):.1f} s."]
    lines += ["", "How: `bench/bench_campaign.py` (see its docstring); the embedded stack's per-task figures are in "
              "\"Task overhead on the embedded stack\" above."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=150)
    parser.add_argument("--weeks", type=int, default=2)
    parser.add_argument("--size", type=int, default=300, help="scene size in pixels")
    parser.add_argument("--idle-timeout", type=int, default=300, help="seconds a site without delivery waits")
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds a cycle may take")
    parser.add_argument("--full-size-sites", type=int, default=0)
    parser.add_argument("--log-sample", type=int, default=600,
                        help="task logs read for the per-task times, drawn at random (0: all)")
    parser.add_argument("--out", type=Path, help="replace (or add) the section in this file, e.g. BENCHMARKS.md")
    args = parser.parse_args()
    for key, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(key, value)  # the moto server's dummy credentials, for this process's own reads
    home = Path(tempfile.mkdtemp(prefix="take5-campaign-", dir="/tmp"))
    home.chmod(0o755)
    try:
        r = campaign(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    text = section(r, args)
    print(text)
    problems = []
    if r["published_l1c"] != r["deliveries"]:
        problems.append(f"{r['published_l1c']} L1C published of {r['deliveries']} delivered")
    if r["failed"]:
        problems.append(f"{r['failed']} failed task instances")
    if r["collections"] != r["sites"] or r["judged"] != r["sites"] or r["judge_errors"]:
        problems.append(f"{r['collections']} collections, {r['judged']} sites judged, of {r['sites']}")
    board = r["dashboard"]
    if "error" in board:
        problems.append(f"the dashboard's totals not read: {board['error']}")
    elif board["totals"] != board["buckets"] or board["site_errors"]:
        problems.append(f"dashboard totals {board['totals']} ({board['site_errors']} site errors), "
                        f"the buckets hold {board['buckets']}")
    if args.out and not problems:
        write_section(args.out, TITLE, text)
    for p in problems:
        report(f"FAILED: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
