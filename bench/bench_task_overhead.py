#!/usr/bin/env python3
"""Benchmark: the per-task overhead of the embedded stack, from Airflow's REST API and task logs.

Starts an embedded stack in a private folder on its own ports, lets its demo campaign (a few
sites, small simulated scenes, one week) run to the end, then reads every finished task instance:

- queued -> running: ``start_date - queued_when`` (scheduler, executor, task supervisor, the
  execution API's "running" call);
- process start: from ``start_date`` to the task process's first log line (fork, imports);
- DAG file parse: Airflow's ``dag_file_parse_ms`` of "Worker startup parse complete" (the whole
  import of ``dags/take5_sites.py`` in the task process), and the DAG building itself as the
  factory logs it (``built N site DAG(s) in S s``) when it does;
- pre-execute total: ``queued_when`` to the end of the task's "Pre Execute" log group, i.e.
  everything before the task's own code runs.

``--ref REV`` measures the stack of another git revision instead of the work tree (extracted with
``git archive`` into a temporary folder: e.g. ``--ref main`` for Airflow ``standalone`` on SQLite,
before the embedded PostgreSQL and the parsing context). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from report import write_section  # noqa: E402

from helpers.airflow_api import AirflowAPI  # noqa: E402
from helpers.embedded_stack import free_ports  # noqa: E402

DEMO_SITES = "AustraliaLitchfield,FrancePornic,SouthAfricaMoorreesburg"


def ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def start_stack(tree: Path, home: Path, ports: list[int]) -> tuple[subprocess.Popen, Path, str]:
    """Start ``tree``'s scripts/stack.py with the demo campaign; return (process, var, API URL)."""
    var = home / "var"
    env = dict(os.environ, TAKE5_STACK_VAR=str(var), TAKE5_DEMO_SITES=DEMO_SITES, TAKE5_DEMO_WEEKS="1",
               TAKE5_DEMO_SIZE="240", TAKE5_DEMO_BATCH_SECONDS="5", TAKE5_PG_PORT=str(ports[0]),
               TAKE5_S3_PORT=str(ports[1]), TAKE5_SMTP_PORT=str(ports[2]), TAKE5_API_PORT=str(ports[3]),
               AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(ports[4]),
               AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(ports[5]),
               AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    if tree != ROOT:  # the other revision's library, not the work tree's editable install
        env["PYTHONPATH"] = f"{tree / 'plugins'}{os.pathsep}{env.get('PYTHONPATH', '')}"
        var = tree / "var"  # older stacks keep var/ in their tree
    out = open(home / "stack.out", "ab")  # noqa: SIM115 (the stack's output until it stops)
    proc = subprocess.Popen([sys.executable, str(tree / "scripts" / "stack.py"), "run"], env=env, cwd=tree,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, var, f"http://127.0.0.1:{ports[3]}"


def wait_api(proc, var: Path, url: str, home: Path, timeout: float = 600) -> AirflowAPI:
    pw = var / "airflow" / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the stack exited: {(home / 'stack.out').read_text()[-3000:]}")
        if pw.exists():
            try:
                api = AirflowAPI(url, "admin", json.loads(pw.read_text())["admin"])
                api.token()
                return api
            except Exception:
                pass
        time.sleep(2)
    raise RuntimeError("the stack's API did not come up")


def wait_campaign(api: AirflowAPI, sites: list[str], timeout: float = 1200) -> None:
    """Until every demo site has a finished run whose sensor found deliveries, and nothing runs."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        done = 0
        for site in sites:
            try:
                runs = api.dag_runs(f"take5_{site}")
            except RuntimeError:  # not parsed yet
                runs = []
            if any(run["state"] in ("success", "failed") for run in runs):
                done += 1
        busy = sum(api.count("/api/v2/dags/~/dagRuns/~/taskInstances", state=s)
                   for s in ("queued", "scheduled", "running", "up_for_retry"))
        quiet = quiet + 1 if (done == len(sites) and busy == 0) else 0
        if quiet >= 3:
            return
        time.sleep(10)
    raise RuntimeError("the demo campaign did not finish in time")


def log_events(api: AirflowAPI, ti: dict) -> list[dict]:
    return api.task_log_events(ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["try_number"], ti["map_index"])


def measure(api: AirflowAPI) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {k: [] for k in ("queued", "process", "parse", "built", "pre")}
    for ti in api.task_instances():
        if ti["state"] not in ("success", "failed") or not ti["queued_when"] or not ti["start_date"]:
            continue
        if ti["task_id"] == "wait_for_delivery":  # a deferred task: its start_date is its resumption's
            continue
        queued, started = ts(ti["queued_when"]), ts(ti["start_date"])
        values["queued"].append(started - queued)
        events = log_events(api, ti)
        stamps = [ts(e["timestamp"]) for e in events if e.get("timestamp")]
        if stamps:
            values["process"].append(stamps[0] - started)
        for e in events:
            event = str(e.get("event", ""))
            if event == "Worker startup parse complete" and "dag_file_parse_ms" in e:
                values["parse"].append(float(e["dag_file_parse_ms"]) / 1000)
            elif event.startswith("built ") and " site DAG(s) in " in event:
                values["built"].append(float(event.split(" in ")[1].split(" s")[0]))
            elif event == "::endgroup::" and e.get("timestamp"):
                values["pre"].append(ts(e["timestamp"]) - queued)
                break
    return values


def stop_stack(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def summary(xs: list[float]) -> str:
    if not xs:
        return "—"
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]
    return f"{statistics.median(xs):.2f} / {statistics.mean(xs):.2f} / {p90:.2f} s"


def run(ref: str | None) -> dict:
    home = Path(tempfile.mkdtemp(prefix="take5-bench-", dir="/tmp"))
    home.chmod(0o755)
    tree = ROOT
    if ref:
        tree = home / "tree"
        tree.mkdir()
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    proc = None
    try:
        proc, var, url = start_stack(tree, home, free_ports(6, low=26000))
        api = wait_api(proc, var, url, home)
        t0 = time.monotonic()
        wait_campaign(api, DEMO_SITES.split(","))
        values = measure(api)
        return {"ref": ref or "work tree", "values": values, "campaign_s": time.monotonic() - t0}
    finally:
        if proc is not None:
            stop_stack(proc)
        shutil.rmtree(home, ignore_errors=True)


def table(results: list[dict]) -> str:
    rows = [("queued → running (`start_date - queued_when`)", "queued"),
            ("process start (`start_date` → first log line)", "process"),
            ("DAG file parse in the task (`dag_file_parse_ms`)", "parse"),
            ("DAG building (the factory's `built N site DAG(s)` line)", "built"),
            ("everything before the task's code (`queued_when` → end of Pre Execute)", "pre")]
    head = "| measure (median / mean / p90) | " + " | ".join(r["ref"] for r in results) + " |"
    lines = [head, "|---|" + "---|" * len(results)]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(summary(r["values"][key]) for r in results) + " |")
    lines.append("| task instances measured | " + " | ".join(str(len(r["values"]["queued"])) for r in results) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", action="append", default=[],
                        help="git revision whose stack to measure (repeatable); the work tree is always measured last")
    parser.add_argument("--json", type=Path, help="write the raw values there")
    parser.add_argument("--out", type=Path, help="replace (or add) this section in that file, e.g. BENCHMARKS.md")
    args = parser.parse_args()
    results = [run(ref) for ref in args.ref] + [run(None)]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    text = section(results)
    print(text)
    if args.out:
        write_section(args.out, TITLE, text)
    return 0


TITLE = "## Task overhead on the embedded stack"


def section(results: list[dict]) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    cols = ", ".join(f"{r['ref']}: campaign of {len(r['values']['queued'])} task instances in "
                     f"{r['campaign_s']:.0f} s" for r in results)
    return "\n".join([
        TITLE, "",
        f"Written by `make bench-overhead` on {when} ({os.cpu_count()} cores, shared; {cols}).", "",
        table(results), "",
        "How: `bench/bench_task_overhead.py` starts an embedded stack (private folder and ports) with its demo "
        f"campaign ({DEMO_SITES.replace(',', ', ')}; one week, 240 px scenes), waits until every site has "
        "a finished run and nothing is queued or running, then reads each finished task instance from the "
        "REST API (`queued_when`, `start_date`) and its structured log (first line, Airflow's "
        "`dag_file_parse_ms`, the factory's `built N site DAG(s) in S s`, the end of Pre Execute). The "
        "delivery sensors are left out (their `start_date` is their resumption's). `--ref REV` measures the "
        "stack of another revision (`git archive`), e.g. the `airflow standalone` + SQLite stack before "
        "the embedded PostgreSQL and the parsing context.",
    ])


if __name__ == "__main__":
    sys.exit(main())
