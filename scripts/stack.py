#!/usr/bin/env python3
"""The embedded take5 stack: ``make run`` starts it, Ctrl-C or ``make stop`` stops it.

It starts, each in its own process group so that stopping takes children too:

- a local S3-compatible server (moto in server mode) with the four buckets,
  its content restored from ``var/s3/`` and saved back there on stop;
- a local SMTP server that stores every message it receives in ``var/mail/``;
- Airflow 3 ``standalone`` (SQLite, LocalExecutor, UI on port 8080);
- a seeder that simulates a small campaign for a few demo sites (acquisition
  dates relative to today), uploads their DEMs, then delivers the L1A in
  weekly batches, one batch every ``TAKE5_DEMO_BATCH_SECONDS``, and triggers
  the demo sites' DAG runs.

Everything lives below ``var/`` in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from take5_ops.storage.buckets import bucket_names, env_name

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
BIN = Path(sys.executable).parent
PIDFILE = VAR / "stack.pid"
S3_PORT = int(os.environ.get("TAKE5_S3_PORT", "9000"))
SMTP_PORT = int(os.environ.get("TAKE5_SMTP_PORT", "2525"))
API_PORT = int(os.environ.get("TAKE5_API_PORT", "8080"))
BUCKETS = bucket_names()  # the one rule (take5_ops.storage.buckets): TAKE5_<ROLE>_BUCKET, else take5-<role>
DEMO_SITES = os.environ.get("TAKE5_DEMO_SITES", "AustraliaLitchfield,FrancePornic,SouthAfricaMoorreesburg").split(",")
DEMO_WEEKS = int(os.environ.get("TAKE5_DEMO_WEEKS", "6"))
DEMO_SIZE = int(os.environ.get("TAKE5_DEMO_SIZE", "1000"))
BATCH_SECONDS = float(os.environ.get("TAKE5_DEMO_BATCH_SECONDS", "120"))


def log(msg: str) -> None:
    print(f"[take5 stack] {msg}", flush=True)


def stack_env() -> dict[str, str]:
    """Environment of every process of the stack: Airflow settings and connections."""
    endpoint = f"http://127.0.0.1:{S3_PORT}"
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        AIRFLOW_HOME=str(VAR / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        AIRFLOW__API__PORT=str(API_PORT),
        AIRFLOW__API__BASE_URL=f"http://localhost:{API_PORT}",
        AWS_ACCESS_KEY_ID=env.get("AWS_ACCESS_KEY_ID", "take5"),
        AWS_SECRET_ACCESS_KEY=env.get("AWS_SECRET_ACCESS_KEY", "take5"),
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        TAKE5_S3_ENDPOINT=endpoint,
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps({
            "conn_type": "aws",
            "login": env.get("AWS_ACCESS_KEY_ID", "take5"),
            "password": env.get("AWS_SECRET_ACCESS_KEY", "take5"),
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }),
        AIRFLOW_CONN_SMTP_DEFAULT=json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": SMTP_PORT,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "take5@localhost"},
        }),
    )
    env.update({env_name(role): name for role, name in BUCKETS.items()})
    # SLA (docs/sla.md): the weekly digest and failed tasks go to the ops list; the demo campaign runs
    # on today's dates, long after the real campaign's end (2015-09-15): quiet sites are watched without end
    env.setdefault("TAKE5_OPS_LIST", "take5-ops@localhost")
    env.setdefault("TAKE5_CAMPAIGN_END", "none")
    return env


def wait_port(port: int, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f}s")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Stack:
    def __init__(self):
        self.env = stack_env()
        self.children: list[tuple[str, subprocess.Popen]] = []

    def spawn(self, name: str, cmd: list[str], logfile: Path) -> subprocess.Popen:
        logfile.parent.mkdir(parents=True, exist_ok=True)
        out = open(logfile, "ab")  # noqa: SIM115 (held by the child process for its lifetime)
        proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.children.append((name, proc))
        log(f"{name} started (pid {proc.pid}, log {logfile.relative_to(ROOT)})")
        return proc

    def run_cmd(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, cwd=ROOT, check=check, capture_output=True, text=True)

    def stores(self):
        from take5_ops.storage import S3Store

        return {role: S3Store.from_endpoint(name, self.env["TAKE5_S3_ENDPOINT"]) for role, name in BUCKETS.items()}

    # -- S3 -----------------------------------------------------------------
    def start_s3(self) -> None:
        self.spawn("s3 (moto)", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(S3_PORT)], VAR / "logs" / "s3.log")
        wait_port(S3_PORT, "the S3 server")
        from take5_ops.storage import LocalStore, copy_tree

        os.environ.update({k: self.env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
        for store in self.stores().values():
            store.client.create_bucket(Bucket=store.bucket)
            snapshot = VAR / "s3" / store.bucket
            if snapshot.is_dir():
                n = copy_tree(LocalStore(snapshot), store)
                log(f"restored {n} objects into s3://{store.bucket}")
        from take5_ops.distribution.access import set_public_read

        set_public_read(self.stores()["dist"])  # the public reads objects only (docs/distribution.md)

    def snapshot_s3(self) -> None:
        from take5_ops.storage import LocalStore, copy_tree

        for store in self.stores().values():
            target = VAR / "s3" / store.bucket
            tmp = target.with_name(target.name + ".new")
            shutil.rmtree(tmp, ignore_errors=True)
            n = copy_tree(store, LocalStore(tmp))
            shutil.rmtree(target, ignore_errors=True)
            if tmp.exists():
                tmp.rename(target)
            log(f"saved {n} objects of s3://{store.bucket} to {target.relative_to(ROOT)}")

    # -- SMTP and Airflow ---------------------------------------------------
    def start_smtp(self) -> None:
        self.spawn("smtp", [sys.executable, str(ROOT / "scripts" / "smtp_sink.py"), "--port", str(SMTP_PORT),
                            "--folder", str(VAR / "mail")], VAR / "logs" / "smtp.log")
        wait_port(SMTP_PORT, "the SMTP server")

    def start_airflow(self) -> None:
        airflow = str(BIN / "airflow")
        log("migrating the Airflow database")
        self.run_cmd([airflow, "db", "migrate"])
        self.run_cmd([airflow, "pools", "set", "take5_cpu", "2", "CPU-heavy processing tasks (L1C, L2A)"])
        self.spawn("airflow standalone", [airflow, "standalone"], VAR / "logs" / "airflow.log")
        wait_port(API_PORT, "the Airflow API server", timeout=240)
        pw = VAR / "airflow" / "simple_auth_manager_passwords.json.generated"
        for _ in range(60):
            if pw.exists():
                break
            time.sleep(1)
        password = json.loads(pw.read_text()).get("admin", "?") if pw.exists() else "(see var/logs/airflow.log)"
        log(f"Airflow UI: http://localhost:{API_PORT}  user: admin  password: {password}")

    # -- demo campaign ------------------------------------------------------
    def seed(self) -> None:
        """Simulate the demo campaign once, then deliver it batch by batch."""
        sim_root = VAR / "sim"
        marker = VAR / "seeded.json"
        delivered = set(json.loads(marker.read_text())) if marker.exists() else set()
        end = date.today()
        start = end - timedelta(weeks=DEMO_WEEKS)
        missing = [site for site in DEMO_SITES if not (sim_root / "l1a" / site).is_dir()]
        if missing:
            log(f"simulating demo sites {', '.join(missing)} from {start} to {end} ({DEMO_SIZE} px scenes)")
            cmd = [str(BIN / "take5"), "simulate", "--out", str(sim_root), "--start", str(start),
                   "--end", str(end), "--size", str(DEMO_SIZE), "--no-truth"]
            for site in missing:
                cmd += ["--site-config", str(ROOT / "include" / "site_configs" / f"{site}.yaml")]
            subprocess.run(cmd, env=self.env, cwd=ROOT, check=True)
        from take5_ops.l1a.upload import delivery_folders, upload_delivery
        from take5_ops.storage import LocalStore, copy_tree

        stores = self.stores()
        for site in DEMO_SITES:
            copy_tree(LocalStore(sim_root / "aux"), stores["aux"], prefix=f"{site}/")
        folders = [f for f in delivery_folders(sim_root / "l1a") if f.parent.name in DEMO_SITES]
        batches = weekly_batches(folders)
        for i, batch in enumerate(batches):
            todo = [f for f in batch if f"{f.parent.name}/{f.name}" not in delivered]
            if not todo:
                continue
            for folder in todo:
                upload_delivery(folder, stores["l1a"])
                delivered.add(f"{folder.parent.name}/{folder.name}")
            marker.write_text(json.dumps(sorted(delivered)))
            log(f"delivered batch {i + 1}/{len(batches)}: {len(todo)} products")
            self.trigger_sites(sorted({f.parent.name for f in todo}))
            if i + 1 < len(batches):
                time.sleep(BATCH_SECONDS)
        log("the demo campaign is fully delivered")

    def trigger_sites(self, sites: list[str]) -> None:
        airflow = str(BIN / "airflow")
        for site in sites:
            dag_id = f"take5_{site}"
            for _ in range(60):  # the dag-processor may not have parsed the DAG yet
                if self.run_cmd([airflow, "dags", "unpause", dag_id], check=False).returncode == 0:
                    break
                time.sleep(5)
            queued = self.run_cmd([airflow, "dags", "list-runs", dag_id, "--state", "queued", "-o", "json"],
                                  check=False).stdout
            if '"run_id"' in queued:  # a queued run will find this batch when it starts
                continue
            conf = json.dumps({"poll_seconds": 10, "timeout_seconds": 600})
            self.run_cmd([airflow, "dags", "trigger", dag_id, "--conf", conf], check=False)
            log(f"triggered {dag_id}")

    # -- lifecycle ----------------------------------------------------------
    def stop(self) -> None:
        log("stopping")
        if any(name.startswith("s3") and proc.poll() is None for name, proc in self.children):
            try:
                self.snapshot_s3()
            except Exception as exc:  # never leave processes behind because of the snapshot
                log(f"could not save the S3 content: {exc}")
        for name, proc in reversed(self.children):
            terminate_group(proc, name)
        PIDFILE.unlink(missing_ok=True)
        log("stopped")


def weekly_batches(folders: list[Path]) -> list[list[Path]]:
    """Group deliveries by the ISO week of their DELIVERY.OK ``delivered_at``."""
    from datetime import datetime

    groups: dict[tuple[int, int], list[Path]] = {}
    for folder in folders:
        delivered = json.loads((folder / "DELIVERY.OK").read_text())["delivered_at"]
        week = datetime.fromisoformat(delivered.replace("Z", "+00:00")).isocalendar()[:2]
        groups.setdefault(week, []).append(folder)
    return [groups[k] for k in sorted(groups)]


def terminate_group(proc: subprocess.Popen, name: str, grace: float = 20) -> None:
    """SIGTERM a child's process group, then SIGKILL what is left after ``grace`` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, else it lingers as a zombie of the group
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            log(f"{name} stopped")
            return
        time.sleep(0.3)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
        log(f"{name} killed")
    except ProcessLookupError:
        pass
    proc.poll()


def run() -> int:
    VAR.mkdir(exist_ok=True)
    if PIDFILE.exists():
        log(f"a stack may already run (pid {PIDFILE.read_text().strip()}); `make stop` first")
        return 1
    busy = [p for p in (S3_PORT, SMTP_PORT, API_PORT) if not port_free(p)]
    if busy:
        log(f"ports already in use: {busy}; stop what uses them or set TAKE5_S3_PORT/TAKE5_SMTP_PORT/TAKE5_API_PORT")
        return 1
    PIDFILE.write_text(str(os.getpid()))
    stack = Stack()
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start_s3()
        stack.start_smtp()
        stack.start_airflow()
        stack.seed()
        log("running; Ctrl-C or `make stop` stops everything")
        while all(proc.poll() is None for _, proc in stack.children):
            time.sleep(2)
        dead = [name for name, proc in stack.children if proc.poll() is not None]
        log(f"{', '.join(dead)} exited; see var/logs/")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


def stop() -> int:
    if not PIDFILE.exists():
        log("no stack is running")
        return 0
    pid = int(PIDFILE.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        PIDFILE.unlink(missing_ok=True)
        log("the stack was not running")
        return 0
    for _ in range(120):
        if not PIDFILE.exists():
            return 0
        time.sleep(0.5)
    log("the stack did not stop within 60 s")
    return 1


if __name__ == "__main__":
    sys.exit({"run": run, "stop": stop}[sys.argv[1] if len(sys.argv) > 1 else "run"]())
