"""The embedded stack (``make run``) under the campaign's own load, with real components: PostgreSQL,
Airflow's api-server, scheduler, dag-processor and triggerer (LocalExecutor), the moto S3 server
over HTTP and the SMTP sink, started by ``scripts/stack.py`` in a private folder on their own ports.

In order, on one stack (10 to 15 minutes on 2 shared cores; ``make test-stack``, run by CI after
``make test``):

1. all 150 site DAGs triggered and unpaused at once: every delivery sensor is deferred within
   ``DEFER_WITHIN`` seconds and every component reports healthy;
2. one small simulated product is delivered to a few sites, then the scheduler is killed
   (SIGKILL): the stack says so, restarts it, and it reports healthy again;
3. the runs go on: the sites publish their product, the other sensors stay deferred, and every
   task log shows that the worker built one DAG (≤ 0.1 s of CPU, median).

Unpausing a site creates its scheduled run besides the triggered one (``max_active_runs=1``: one
waits for the other); the scheduled run's sensor polls every 300 s (the DAG's default), so a
delivery may wait up to 5 minutes for it: whichever run of a site finds the delivery publishes it.
4. the stack stops and leaves no process behind.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest

from helpers.embedded_stack import ROOT, EmbeddedStack

SITES = 150
DEFER_WITHIN = 300.0  # seconds, from the first trigger
PUBLISHING_SITES = ["FrancePornic", "MoroccoTensift", "AustraliaLitchfield"]
SIZE = 240  # px: a small simulated scene
CONF = {"poll_seconds": 10, "timeout_seconds": 3600}
CAMPAIGN_DAGS = {"take5_sla_monitor", "take5_audit", "take5_reprocess"}  # the DAGs over all sites, not a site's
BUILT = re.compile(r"built (\d+) site DAG\(s\) in [0-9.]+ s \(([0-9.]+) s CPU\)")


def report(msg: str) -> None:
    print(f"[embedded stack] {msg}", flush=True)


@pytest.fixture(scope="module")
def stack():
    s = EmbeddedStack()
    try:
        s.start()
        report(f"started in {s.started_in:.0f} s ({s.home})")
        yield s
    finally:
        t0 = time.monotonic()
        left = s.stop()
        report(f"stopped in {time.monotonic() - t0:.0f} s")
        output = s.output()
        s.remove()
        assert left == [], f"left behind: {left}"
        assert "[take5 stack] stopped" in output, output[-3000:]


def deferred(api) -> int:
    return api.count("/api/v2/dags/~/dagRuns/~/taskInstances", state="deferred")


def healthy(api, within: float = 90) -> dict:
    """The components' health, once all are healthy or after ``within`` seconds: a heartbeat may lag a
    burst of task starts on 2 cores by more than the 30 s Airflow allows (a dead component stays unhealthy)."""
    deadline = time.monotonic() + within
    while True:
        got = {k: v.get("status") for k, v in api.health().items()}
        if set(got.values()) == {"healthy"} or time.monotonic() > deadline:
            return got
        time.sleep(3)


def test_150_sites_wait_deferred_and_healthy(stack):
    api = stack.api
    deadline = time.monotonic() + 180
    while True:  # the dag-processor parses the 150 site DAGs once the stack is up
        dag_ids = [d for d in api.dag_ids("take5_") if d not in CAMPAIGN_DAGS]
        if len(dag_ids) >= SITES or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert len(dag_ids) == SITES
    t0 = time.monotonic()
    for dag_id in dag_ids:  # a run queued before unpausing: no scheduled run besides it (max_active_runs=1)
        api.trigger(dag_id, CONF)
    for dag_id in dag_ids:
        api.unpause(dag_id)
    report(f"150 DAGs triggered and unpaused in {time.monotonic() - t0:.0f} s")
    n = 0
    while time.monotonic() - t0 < DEFER_WITHIN:
        n = deferred(api)
        if n >= SITES:
            break
        time.sleep(5)
    took = time.monotonic() - t0
    report(f"{n} delivery sensors deferred after {took:.0f} s")
    assert n == SITES, f"{n} of {SITES} sensors deferred after {took:.0f} s"
    health = healthy(api)
    assert set(health.values()) == {"healthy"}, health
    failed = api.count("/api/v2/dags/~/dagRuns/~/taskInstances", state="failed")
    assert failed == 0
    assert "died" not in stack.output()


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """One small simulated acquisition of each publishing site: (aux folder, delivery folders)."""
    from take5_ops.l1a.upload import delivery_folders

    end = date.today() - timedelta(days=3)
    sim = tmp_path_factory.mktemp("sim")
    cmd = [str(Path(sys.executable).parent / "take5"), "simulate", "--out", str(sim), "--start",
           str(end - timedelta(days=4)), "--end", str(end), "--size", str(SIZE), "--no-truth"]
    for site in PUBLISHING_SITES:
        cmd += ["--site-config", str(ROOT / "include" / "site_configs" / f"{site}.yaml")]
    subprocess.run(cmd, check=True, capture_output=True)
    folders = delivery_folders(sim / "l1a")
    assert sorted({f.parent.name for f in folders}) == sorted(PUBLISHING_SITES)
    return sim / "aux", folders


def test_killed_scheduler_is_restarted(stack, products):
    from take5_ops.l1a.upload import upload_delivery
    from take5_ops.storage import LocalStore, copy_tree

    api = stack.api
    aux, folders = products
    stores = stack.stores()
    for site in PUBLISHING_SITES:
        copy_tree(LocalStore(aux), stores["aux"], prefix=f"{site}/")
    for folder in folders:
        upload_delivery(folder, stores["l1a"])
    stack.delivered_at = time.monotonic()
    report(f"delivered {len(folders)} products to {', '.join(PUBLISHING_SITES)}")
    old = stack.pid_of("scheduler")
    os.kill(old, signal.SIGKILL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        new = stack.state()["components"].get("scheduler")
        if new and new != old:
            break
        time.sleep(1)
    restarted = time.monotonic() - t0
    line = f"scheduler (pid {old}) died (killed by signal 9 (SIGKILL)): restarting it"
    assert line in stack.output(), stack.output()[-3000:]
    while time.monotonic() - t0 < 180:
        if healthy(api, within=0).get("scheduler") == "healthy" and _heartbeat_after(api, t0):
            break
        time.sleep(2)
    report(f"scheduler restarted {restarted:.0f} s after the kill, healthy after {time.monotonic() - t0:.0f} s")
    health = healthy(api)
    assert set(health.values()) == {"healthy"}, health


def _heartbeat_after(api, t0_monotonic: float) -> bool:
    from datetime import datetime

    beat = api.health()["scheduler"].get("latest_scheduler_heartbeat")
    killed_at = datetime.now(UTC).timestamp() - (time.monotonic() - t0_monotonic)
    return bool(beat) and datetime.fromisoformat(beat).timestamp() > killed_at


def test_the_runs_go_on_and_publish(stack):
    api = stack.api
    stores = stack.stores()
    t0 = stack.delivered_at
    found: dict[str, dict] = {}  # site -> the run whose sensor found the delivery
    while time.monotonic() - t0 < 900 and len(found) < len(PUBLISHING_SITES):
        for site in PUBLISHING_SITES:
            for run in api.dag_runs(f"take5_{site}"):
                if run["state"] in ("success", "failed") and run["dag_run_id"] not in ("",):
                    sensor = api.get(f"/api/v2/dags/take5_{site}/dagRuns/{run['dag_run_id']}/taskInstances/"
                                     "wait_for_delivery")
                    if sensor["state"] == "success":
                        found[site] = run
        time.sleep(5)
    report(f"runs {[(s, r['state']) for s, r in found.items()]} {time.monotonic() - t0:.0f} s after the delivery")
    assert {s: r["state"] for s, r in found.items()} == dict.fromkeys(PUBLISHING_SITES, "success")
    for site in PUBLISHING_SITES:
        assert stores["dist"].exists(f"{site}/collection.json")
        items = [i.key for i in stores["dist"].list(f"{site}/") if i.key.endswith(".json") and "L1C" in i.key]
        assert items, f"no published L1C Item for {site}"
    # the other sites' sensors still wait (and those of the publishing sites' next runs)
    assert deferred(api) >= SITES - len(PUBLISHING_SITES)
    assert api.count("/api/v2/dags/~/dagRuns/~/taskInstances", state="failed") == 0
    # a worker builds the DAG of its task only, and says how long it took
    built = []
    for site, run in found.items():
        for ti in api.task_instances(f"take5_{site}", run["dag_run_id"]):
            if ti["state"] not in ("success", "failed") or ti["try_number"] < 1:
                continue
            text = api.task_log(ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["try_number"], ti["map_index"])
            found_lines = BUILT.findall(text)
            assert found_lines, f"no DAG-building line in the log of {ti['task_id']}: {text[:2000]}"
            built += [(int(n), float(x)) for n, x in found_lines]
    report(f"DAG building (CPU) in {len(built)} task logs: median {statistics.median(x for _, x in built):.3f} s, "
           f"max {max(x for _, x in built):.3f} s")
    assert all(n == 1 for n, _ in built), built
    # ≤ 0.1 s a task, in CPU time: the wall time, also logged, counts the other processes' turns on this
    # shared machine (the first DAG built in a fresh process also pays a few lazy imports)
    assert statistics.median(x for _, x in built) <= 0.1, built
    assert max(x for _, x in built) <= 0.25, built
