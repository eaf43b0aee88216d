"""The cluster profile (``make cluster``: PostgreSQL, Redis, CeleryExecutor, two worker hosts in network
namespaces) runs a site's DAG like ``dag.test()`` does, and survives its faults.

One site (FrancePornic on a 320 px grid, nine dates over 40 days: nine L1C, the L2A gate open, a series
of nine dates) is delivered at once, then its DAG is triggered on the cluster, three times over with the
buckets emptied in between (the state lives in the buckets only):

1. a clean run: its tasks ran on both worker hosts (the hostname of each task instance is its host's
   address), and the distribution bucket holds the same bytes as after the same deliveries run by
   ``dag.test()``; the publication tasks on the worker hosts kept the cluster's STAC API in step: a
   search (pystac-client) returns the Items the static catalog links, with the same checksums;
2. the worker host running ``l2a`` killed (SIGKILL of its Celery worker and its task) after a few
   dates: the scheduler fails the task when its heartbeats stop, the retry (on either host) resumes from
   the last checkpoint; then S3 out of reach of both worker hosts for ``S3_DOWN`` seconds while the L2A
   products are published (their connections to it refused or reset, ``stack_netns.refuse``; moto keeps
   its objects in memory, so the server itself is not killed), then back. The run ends green after
   retries, or fails loudly (e-mailed) with nothing half-published, and its failed tasks, cleared, complete
   it;
3. Redis stopped for 30 s while L1C tasks run, then started; PostgreSQL restarted while ``l2a`` runs.

Each faulted run ends with the same published bytes as the clean one. ``make test-cluster`` (run by CI
after the other tiers); about 20 minutes on 2 shared cores.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from helpers import dag_subprocess
from helpers.cluster import Cluster, api_items, digest, empty, published_items, unresolved, xcom
from helpers.l2a_campaign import SITE, simulate_series
from take5_ops.l1a.upload import delivery_folders, upload_delivery
from take5_ops.storage import LocalStore, S3Store, copy_tree, layout

DAG_ID = f"take5_{SITE}"
CONF = {"poll_seconds": 2, "timeout_seconds": 900}
DATES = 9
S3_DOWN = 60.0  # longer than a task's own S3 retries (10-25 s): the attempts running fail; their retries, 5 and 10 s later, may too
REDIS_DOWN = 30.0
RUN_TIMEOUT = 1500.0
PUBLIC_URL = "https://take5.example.org/"  # the Metalinks hold absolute URLs: the same server for both
PUBLIC_API = "https://take5.example.org/api"  # linked from the root page: the same for both
CLUSTER_ENV = {
    "TAKE5_PUBLIC_URL": PUBLIC_URL,
    "TAKE5_STAC_API_URL": PUBLIC_API,
    "TAKE5_TASK_RETRY_DELAY": "5",  # retries 5 s apart (300 s in production)
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",  # a killed task is failed after 60 s (300)
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the triggered runs: no weekly run in between
}
_t0 = time.monotonic()


def report(msg: str) -> None:
    print(f"[cluster {time.monotonic() - _t0:5.0f} s] {msg}", flush=True)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    simulate_series(root)
    return root


@pytest.fixture(scope="module")
def cluster(series):
    c = Cluster(extra_env=dict(CLUSTER_ENV, TAKE5_SITE_CONFIGS=str(series)))
    c.start_error = None

    def start():
        try:
            c.start(timeout=900)  # beside the reference run, on the same 2 cores
        except Exception as exc:
            c.start_error = exc

    started = threading.Thread(target=start, daemon=True)
    started.start()
    c.starting = started
    try:
        yield c
    finally:
        started.join(timeout=1000)
        t0 = time.monotonic()
        left = c.stop()
        report(f"stopped in {time.monotonic() - t0:.0f} s")
        output = c.output()
        namespaces = Path("/var/run/netns")
        leftover_ns = [p.name for p in namespaces.glob(f"take5-{str(c.ports['TAKE5_API_PORT'])[-4:]}-*")] \
            if namespaces.is_dir() else []
        c.remove()
        assert left == [], f"left behind: {left}"
        assert leftover_ns == [], f"namespaces left behind: {leftover_ns}"
        assert "[take5 stack] stopped" in output, output[-3000:]


@pytest.fixture(scope="module")
def reference(series, s3_endpoint, tmp_path_factory):
    """The published bytes of the same deliveries run by ``dag.test()`` (while the cluster starts)."""
    stores = {role: S3Store.from_endpoint(f"take5-ref-{role}", s3_endpoint) for role in ("l1a", "aux", "work", "dist")}
    for store in stores.values():
        store.client.create_bucket(Bucket=store.bucket)
    deliver(series, stores)
    env = dag_subprocess.airflow_env(tmp_path_factory.mktemp("airflow"), series, s3_endpoint, stores)
    env.update(TAKE5_PUBLIC_URL=PUBLIC_URL, TAKE5_STAC_API_URL=PUBLIC_API)
    dag_subprocess.migrate(env)
    t0 = time.monotonic()
    run = dag_subprocess.run_dag(env, DAG_ID, CONF, timeout=1200)
    report(f"dag.test() reference run: {run['state']} in {time.monotonic() - t0:.0f} s")
    assert run["state"] == "success", run
    return digest(stores["dist"])


def deliver(series: Path, stores: dict) -> None:
    copy_tree(LocalStore(series / "sim" / "aux"), stores["aux"])
    folders = delivery_folders(series / "sim" / "l1a")
    assert len(folders) == DATES
    for folder in folders:
        upload_delivery(folder, stores["l1a"])


def ready(cluster) -> Cluster:
    cluster.starting.join(timeout=1000)
    if cluster.start_error is not None:
        raise cluster.start_error
    return cluster


def run_site(cluster, series: Path, during=None) -> dict:
    """Empty the buckets, deliver the nine dates, trigger the site's DAG and wait for the end of its run,
    calling ``during(run_id)`` every 2 s meanwhile; return the run's state, task instances and published bytes."""
    api, stores = cluster.api, cluster.stores()
    for store in stores.values():
        empty(store)
    deliver(series, stores)
    run_id = api.trigger(DAG_ID, CONF)
    if api.get(f"/api/v2/dags/{DAG_ID}")["is_paused"]:
        api.unpause(DAG_ID)
    return wait_run(cluster, run_id, during)


def rerun_failed(cluster, run_id: str) -> dict:
    """What an operator does after a failed run: clear its failed tasks (and what follows them) and wait."""
    cluster.api.request("POST", f"/api/v2/dags/{DAG_ID}/clearTaskInstances",
                        {"dry_run": False, "dag_run_id": run_id, "only_failed": True, "include_downstream": True,
                         "reset_dag_runs": True})
    for _ in range(30):  # the run is queued again
        if cluster.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"] != "failed":
            break
        time.sleep(1)
    return wait_run(cluster, run_id)


def wait_run(cluster, run_id: str, during=None) -> dict:
    api = cluster.api
    t0 = time.monotonic()
    state = None
    while time.monotonic() - t0 < RUN_TIMEOUT:
        state = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
        if state in ("success", "failed"):
            break
        if during is not None:
            during(run_id)
        time.sleep(2)
    tis = api.task_instances(DAG_ID, run_id)
    report(f"run {run_id}: {state} in {time.monotonic() - t0:.0f} s, {len(tis)} task instances")
    return {"run_id": run_id, "state": state, "tis": tis, "dist": digest(cluster.stores()["dist"])}


def running(api, run_id: str, task_id: str, states=("running",)) -> list[dict]:
    return [ti for ti in api.task_instances(DAG_ID, run_id) if ti["task_id"] == task_id and ti["state"] in states]


def l2a_checkpoints(cluster) -> int:
    work = cluster.stores()["work"]
    return sum(1 for i in work.list(layout.l2a_prefix(SITE)) if i.key.endswith(".json")
               and i.key != layout.l2a_status_key(SITE))


def assert_same_bytes(got: dict, reference: dict) -> None:
    differ = sorted(k for k in set(got) | set(reference) if got.get(k) != reference.get(k))
    assert not differ, f"{len(differ)} of {len(reference)} published objects differ from dag.test()'s: {differ[:20]}"


def test_a_site_runs_on_both_hosts_as_with_dag_test(cluster, series, reference):
    c = ready(cluster)
    report(f"cluster started in {c.started_in:.0f} s ({c.home})")
    done = run_site(c, series)
    assert done["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in done["tis"]]
    hosts = {ti["hostname"] for ti in done["tis"] if ti["state"] == "success"}
    by_host = {h: sorted({ti["task_id"] for ti in done["tis"] if ti["hostname"] == h}) for h in hosts}
    report(f"tasks by host: {by_host}")
    assert hosts == c.addresses(), by_host
    queues = {ti["task_id"]: ti["queue"] for ti in done["tis"]}
    assert queues["l1c"] == queues["l2a"] == "cpu" and queues["publish"] == "default", queues
    assert len(reference) > 20 and any("_L2A_" in k for k in reference)
    assert_same_bytes(done["dist"], reference)
    # the task logs, read through the api-server, whichever host ran the task (uploaded to the work bucket)
    for ti in done["tis"]:
        if ti["task_id"] in ("l1c", "l2a", "publish") and ti["state"] == "success":
            text = c.api.task_log(DAG_ID, done["run_id"], ti["task_id"], ti["try_number"], ti["map_index"])
            assert "built 1 site DAG(s)" in text, (ti["task_id"], ti["hostname"], text[:1500])
    assert any(i.key.startswith(layout.task_logs_prefix()) for i in c.stores()["work"].list(layout.task_logs_prefix()))
    # the STAC API, kept in step by the publication tasks on the worker hosts: the Items the catalog links
    static = published_items(c.stores()["dist"], SITE)
    searched = api_items(f"http://127.0.0.1:{c.ports['TAKE5_STAC_API_PORT']}", SITE)
    report(f"STAC API search: {len(searched)} Items, the static catalog links {len(static)}")
    assert len(static) > 20 and searched == static
    assert unresolved(c.stores()["dist"], PUBLIC_URL) == []


def test_s3_refused_during_a_publication_and_the_l2a_worker_killed(cluster, series, reference):
    c = ready(cluster)
    api = c.api
    faults: dict = {}

    def during(run_id):
        # after the l2a retry: the L2A publications (or the catalog update), so that the L2A series is whole
        publishing = ("publish_l2a", "update_catalog")
        if "killed" in faults and "s3" not in faults and any(running(api, run_id, t, ("queued", "running"))
                                                             for t in publishing):
            c.refuse("TAKE5_S3_PORT")
            faults["s3"] = time.monotonic()
            report(f"S3 refused to both worker hosts during the L2A publications for {S3_DOWN:.0f} s")
            time.sleep(S3_DOWN)
            c.refuse("TAKE5_S3_PORT", refused=False)
            report("S3 reachable again")
        if "killed" not in faults:
            l2a = running(api, run_id, "l2a")
            done = l2a_checkpoints(c) if l2a else 0
            if l2a and done >= 3:
                n = c.worker_of(l2a[0]["hostname"])
                c.kill(f"worker-{n}-cpu")
                faults["killed"] = (n, done)
                report(f"SIGKILL to worker host {n}'s cpu worker, running l2a after {done} checkpoint(s)")

    done = run_site(c, series, during)
    assert "s3" in faults and "killed" in faults, faults
    hit = sorted({(t["task_id"], t["map_index"], t["try_number"], t["state"]) for t in done["tis"]
                  if t["task_id"] != "l2a" and (t["try_number"] > 1 or t["state"] == "failed")})
    report(f"run {done['state']}; tasks retried or failed besides l2a: {hit}")
    assert hit, "the S3 outage failed no task attempt: it tested nothing"
    first = done
    if first["state"] != "success":  # failed loudly, nothing half-published; the rerun completes
        # each failed task e-mailed its reason (update_catalog only fails the run after them, without one)
        failed = sorted({t["task_id"] for t in first["tis"] if t["state"] == "failed"} - {"update_catalog"})
        subjects = c.mail_subjects()
        assert failed and all(any(f"{DAG_ID}.{task}" in m and " failed" in m for m in subjects) for task in failed), (
            failed, subjects)
        assert unresolved(c.stores()["dist"], PUBLIC_URL) == []
        done = rerun_failed(c, first["run_id"])
        report(f"failed tasks of {first['run_id']} cleared and run again: {done['state']}")
    assert done["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in done["tis"]]
    assert unresolved(c.stores()["dist"], PUBLIC_URL) == []
    # the l2a task of the faulted run: retried after the kill, from the last checkpoint
    l2a = next(ti for ti in first["tis"] if ti["task_id"] == "l2a")
    assert l2a["state"] == "success" and l2a["try_number"] >= 2, l2a
    summary = xcom(api, DAG_ID, first["run_id"], "l2a", "summary")
    report(f"l2a: try {l2a['try_number']} on {l2a['hostname']}, {summary['processed']} step(s) processed by it, "
           f"{faults['killed'][1]} checkpoint(s) before the kill")
    total = l2a_checkpoints(c)
    # the retry resumed from the checkpoints: it did the steps the killed try had not done, not all of them
    assert 0 < summary["processed"] <= total - faults["killed"][1] + 1 and summary["processed"] < total, (summary,
                                                                                                          total)
    n, _ = faults["killed"]
    assert f"worker-{n}-cpu (pid" in c.output() and "killed by signal 9 (SIGKILL)): restarting it" in c.output()
    assert_same_bytes(done["dist"], reference)


def test_redis_stopped_and_postgres_restarted(cluster, series, reference):
    c = ready(cluster)
    api = c.api
    faults: dict = {}

    def during(run_id):
        if "redis" not in faults and running(api, run_id, "l1c"):
            c.hold("redis")
            report(f"Redis stopped for {REDIS_DOWN:.0f} s while L1C tasks run")
            time.sleep(REDIS_DOWN)
            c.hold("redis", on=False)
            faults["redis"] = True
            report("Redis started again")
        if "postgres" not in faults and running(api, run_id, "l2a"):
            c.kill("postgres", signal.SIGINT)  # a fast shutdown; the stack starts it again
            faults["postgres"] = True
            report("PostgreSQL stopped while l2a runs (the stack restarts it)")

    done = run_site(c, series, during)
    assert faults == {"redis": True, "postgres": True}, faults
    assert done["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in done["tis"]]
    assert "postgres (pid" in c.output() and "redis held" in c.output() and "redis released" in c.output()
    assert_same_bytes(done["dist"], reference)
