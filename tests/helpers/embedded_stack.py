"""Start and stop the embedded stack (``scripts/stack.py``) for tests and benchmarks.

The stack runs in a private folder (``TAKE5_STACK_VAR``) on ports below the ephemeral range
(32768-60999) that a ``make run`` does not use, without the demo campaign. Stopping it checks
that nothing it started is left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.airflow_api import AirflowAPI
from helpers.paths import ROOT

STACK = ROOT / "scripts" / "stack.py"
PORT_NAMES = ("TAKE5_PG_PORT", "TAKE5_S3_PORT", "TAKE5_SMTP_PORT", "TAKE5_API_PORT", "TAKE5_STAC_API_PORT")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports(count: int, low: int = 21000, high: int = 32000) -> list[int]:
    """``count`` free TCP ports, below the ephemeral range and away from make run's (8080, 9000, 2525, 15432)."""
    found, port = [], low + (os.getpid() * 7) % 1000
    while len(found) < count and port < high:
        if _free(port):
            found.append(port)
        port += 1
    if len(found) < count:
        raise RuntimeError("no free ports")
    return found


class EmbeddedStack:
    script = STACK  # what ``start`` runs (the cluster's helper runs scripts/cluster.py)
    port_names = PORT_NAMES

    def __init__(self, home: Path | None = None, extra_env: dict | None = None):
        self.home = home or Path(tempfile.mkdtemp(prefix="take5-stack-", dir="/tmp"))
        self.home.chmod(0o755)  # PostgreSQL runs as the postgres user: it must reach var/pg
        self.var = self.home / "var"
        ports = dict(zip(self.port_names, free_ports(len(self.port_names))))
        self.env = dict(os.environ, TAKE5_STACK_VAR=str(self.var), TAKE5_DEMO_SITES="",
                        **{k: str(v) for k, v in ports.items()}, **(extra_env or {}))
        self.ports = ports
        self.api_url = f"http://127.0.0.1:{ports['TAKE5_API_PORT']}"
        self.s3_endpoint = f"http://127.0.0.1:{ports['TAKE5_S3_PORT']}"
        self.out = self.home / "stack.out"
        self.proc: subprocess.Popen | None = None
        self.api: AirflowAPI | None = None
        self.started_in = 0.0

    def start(self, timeout: float = 420) -> EmbeddedStack:
        t0 = time.monotonic()
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, str(self.script), "run"], env=self.env, cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        while "running; Ctrl-C" not in self.output():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the stack exited ({self.proc.returncode}):\n{self.output()[-5000:]}")
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"the stack did not start within {timeout:.0f}s:\n{self.output()[-5000:]}")
            time.sleep(1)
        self.started_in = time.monotonic() - t0
        password = json.loads((self.var / "airflow" / "simple_auth_manager_passwords.json.generated").read_text())
        self.api = AirflowAPI(self.api_url, "admin", password["admin"])
        return self

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def state(self) -> dict:
        return json.loads((self.var / "stack.json").read_text())

    def pid_of(self, component: str) -> int:
        return self.state()["components"][component]

    def stop(self, timeout: float = 180) -> list[str]:
        """Stop the stack as ``make stop`` does; return what is left of its components (nothing, normally)."""
        groups = []
        try:
            groups = list(self.state()["components"].items())
        except (OSError, ValueError):
            pass
        if self.proc is not None and self.proc.poll() is None:
            try:
                subprocess.run([sys.executable, str(STACK), "stop"], env=self.env, cwd=ROOT, timeout=timeout + 10)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        left = []
        for name, pgid in groups:
            try:
                os.killpg(pgid, 0)
                left.append(f"{name} (process group {pgid})")
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def stores(self) -> dict:
        from take5_ops.storage import S3Store

        return {role: S3Store.from_endpoint(f"take5-{role}", self.s3_endpoint) for role in ("l1a", "aux", "work", "dist")}
