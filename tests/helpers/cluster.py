"""Start and stop the cluster profile (``scripts/cluster.py``) for tests and benchmarks, and act on it:
run a site DAG through it, stop and start its components, read what its workers did."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

from helpers.embedded_stack import PORT_NAMES, EmbeddedStack
from helpers.paths import ROOT


class Cluster(EmbeddedStack):
    """The cluster in a private folder, on free ports, with its own bridge subnet (``10.232.<n>.0/24``)."""

    script = ROOT / "scripts" / "cluster.py"
    port_names = PORT_NAMES + ("TAKE5_REDIS_PORT", "TAKE5_LOG_PORT")

    def __init__(self, extra_env: dict | None = None, **kwargs):
        super().__init__(extra_env=extra_env, **kwargs)
        self.env.setdefault("TAKE5_CLUSTER_NET", f"10.232.{int(self.ports['TAKE5_API_PORT']) % 250}")

    def worker_of(self, address: str) -> int:
        """The number of the worker host whose address a task instance recorded as its hostname."""
        return int(address.rsplit(".", 1)[1]) - 10

    def addresses(self) -> set[str]:
        return set(self.state()["workers"].values())

    def hold(self, component: str, on: bool = True) -> None:
        """``stack.py hold|release``: stop a component and keep it stopped, or start it again; wait until done."""
        subprocess.run([sys.executable, str(ROOT / "scripts" / "stack.py"), "hold" if on else "release", component],
                       env=self.env, check=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = component in self.state()["components"]
            if running != on:
                return
            time.sleep(0.5)
        raise RuntimeError(f"{component} not {'stopped' if on else 'started'} after 120 s")

    def kill(self, component: str, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` to a component's process group and to every process it started (a Celery worker's
        task processes have groups of their own); return its pid."""
        import psutil

        pid = self.pid_of(component)
        started = psutil.Process(pid).children(recursive=True)
        os.killpg(pid, sig)
        for p in started:
            try:
                p.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        return pid


def digest(store) -> dict[str, str]:
    """SHA-256 of every object of a bucket, by key."""
    return {info.key: hashlib.sha256(store.get_bytes(info.key)).hexdigest() for info in store.list()}


def empty(store) -> None:
    for info in list(store.list()):
        store.delete(info.key)


def xcom(api, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
    got = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")
    value = got["value"]
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
