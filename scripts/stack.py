#!/usr/bin/env python3
"""The embedded take5 stack: ``make run`` starts it, Ctrl-C or ``make stop`` stops it.

It starts, each in its own process group so that stopping takes children too:

- PostgreSQL (installed from Debian when missing), its cluster in ``var/pg/`` kept across
  restarts, holding the Airflow database (``scripts/stack_postgres.py``);
- a local S3-compatible server (moto in server mode) with the four buckets,
  its content restored from ``var/s3/`` and saved back there on stop;
- a local SMTP server that stores every message it receives in ``var/mail/``;
- the STAC API (stac-fastapi-pgstac, ``scripts/stack_stacapi.py``) on its own database ``take5_stac`` of
  that PostgreSQL, port ``TAKE5_STAC_API_PORT`` (8082); publication keeps it in step (``TAKE5_STAC_API_DB``);
- Airflow 3's components, each its own process: ``api-server`` (UI and REST API on port 8080,
  the execution API of the tasks), ``scheduler`` (LocalExecutor), ``dag-processor`` and
  ``triggerer``, sharing the keys kept in ``var/secrets.json``;
- in accounts mode (``TAKE5_ACCOUNTS=1``; public access is the default), the accounts server
  (``take5_ops.distribution.accounts``) on ``TAKE5_ACCOUNTS_PORT`` with its own database, the
  distribution bucket readable by the public for browsing only, and the website's ``config.json``
  pointing its cart at the server's ``/orders``;
- a seeder that simulates a small campaign for a few demo sites (acquisition
  dates relative to today), uploads their DEMs, then delivers the L1A in
  weekly batches, one batch every ``TAKE5_DEMO_BATCH_SECONDS``, and triggers
  the demo sites' DAG runs (``TAKE5_DEMO_SITES=`` empty: no demo campaign).

It then supervises them: a component that exits is restarted, with a log line saying which and
why (exit code or signal); so is an Airflow component that ``/api/v2/monitor/health`` reports
unhealthy for ``UNHEALTHY_SECONDS`` while its process lives on. Past the restart budget
(``MAX_RESTARTS`` in ``RESTART_WINDOW`` seconds for one component) the stack stops everything
and exits 1 with the reason. Everything lives below ``var/`` (``$TAKE5_STACK_VAR``); the stack's
own log is ``var/logs/stack.log``, its components' pids ``var/stack.json``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from datetime import date, timedelta
from pathlib import Path

from take5_ops.distribution.accounts.settings import accounts_mode
from take5_ops.storage.buckets import bucket_names, env_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack_postgres as pg
import stack_s3
import stack_stacapi

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("TAKE5_STACK_VAR") or ROOT / "var").resolve()
BIN = Path(sys.executable).parent
PIDFILE = VAR / "stack.pid"
STATEFILE = VAR / "stack.json"
S3_PORT = int(os.environ.get("TAKE5_S3_PORT", "9000"))
SMTP_PORT = int(os.environ.get("TAKE5_SMTP_PORT", "2525"))
API_PORT = int(os.environ.get("TAKE5_API_PORT", "8080"))
PG_PORT = int(os.environ.get("TAKE5_PG_PORT", "15432"))
LOG_PORT = int(os.environ.get("TAKE5_LOG_PORT", "8793"))  # Airflow's task log server; the triggerer's is +1
ACCOUNTS = accounts_mode()  # docs/operations.md, "Accounts"
ACCOUNTS_PORT = int(os.environ.get("TAKE5_ACCOUNTS_PORT", "8081"))
STAC_API_PORT = int(os.environ.get("TAKE5_STAC_API_PORT", "8082"))
BUCKETS = bucket_names()  # the one rule (take5_ops.storage.buckets): TAKE5_<ROLE>_BUCKET, else take5-<role>
_demo = os.environ.get("TAKE5_DEMO_SITES", "AustraliaLitchfield,FrancePornic,SouthAfricaMoorreesburg")
DEMO_SITES = [s for s in _demo.split(",") if s.strip()]
DEMO_WEEKS = int(os.environ.get("TAKE5_DEMO_WEEKS", "6"))
DEMO_SIZE = int(os.environ.get("TAKE5_DEMO_SIZE", "1000"))
BATCH_SECONDS = float(os.environ.get("TAKE5_DEMO_BATCH_SECONDS", "120"))

# Supervision (docs/operations.md, "When a component dies")
MAX_RESTARTS = int(os.environ.get("TAKE5_MAX_RESTARTS", "3"))  # restarts of one component ...
RESTART_WINDOW = 600.0  # ... within this many seconds; one more death stops the stack
UNHEALTHY_SECONDS = float(os.environ.get("TAKE5_UNHEALTHY_SECONDS", "120"))  # alive but unhealthy this long
HEALTH_EVERY = 10.0
STOP_SILENCE = 180  # seconds: `stop` follows the stack's log and gives up only when it stays silent this long
PROGRESS_OBJECTS = 1000  # a log line every so many objects saved or restored

# Airflow sizing for 150 live sites on 2 cores: the reasons are in docs/operations.md ("Sizing").
AIRFLOW_SIZING = {
    "AIRFLOW__CORE__PARALLELISM": "8",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "8",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "1800",
    "AIRFLOW__TRIGGERER__CAPACITY": "300",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "5",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "5",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_RECYCLE": "1800",
    "AIRFLOW__API__WORKERS": "1",
}
CPU_POOL_SLOTS = 2  # the take5_cpu pool: one CPU-heavy task (L1C, L2A) per core

_log_lock = threading.Lock()


def every(step: int, what: str):
    """A progress callback for :func:`stack_s3.snapshot` and :func:`stack_s3.restore`: a line every ``step``."""
    def progress(n: int) -> None:
        if n % step == 0:
            log(f"{what}: {n} objects")
    return progress


def log(msg: str) -> None:
    line = f"[take5 stack] {msg}"
    with _log_lock:
        print(line, flush=True)
        try:
            (VAR / "logs").mkdir(parents=True, exist_ok=True)
            with open(VAR / "logs" / "stack.log", "a") as f:
                f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {line}\n")
        except OSError:
            pass


def load_secrets() -> dict[str, str]:
    """Keys shared by every Airflow component and the database passwords: generated once, kept in
    ``var/secrets.json`` (mode 600, never committed: ``var/`` is ignored by git)."""
    path = VAR / "secrets.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "jwt_secret": lambda: secrets.token_hex(64),
        "api_secret_key": lambda: secrets.token_hex(32),
        "fernet_key": lambda: __import__("cryptography.fernet", fromlist=["Fernet"]).Fernet.generate_key().decode(),
        "pg_superuser_password": lambda: secrets.token_urlsafe(24),
        "pg_airflow_password": lambda: secrets.token_urlsafe(24),
        "pg_accounts_password": lambda: secrets.token_urlsafe(24),
        "accounts_session_secret": lambda: secrets.token_urlsafe(48),
        "redis_password": lambda: secrets.token_urlsafe(24),  # the cluster's broker (scripts/cluster.py)
        "pg_stacapi_password": lambda: secrets.token_urlsafe(24),
    }
    missing = {k: make() for k, make in wanted.items() if k not in saved}
    if missing:
        saved.update(missing)
        VAR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(saved, indent=1))
        tmp.chmod(0o600)
        tmp.rename(path)
    return saved


def stack_env(keys: dict[str, str], host: str = "127.0.0.1") -> dict[str, str]:
    """Environment of every process of the stack: Airflow settings and connections; ``host`` is the
    address at which the processes reach the database, S3, SMTP and the api-server."""
    endpoint = f"http://{host}:{S3_PORT}"
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        AIRFLOW_HOME=str(VAR / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=pg.sqlalchemy_url(PG_PORT, keys["pg_airflow_password"], host),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://{host}:{API_PORT}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(API_PORT),
        AIRFLOW__API__BASE_URL=f"http://localhost:{API_PORT}",
        AIRFLOW__API_AUTH__JWT_SECRET=keys["jwt_secret"],
        AIRFLOW__API__SECRET_KEY=keys["api_secret_key"],
        AIRFLOW__CORE__FERNET_KEY=keys["fernet_key"],
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(LOG_PORT),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(LOG_PORT + 1),
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
            "conn_type": "smtp", "host": host, "port": SMTP_PORT,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "take5@localhost"},
        }),
    )
    for key, value in AIRFLOW_SIZING.items():
        env.setdefault(key, value)  # an operator's own setting wins
    env.update({env_name(role): name for role, name in BUCKETS.items()})
    # SLA (docs/sla.md): the weekly digest and failed tasks go to the ops list; the demo campaign runs
    # on today's dates, long after the real campaign's end (2015-09-15): quiet sites are watched without end
    env.setdefault("TAKE5_OPS_LIST", "take5-ops@localhost")
    env.setdefault("TAKE5_CAMPAIGN_END", "none")
    if ACCOUNTS:  # an operator's own settings win, but for the database the stack runs
        env["TAKE5_ACCOUNTS_DB"] = pg.accounts_url(PG_PORT, keys["pg_accounts_password"])
        env.setdefault("TAKE5_ACCOUNTS_SECRET", keys["accounts_session_secret"])
        env["TAKE5_ACCOUNTS_PORT"] = str(ACCOUNTS_PORT)
        env.setdefault("TAKE5_ACCOUNTS_URL", f"http://127.0.0.1:{ACCOUNTS_PORT}")  # the bucket's host: same site
    env["TAKE5_STAC_API_DB"] = stack_stacapi.database_url(PG_PORT, keys["pg_stacapi_password"], host)
    env.setdefault("TAKE5_STAC_API_URL", f"http://localhost:{STAC_API_PORT}")  # linked from the root page
    return env


def wait_port(port: int, what: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited ({describe_exit(proc.returncode)}) before opening port {port}")
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f}s")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def describe_exit(code: int | None) -> str:
    """``exit code 1`` or ``killed by signal 9 (SIGKILL)``."""
    if code is None:
        return "running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "?"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"


class Component:
    """A supervised process: how to start it, its process group, its restarts."""

    def __init__(self, name: str, cmd: list[str], logfile: Path, *, port: int | None = None,
                 stop_signal: int = signal.SIGTERM, popen_kwargs: dict | None = None, env: dict | None = None,
                 after_start=None, health_key: str | None = None, cwd: Path = ROOT):
        self.name, self.cmd, self.logfile, self.port, self.cwd = name, cmd, logfile, port, cwd
        self.stop_signal = stop_signal
        self.popen_kwargs = popen_kwargs or {}
        self.env = env
        self.after_start = after_start  # called after a (re)start, once the port is open
        self.health_key = health_key  # its entry in /api/v2/monitor/health
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restarts: deque[float] = deque()
        self.unhealthy_since: float | None = None
        self.held = False  # stopped on an operator's request (``stack.py hold``), not restarted

    def start(self) -> None:
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        with open(self.logfile, "ab") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True, **self.popen_kwargs)
        self.started_at = time.monotonic()
        self.unhealthy_since = None
        log(f"{self.name} started (pid {self.proc.pid}, log {_rel(self.logfile)})")
        if self.port is not None:
            wait_port(self.port, self.name, timeout=240, proc=self.proc)
        if self.after_start is not None:
            self.after_start()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def descendants(pid: int) -> list:
    """The processes ``pid`` started, at any depth (``psutil.Process``), whatever their process group:
    Airflow's task supervisor puts each task process in a group of its own."""
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _alive(process) -> bool:
    """True while a ``psutil.Process`` runs (a zombie, or one gone meanwhile, does not)."""
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def terminate_groups(components: list[Component], grace: float = 30) -> None:
    """Send each component's stop signal to its process group, then SIGKILL what is left after
    ``grace`` seconds, and then what the component started outside its group (task processes).
    Groups are stopped together (they all wait in parallel)."""
    pending, started = [], {}
    for comp in components:
        if comp.proc is None:
            continue
        started[comp.name] = descendants(comp.proc.pid)
        try:
            os.killpg(comp.proc.pid, comp.stop_signal)
            pending.append(comp)
        except ProcessLookupError:
            comp.proc.poll()
    deadline = time.monotonic() + grace
    while pending and time.monotonic() < deadline:
        for comp in list(pending):
            comp.proc.poll()  # reap the leader, else it lingers as a zombie of the group
            try:
                os.killpg(comp.proc.pid, 0)
            except ProcessLookupError:
                log(f"{comp.name} stopped")
                pending.remove(comp)
        time.sleep(0.2)
    for comp in pending:
        try:
            os.killpg(comp.proc.pid, signal.SIGKILL)
            log(f"{comp.name} did not stop within {grace:.0f}s: killed")
        except ProcessLookupError:
            pass
        try:
            comp.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    for name, procs in started.items():
        left = [p for p in procs if _alive(p)]
        for p in left:
            try:
                p.kill()
            except Exception:  # gone meanwhile
                pass
        if left:
            log(f"{name}: killed {len(left)} process(es) it had started outside its group")


class StackFailure(RuntimeError):
    """The stack cannot go on: the message says why."""


class Stack:
    """The embedded stack; ``scripts/cluster.py`` extends it into the cluster profile."""

    addresses = ["127.0.0.1"]  # where the servers listen (PostgreSQL on each; the others on all if more than one)
    client_networks: list[str] = []  # networks whose hosts may log in to PostgreSQL, besides this machine
    cpu_pool_slots = CPU_POOL_SLOTS

    def __init__(self):
        self.keys = load_secrets()
        self.env = stack_env(self.keys)
        self.components: list[Component] = []
        self.stop_event = threading.Event()
        self.simulating: subprocess.Popen | None = None  # the demo campaign's simulation, while it runs
        self.airflow = str(BIN / "airflow")

    # -- helpers ------------------------------------------------------------
    def run_cmd(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, cwd=ROOT, check=check, capture_output=True, text=True)

    def stores(self):
        from take5_ops.storage import S3Store

        return {role: S3Store.from_endpoint(name, self.env["TAKE5_S3_ENDPOINT"]) for role, name in BUCKETS.items()}

    def add(self, comp: Component) -> Component:
        self.components.append(comp)
        comp.start()
        self.write_state()
        return comp

    def bind(self) -> str:
        """The address the servers other than PostgreSQL bind to."""
        return self.addresses[0] if len(self.addresses) == 1 else "0.0.0.0"

    def extra_state(self) -> dict:
        """What ``cleanup_leftovers`` needs besides the process groups (the cluster's namespaces)."""
        return {}

    def write_state(self) -> None:
        state = {"pid": os.getpid(), "var": str(VAR), "api": f"http://127.0.0.1:{API_PORT}",
                 "stac_api": f"http://127.0.0.1:{STAC_API_PORT}",
                 "components": {c.name: c.pid for c in self.components if c.alive()}, **self.extra_state()}
        tmp = STATEFILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.rename(STATEFILE)

    @staticmethod
    def ports() -> list[int]:
        """The ports the stack listens on (they must be free before it starts)."""
        return [PG_PORT, S3_PORT, SMTP_PORT, API_PORT, STAC_API_PORT, LOG_PORT, LOG_PORT + 1] + (
            [ACCOUNTS_PORT] if ACCOUNTS else [])

    def start(self) -> None:
        self.start_postgres()
        self.start_s3()
        self.start_smtp()
        self.start_public_servers()
        self.start_airflow()

    def start_public_servers(self) -> None:
        """What users reach besides the bucket: the STAC API and, in accounts mode, the accounts server."""
        self.start_stac_api()
        if ACCOUNTS:
            self.start_accounts()

    # -- PostgreSQL ---------------------------------------------------------
    def start_postgres(self) -> None:
        bin_dir = pg.install(log)
        data = pg.initialize(bin_dir, VAR / "pg", self.keys["pg_superuser_password"], log)
        for cidr in self.client_networks:  # the worker hosts: Airflow's database, and the STAC API's for publication
            pg.allow_network(data, cidr, [(pg.DB_NAME, pg.DB_USER), (stack_stacapi.DB_NAME, stack_stacapi.DB_USER)])

        def ready():
            pg.wait_ready(PG_PORT, self.keys["pg_superuser_password"])
            pg.ensure_database(PG_PORT, self.keys["pg_superuser_password"], self.keys["pg_airflow_password"])
            if ACCOUNTS:
                pg.ensure_database(PG_PORT, self.keys["pg_superuser_password"], self.keys["pg_accounts_password"],
                                   user=pg.ACCOUNTS_USER, dbname=pg.ACCOUNTS_DB)

        # SIGINT is PostgreSQL's "fast shutdown": clients disconnected, a clean checkpoint, then exit
        self.add(Component("postgres", pg.server_command(bin_dir, data, PG_PORT, ",".join(self.addresses)), VAR / "logs" / "postgres.log",
                           port=PG_PORT, stop_signal=signal.SIGINT, popen_kwargs=pg.run_as(), env=pg.pg_env(),
                           after_start=ready))
        log(f"PostgreSQL {bin_dir.parent.name} on {','.join(self.addresses)}:{PG_PORT}, data in {_rel(data)}")

    # -- S3 -----------------------------------------------------------------
    def start_s3(self) -> None:
        self.add(Component("s3", [str(BIN / "moto_server"), "-H", self.bind(), "-p", str(S3_PORT)],
                           VAR / "logs" / "s3.log", port=S3_PORT, env=self.env, after_start=self.restore_s3))

    def restore_s3(self) -> None:
        from take5_ops.distribution.access import public_base_url, set_access, set_order_url

        os.environ.update({k: self.env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
        for store in self.stores().values():
            store.client.create_bucket(Bucket=store.bucket)
            snapshot = VAR / "s3" / store.bucket
            if snapshot.is_dir():
                n = stack_s3.restore(snapshot, store, every(PROGRESS_OBJECTS, f"restoring s3://{store.bucket}"))
                log(f"restored {n} objects into s3://{store.bucket}")
        # the public reads objects only; in accounts mode only what browsing needs (docs/distribution.md)
        dist = self.stores()["dist"]
        set_access(dist, accounts=ACCOUNTS)
        set_order_url(dist, f"{self.env['TAKE5_ACCOUNTS_URL']}/orders" if ACCOUNTS else None)
        log(f"website: {public_base_url(dist)}index.html (the distribution bucket, "
            f"{'browsing public, files by order' if ACCOUNTS else 'public read'})")

    def snapshot_s3(self) -> None:
        for store in self.stores().values():
            target = VAR / "s3" / store.bucket
            try:  # one bucket that cannot be saved does not keep the others from being saved
                n = stack_s3.snapshot(store, target, every(PROGRESS_OBJECTS, f"saving s3://{store.bucket}"))
            except Exception as exc:
                log(f"could not save s3://{store.bucket}: {exc}")
                continue
            log(f"saved {n} objects of s3://{store.bucket} to {_rel(target)} (and their content types)")

    # -- STAC API -------------------------------------------------------------
    def start_stac_api(self) -> None:
        """The database (created once, pgstac migrated at every start), then the server; resynced from the
        bucket in the background (``take5 api-sync``: what was published while the API was down)."""
        stack_stacapi.prepare_database(PG_PORT, self.keys["pg_superuser_password"], self.keys["pg_stacapi_password"],
                                       log=log)
        url = f"http://127.0.0.1:{STAC_API_PORT}"
        self.add(Component("stac-api", stack_stacapi.server_command(STAC_API_PORT, self.bind()), VAR / "logs" / "stac-api.log",
                           port=STAC_API_PORT, env=stack_stacapi.server_env(PG_PORT, self.keys["pg_stacapi_password"]),
                           after_start=lambda: stack_stacapi.wait_healthy(url)))
        log(f"STAC API: {url} (stac-fastapi-pgstac, database {stack_stacapi.DB_NAME})")
        threading.Thread(target=self.api_sync, name="api-sync", daemon=True).start()

    def api_sync(self) -> None:
        done = self.run_cmd([str(BIN / "take5"), "api-sync"], check=False)
        last = (done.stdout.strip().splitlines() or [done.stderr.strip()[-300:]])[-1]
        log(f"STAC API resynced from s3://{BUCKETS['dist']}: {last}")

    # -- SMTP and Airflow ---------------------------------------------------
    def start_smtp(self) -> None:
        self.add(Component("smtp", [sys.executable, str(ROOT / "scripts" / "smtp_sink.py"), "--host", self.bind(), "--port", str(SMTP_PORT),
                                    "--folder", str(VAR / "mail")], VAR / "logs" / "smtp.log", port=SMTP_PORT,
                           env=self.env))

    def start_accounts(self) -> None:
        """The accounts server (accounts mode); ``var/accounts.env`` gives ``take5 accounts`` its database."""
        env_file = VAR / "accounts.env"
        env_file.write_text(f"export TAKE5_ACCOUNTS_DB='{self.env['TAKE5_ACCOUNTS_DB']}'\n")
        env_file.chmod(0o600)
        self.add(Component("accounts", [sys.executable, "-m", "take5_ops.distribution.accounts.server"],
                           VAR / "logs" / "accounts.log", port=ACCOUNTS_PORT, env=self.env))
        log(f"accounts mode: sign up at {self.env['TAKE5_ACCOUNTS_URL']}/signup; operators: "
            f"source {_rel(env_file)} && take5 accounts list")

    def start_airflow(self) -> None:
        log("migrating the Airflow database")
        t0 = time.monotonic()
        migrated = self.run_cmd([self.airflow, "db", "migrate"], check=False)
        if migrated.returncode:
            raise StackFailure(f"airflow db migrate failed ({describe_exit(migrated.returncode)}):\n"
                               f"{migrated.stdout[-2000:]}{migrated.stderr[-4000:]}")
        self.run_cmd([self.airflow, "pools", "set", "take5_cpu", str(self.cpu_pool_slots),
                      "CPU-heavy processing tasks (L1C, L2A): one a core"])
        log(f"database migrated and pool take5_cpu set in {time.monotonic() - t0:.0f} s")
        logs = VAR / "logs"
        self.add(Component("api-server", [self.airflow, "api-server", "--host", self.bind(), "--port", str(API_PORT)],
                           logs / "api-server.log", port=API_PORT, env=self.env))
        for name, key in (("scheduler", "scheduler"), ("dag-processor", "dag_processor"), ("triggerer", "triggerer")):
            self.add(Component(name, [self.airflow, name] + (["--skip-serve-logs"] if name != "dag-processor" else []), logs / f"{name}.log", env=self.env, health_key=key))
        pw = VAR / "airflow" / "simple_auth_manager_passwords.json.generated"
        for _ in range(60):
            if pw.exists():
                break
            time.sleep(1)
        password = json.loads(pw.read_text()).get("admin", "?") if pw.exists() else "(see var/logs/api-server.log)"
        log(f"Airflow UI: http://localhost:{API_PORT}  user: admin  password: {password}")

    # -- supervision --------------------------------------------------------
    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/api/v2/monitor/health", timeout=10) as r:
                return json.loads(r.read())
        except Exception:
            return None

    def restart(self, comp: Component, reason: str) -> None:
        now = time.monotonic()
        while comp.restarts and now - comp.restarts[0] > RESTART_WINDOW:
            comp.restarts.popleft()
        if len(comp.restarts) >= MAX_RESTARTS:
            raise StackFailure(f"{comp.name} {reason}, after {len(comp.restarts)} restarts in the last "
                               f"{RESTART_WINDOW:.0f} s: giving up; see {_rel(comp.logfile)}")
        comp.restarts.append(now)
        log(f"{comp.name} (pid {comp.pid}) {reason}: restarting it "
            f"(restart {len(comp.restarts)} of {MAX_RESTARTS} allowed in {RESTART_WINDOW:.0f} s; see {_rel(comp.logfile)})")
        terminate_groups([comp], grace=5)  # what is left of its group (a scheduler's task processes)
        try:
            comp.start()
        except Exception as exc:
            raise StackFailure(f"{comp.name} could not be restarted: {exc}") from None
        self.write_state()

    def hold_or_release(self, comp: Component) -> bool:
        """Follow ``stack.py hold|release NAME`` (a file ``var/hold/NAME``): stop a component and leave
        it stopped, or start it again. True while it is held."""
        wanted = (VAR / "hold" / comp.name).exists()
        if wanted and not comp.held:
            comp.held = True
            log(f"{comp.name} held: stopping it until `stack.py release {comp.name}`")
            terminate_groups([comp])
            self.write_state()
        elif comp.held and not wanted:
            comp.held = False
            log(f"{comp.name} released: starting it")
            comp.start()
            self.write_state()
        return comp.held

    def supervise(self) -> None:
        """Restart what dies or stays unhealthy; raise :class:`StackFailure` past the budget."""
        next_health = time.monotonic() + HEALTH_EVERY
        while not self.stop_event.wait(1.0):
            for comp in self.components:
                if self.hold_or_release(comp):
                    continue
                if not comp.alive():
                    self.restart(comp, f"died ({describe_exit(comp.proc.returncode)})")
            if time.monotonic() < next_health:
                continue
            next_health = time.monotonic() + HEALTH_EVERY
            report = self.health()
            now = time.monotonic()
            for comp in self.components:
                if comp.held:
                    continue
                if comp.name == "api-server":
                    bad = report is None
                    why = "did not answer /api/v2/monitor/health"
                elif comp.name == "stac-api":
                    bad = not stack_stacapi.healthy(f"http://127.0.0.1:{STAC_API_PORT}")
                    why = "did not report itself UP on /_mgmt/health"
                elif comp.health_key and report is not None:
                    status = (report.get(comp.health_key) or {}).get("status")
                    bad = status != "healthy"
                    why = f"reported {status or 'absent'} by /api/v2/monitor/health"
                else:
                    continue
                if not bad or now - comp.started_at < UNHEALTHY_SECONDS:
                    comp.unhealthy_since = None
                    continue
                comp.unhealthy_since = comp.unhealthy_since or now
                if now - comp.unhealthy_since >= UNHEALTHY_SECONDS:
                    self.restart(comp, f"{why} for {now - comp.unhealthy_since:.0f} s")

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
            self.simulating = subprocess.Popen(cmd, env=self.env, cwd=ROOT)  # stop() ends it if still running
            if self.simulating.wait():
                raise subprocess.CalledProcessError(self.simulating.returncode, cmd)
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
            if i + 1 < len(batches) and self.stop_event.wait(BATCH_SECONDS):
                return
        log("the demo campaign is fully delivered")

    def seed_in_background(self) -> None:
        def target():
            try:
                self.seed()
            except Exception as exc:  # the demo is not the stack: say it, keep running
                if not self.stop_event.is_set():
                    log(f"the demo campaign stopped: {type(exc).__name__}: {exc}")

        threading.Thread(target=target, name="demo-seeder", daemon=True).start()

    def trigger_sites(self, sites: list[str]) -> None:
        for site in sites:
            dag_id = f"take5_{site}"
            for _ in range(60):  # the dag-processor may not have parsed the DAG yet
                if self.stop_event.is_set():
                    return
                # `dags unpause` exits 0 for a DAG not in the database yet: check that it took
                self.run_cmd([self.airflow, "dags", "unpause", dag_id], check=False)
                details = self.run_cmd([self.airflow, "dags", "details", dag_id, "-o", "json"], check=False)
                if details.returncode == 0 and re.search(r'"is_paused": "?[Ff]alse', details.stdout):
                    break
                time.sleep(5)
            queued = self.run_cmd([self.airflow, "dags", "list-runs", dag_id, "--state", "queued", "-o", "json"],
                                  check=False).stdout
            if '"run_id"' in queued:  # a queued run will find this batch when it starts
                continue
            conf = json.dumps({"poll_seconds": 10, "timeout_seconds": 600})
            self.run_cmd([self.airflow, "dags", "trigger", dag_id, "--conf", conf], check=False)
            log(f"triggered {dag_id}")

    # -- lifecycle ----------------------------------------------------------
    def stop(self) -> None:
        log("stopping")
        self.stop_event.set()
        if self.simulating is not None and self.simulating.poll() is None:
            self.simulating.terminate()
        by_name = {c.name: c for c in self.components}
        airflow = [c for c in self.components
                   if c.name in ("api-server", "scheduler", "dag-processor", "triggerer", "accounts")]
        terminate_groups(airflow)
        s3 = by_name.get("s3")
        if s3 is not None and s3.alive():
            try:
                self.snapshot_s3()
            except Exception as exc:  # never leave processes behind because of the snapshot
                log(f"could not save the S3 content: {exc}")
        terminate_groups([c for c in self.components if c.name in ("smtp", "s3", "stac-api")])
        terminate_groups([c for c in self.components if c.name == "postgres"], grace=60)
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def run(make_stack=None) -> int:
    """Start the stack (``make_stack``: a :class:`Stack` subclass, by default the embedded one), supervise it
    until Ctrl-C, SIGTERM or a failure, then stop it."""
    make_stack = make_stack or Stack
    VAR.mkdir(parents=True, exist_ok=True)
    if PIDFILE.exists():
        pid = int(PIDFILE.read_text().strip() or 0)
        if pid and _pid_alive(pid):
            log(f"a stack already runs (pid {pid}); `make stop` first")
            return 1
        log(f"a previous stack (pid {pid}) did not stop cleanly: cleaning up after it")
        cleanup_leftovers()
    busy = [p for p in make_stack.ports() if not port_free(p)]
    if busy:
        log(f"ports already in use: {busy}; stop what uses them or set TAKE5_PG_PORT/TAKE5_S3_PORT/"
            "TAKE5_SMTP_PORT/TAKE5_API_PORT/TAKE5_STAC_API_PORT/TAKE5_LOG_PORT/TAKE5_ACCOUNTS_PORT/TAKE5_REDIS_PORT")
        return 1
    PIDFILE.write_text(str(os.getpid()))
    shutil.rmtree(VAR / "hold", ignore_errors=True)
    stack = make_stack()
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start()
        if DEMO_SITES:
            stack.seed_in_background()
        log("running; Ctrl-C or `make stop` stops everything")
        stack.supervise()
        return 0
    except KeyboardInterrupt:
        return 0
    except StackFailure as exc:
        log(f"STACK FAILED: {exc}")
        return 1
    except Exception as exc:
        log(f"STACK FAILED: {type(exc).__name__}: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        STATEFILE.unlink(missing_ok=True)
        PIDFILE.unlink(missing_ok=True)


def cleanup_leftovers() -> None:
    """After a stack that died without stopping (kill -9): stop the process groups it recorded."""
    if STATEFILE.exists():
        state = json.loads(STATEFILE.read_text())
        for name, pid in state.get("components", {}).items():
            sig = signal.SIGINT if name == "postgres" else signal.SIGTERM
            try:
                os.killpg(pid, sig)
                log(f"stopping the leftover {name} (process group {pid})")
            except (ProcessLookupError, PermissionError):
                continue
            for _ in range(100):
                try:
                    os.killpg(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            else:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if state.get("namespaces") or state.get("bridge"):  # a cluster's (scripts/cluster.py)
            import stack_netns

            stack_netns.remove(state.get("namespaces", []), state.get("bridge"))
            log(f"removed the network namespaces {state.get('namespaces')} and the bridge {state.get('bridge')}")
        STATEFILE.unlink(missing_ok=True)
    PIDFILE.unlink(missing_ok=True)


def stop() -> int:
    if not PIDFILE.exists():
        log("no stack is running")
        return 0
    pid = int(PIDFILE.read_text().strip() or 0)
    if not pid or not _pid_alive(pid):
        log("the stack was not running: cleaning up what it left")
        cleanup_leftovers()
        return 0
    os.kill(pid, signal.SIGTERM)
    return _wait_stopped(pid)


def _wait_stopped(pid: int) -> int:
    """Wait for the stack ``pid`` to end, echoing its log (saving the buckets takes minutes at campaign scale);
    1 if it stays silent :data:`STOP_SILENCE` seconds while still running."""
    logfile = VAR / "logs" / "stack.log"
    seen, heard = (logfile.stat().st_size if logfile.exists() else 0), time.monotonic()
    while PIDFILE.exists():
        if not _pid_alive(pid):
            time.sleep(1)
            if PIDFILE.exists():
                log("the stack ended without cleaning up: cleaning up what it left")
                cleanup_leftovers()
            return 0
        if logfile.exists() and logfile.stat().st_size > seen:  # the stack's own lines: how its stop goes
            with open(logfile, "rb") as f:
                f.seek(seen)
                news = f.read()
            seen += len(news)
            heard = time.monotonic()
            sys.stdout.write(news.decode(errors="replace"))
            sys.stdout.flush()
        if time.monotonic() - heard > STOP_SILENCE:
            log(f"the stack (pid {pid}) has said nothing for {STOP_SILENCE} s and is still stopping: "
                f"see {_rel(logfile)}")
            return 1
        time.sleep(0.5)
    return 0


def hold(name: str, on: bool = True) -> int:
    """Ask the running stack to stop one component and leave it stopped (``release``: start it again)."""
    if not STATEFILE.exists():
        log("no stack is running")
        return 1
    flag = VAR / "hold" / name
    if on:
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.touch()
    else:
        flag.unlink(missing_ok=True)
    return 0


def status() -> int:
    """Print the components' pids and the health that the API server reports."""
    if not STATEFILE.exists():
        log("no stack is running")
        return 1
    print(STATEFILE.read_text())
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/api/v2/monitor/health", timeout=10) as r:
            print(json.dumps(json.loads(r.read()), indent=1))
    except Exception as exc:
        print(f"health: {exc}")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command in ("hold", "release"):
        sys.exit(hold(sys.argv[2], command == "hold"))
    sys.exit({"run": run, "stop": stop, "status": status}[command]())
