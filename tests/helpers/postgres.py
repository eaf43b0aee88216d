"""A throwaway PostgreSQL server for a test module: the stack's own code (``scripts/stack_postgres.py``)
initializes a cluster in a temporary folder and runs it on a free port; stopped and removed after."""

from __future__ import annotations

import importlib.util
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from helpers.net import free_port
from helpers.paths import ROOT


def _stack_postgres():
    spec = importlib.util.spec_from_file_location("stack_postgres", ROOT / "scripts" / "stack_postgres.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ThrowawayPostgres:
    """``start()``, then :meth:`database` gives a role and a database; ``stop()`` removes everything."""

    def __init__(self):
        self.pg = _stack_postgres()
        self.home = Path(tempfile.mkdtemp(prefix="take5-pg-"))
        self.home.chmod(0o755)  # as root, PostgreSQL runs as the postgres user: it must reach the cluster
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.proc: subprocess.Popen | None = None

    def start(self) -> ThrowawayPostgres:
        bin_dir = self.pg.install(print)
        data = self.pg.initialize(bin_dir, self.home / "pg", self.password, lambda _msg: None)
        with open(self.home / "postgres.log", "wb") as log:
            self.proc = subprocess.Popen(self.pg.server_command(bin_dir, data, self.port), env=self.pg.pg_env(),
                                         stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
                                         **self.pg.run_as())
        self.pg.wait_ready(self.port, self.password)
        return self

    def database(self, user: str, dbname: str) -> str:
        """Create the role and database; return their libpq URL."""
        password = secrets.token_urlsafe(16)
        self.pg.ensure_database(self.port, self.password, password, user=user, dbname=dbname)
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)
