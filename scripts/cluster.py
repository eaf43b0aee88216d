#!/usr/bin/env python3
"""The cluster profile: ``make cluster`` starts it, Ctrl-C or ``make stop`` stops it (docs/deployment.md).

The production topology on this one machine: everything ``make run`` starts (``scripts/stack.py``:
PostgreSQL, the S3 server, the SMTP sink, the STAC API and in accounts mode the accounts server,
api-server, scheduler, dag-processor, triggerer, the demo campaign, supervision), but with the
CeleryExecutor, a Redis broker, and ``TAKE5_WORKERS``
(default 2) Celery worker hosts. Each worker host is a network namespace on a bridge
(``scripts/stack_netns.py``) with its own hostname, working folder, HOME, TMPDIR, Airflow home and
copy of the code (``dags/``, ``plugins/``, ``include/``) under ``var/workers/w<n>/``; it reaches
the databases (Airflow's; the STAC API's, which publication keeps in step), the broker, the api-server
and S3 only at the bridge's address, over its veth pair.

Each host runs two Celery workers: ``cpu`` (queue ``cpu``: L1C and L2A, concurrency from the
host's cores and memory) and ``light`` (the default queue: sensors, validation, publication,
catalog). Task logs go to the work bucket (remote logging) and are served live by the ``cpu``
worker from its namespace. Everything else is the embedded stack's (``var/``, the secrets, the
ports, ``stack.py hold|release NAME`` to stop one component and start it again).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack_netns as netns
import stack_postgres as pg
import stack_redis as redis

import stack
from stack import API_PORT, BIN, LOG_PORT, PG_PORT, ROOT, VAR, Component, log, terminate_groups
from take5_ops.storage import layout
from take5_ops.storage.buckets import bucket_names

WORKERS = int(os.environ.get("TAKE5_WORKERS", "2"))
REDIS_PORT = int(os.environ.get("TAKE5_REDIS_PORT", str(PG_PORT + 1)))  # below the ephemeral range, like the others
L2A_MEMORY_GB = 2.0  # the peak of one L2A task on a 6000 x 6000 scene (BENCHMARKS.md)
WORKER_OVERHEAD_GB = 1.0  # the Celery worker processes and the light tasks of a host
LIGHT_SLOTS = int(os.environ.get("TAKE5_WORKER_LIGHT_SLOTS", "4"))
CODE = ("dags", "plugins", "include")

# Why these (docs/deployment.md, "Queues, timeouts"): a task waits in the broker only for a worker
# slot of its queue; parallelism equals the workers' slots and the take5_cpu pool their CPU slots,
# so a queued task starts as soon as a task of its queue ends, at worst after an L2A replay (30
# dates: ~18 min full size) on each CPU slot ahead of it: one hour. A task still queued after that
# has lost its worker: the scheduler fails it and its retry is sent again.
TASK_QUEUED_TIMEOUT = 3600
# A message is re-delivered to another worker when it is not acknowledged within this time (Airflow
# acknowledges late, when the task ends): longer than the longest task (an L2A replay, ~18 min) plus
# the wait of a message reserved behind it, with room. A killed worker's task is failed and retried by
# the scheduler (task_instance_heartbeat_timeout, 5 min) long before.
VISIBILITY_TIMEOUT = 6 * 3600


def host_resources(workers: int) -> tuple[int, float]:
    """Cores and GB of memory of one worker host: this machine's, shared among the simulated hosts."""
    with open("/proc/meminfo") as f:
        total_kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    return max(1, (os.cpu_count() or 1) // workers), total_kb / 1024 / 1024 / workers


def cpu_slots(cores: int, memory_gb: float) -> int:
    """Concurrency of a host's ``cpu`` worker: one CPU-heavy task a core, as memory allows (an L2A needs ~2 GB)."""
    override = os.environ.get("TAKE5_WORKER_CPU_SLOTS")
    if override:
        return int(override)
    return max(1, min(cores, int((memory_gb - WORKER_OVERHEAD_GB) // L2A_MEMORY_GB)))


class Cluster(stack.Stack):
    """The embedded stack with the CeleryExecutor, a Redis broker and worker hosts in network namespaces."""

    def __init__(self):
        tag = str(API_PORT)[-4:]
        self.net = netns.Network(tag=tag, prefix=os.environ.get("TAKE5_CLUSTER_NET", f"10.231.{API_PORT % 250}"))
        self.addresses = ["127.0.0.1", self.net.host_address]
        self.client_networks = [self.net.cidr]
        cores, memory = host_resources(WORKERS)
        self.slots = cpu_slots(cores, memory)
        self.cpu_pool_slots = WORKERS * self.slots
        super().__init__()
        self.env = self.cluster_env()

    @staticmethod
    def ports() -> list[int]:
        return stack.Stack.ports() + [REDIS_PORT]

    def cluster_env(self) -> dict[str, str]:
        host = self.net.host_address
        env = stack.stack_env(self.keys, host)  # TAKE5_STAC_API_DB at the server's address: workers publish to it
        db = pg.sqlalchemy_url(PG_PORT, self.keys["pg_airflow_password"], host)
        sizing = {
            "AIRFLOW__CORE__PARALLELISM": str(WORKERS * (self.slots + LIGHT_SLOTS)),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(WORKERS * (self.slots + LIGHT_SLOTS)),
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(TASK_QUEUED_TIMEOUT),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        }
        env.update({k: v for k, v in sizing.items() if k not in os.environ})  # an operator's own setting wins
        env.update(
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CELERY__BROKER_URL=redis.url(host, REDIS_PORT, self.keys["redis_password"]),
            AIRFLOW__CELERY__RESULT_BACKEND=f"db+{db}",
            AIRFLOW__OPERATORS__DEFAULT_QUEUE="default",
            # a broker outage delays the sending of tasks rather than failing them (take5_ops/airflow/celery_config.py)
            AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS="take5_ops.airflow.celery_config.CELERY_CONFIG",
            AIRFLOW__CELERY__TASK_PUBLISH_MAX_RETRIES="300",
            AIRFLOW__API__BASE_URL=f"http://localhost:{API_PORT}",
            # task logs: uploaded to the work bucket at the end of each task, whichever host ran it
            AIRFLOW__LOGGING__REMOTE_LOGGING="True",
            AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID="aws_default",
            AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER=f"s3://{bucket_names()['work']}/{layout.task_logs_prefix().rstrip('/')}",
            AIRFLOW__LOGGING__ENCRYPT_S3_LOGS="False",
        )
        return env

    def extra_state(self) -> dict:
        return {"namespaces": [self.net.namespace(n) for n in range(1, WORKERS + 1)], "bridge": self.net.bridge,
                "workers": {self.net.hostname(n): self.net.address(n) for n in range(1, WORKERS + 1)}}

    # -- start ----------------------------------------------------------------
    def start(self) -> None:
        netns.create_bridge(self.net)
        log(f"bridge {self.net.bridge} at {self.net.host_address}/24")
        self.start_postgres()
        self.start_redis()
        self.start_s3()
        self.start_smtp()
        self.start_public_servers()
        self.start_airflow()
        for n in range(1, WORKERS + 1):
            self.start_worker_host(n)
        log(f"{WORKERS} worker host(s), each: cpu worker x{self.slots} (queue cpu), light worker x{LIGHT_SLOTS} "
            f"(queue default); pool take5_cpu {self.cpu_pool_slots} slots, parallelism "
            f"{self.env['AIRFLOW__CORE__PARALLELISM']}")

    def start_redis(self) -> None:
        exe = redis.install(log)
        self.add(Component("redis", redis.server_command(exe, VAR / "redis", self.addresses, REDIS_PORT,
                                                         self.keys["redis_password"]),
                           VAR / "logs" / "redis.log", port=REDIS_PORT, env=self.env))

    def start_worker_host(self, n: int) -> None:
        """Namespace, folders and copy of the code of worker host ``n``, then its two Celery workers."""
        netns.add_worker(self.net, n)
        home = VAR / "workers" / f"w{n}"
        code = home / "code"
        shutil.rmtree(code, ignore_errors=True)
        for part in CODE:
            shutil.copytree(ROOT / part, code / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        configs = os.environ.get("TAKE5_SITE_CONFIGS")
        if configs:  # the site configurations in use travel with the code
            shutil.rmtree(code / "include" / "site_configs")
            shutil.copytree(configs, code / "include" / "site_configs")
        for sub in ("home", "tmp", "work", "airflow"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        env = dict(self.env)
        env.pop("TAKE5_SITE_CONFIGS", None)
        env.update(
            HOME=str(home / "home"), TMPDIR=str(home / "tmp"), AIRFLOW_HOME=str(home / "airflow"),
            AIRFLOW__CORE__DAGS_FOLDER=str(code / "dags"), AIRFLOW__CORE__PLUGINS_FOLDER=str(code / "plugins"),
            PYTHONPATH=str(code / "plugins"),  # the host's copy of take5_ops, before the installed one
            # the task's hostname is the host's address: the api-server fetches live logs from it
            AIRFLOW__CORE__HOSTNAME_CALLABLE="airflow.utils.net.get_host_ip_address",
        )
        name = self.net.hostname(n)
        for kind, queue, slots in (("cpu", "cpu", self.slots), ("light", "default", LIGHT_SLOTS)):
            cmd = self.net.exec_prefix(n) + [
                str(BIN / "airflow"), "celery", "worker", "--queues", queue, "--concurrency", str(slots),
                "--celery-hostname", f"{kind}@{name}", "--pid", str(home / "airflow" / f"worker-{kind}.pid")]
            if kind == "light":  # one log server a host (port LOG_PORT): the cpu worker's
                cmd.append("--skip-serve-logs")
            self.add(Component(f"worker-{n}-{kind}", cmd, VAR / "logs" / f"worker-{n}-{kind}.log", env=env,
                               cwd=home / "work"))
        log(f"worker host {name} at {self.net.address(n)} (namespace {self.net.namespace(n)}, folder "
            f"{home}, log server :{LOG_PORT})")

    # -- stop -----------------------------------------------------------------
    def stop(self) -> None:
        # the workers first (warm shutdown: their running tasks may end), then what they use
        try:
            terminate_groups([c for c in self.components if c.name.startswith("worker-")])
            super().stop()
            terminate_groups([c for c in self.components if c.name == "redis"])
        finally:  # the host's network is given back whatever failed above
            netns.remove([self.net.namespace(n) for n in range(1, WORKERS + 1)], self.net.bridge)
            log(f"removed the worker namespaces and the bridge {self.net.bridge}")


if __name__ == "__main__":
    if os.geteuid() != 0:
        log("the cluster creates network namespaces: run it as root")
        sys.exit(1)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sys.exit(stack.run(Cluster))
