"""A PostgreSQL (with PostGIS) and the STAC API server on free ports, for the tests and the API benchmark.

The same functions as the stack (``scripts/stack_postgres.py``, ``scripts/stack_stacapi.py``), in a
private folder below /tmp (PostgreSQL runs as the ``postgres`` user when we are root: it must reach it).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers.net import free_port
from helpers.paths import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import stack_postgres as pg
import stack_stacapi


class StacApiServer:
    """``start()`` → ``url`` (the API), ``db_url`` (what ``TAKE5_STAC_API_DB`` holds); ``stop()`` ends both."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="take5-stacapi-", dir="/tmp"))
        self.home.chmod(0o755)
        self.pg_port, self.port = free_port(), free_port()
        self.superuser_password = secrets.token_urlsafe(16)
        self.api_password = secrets.token_urlsafe(16)
        self.postgres: subprocess.Popen | None = None
        self.server: subprocess.Popen | None = None
        self.url = self.db_url = ""

    def start(self) -> StacApiServer:
        """Start both, or stop what started and raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> StacApiServer:
        bin_dir = pg.install(print)
        data = pg.initialize(bin_dir, self.home / "pg", self.superuser_password, lambda _msg: None)
        with open(self.home / "postgres.log", "ab") as out:
            self.postgres = subprocess.Popen(pg.server_command(bin_dir, data, self.pg_port), env=pg.pg_env(),
                                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                             **pg.run_as())
        pg.wait_ready(self.pg_port, self.superuser_password)
        self.server, self.url, self.db_url = stack_stacapi.start_stac_api(
            self.pg_port, self.superuser_password, self.api_password, self.port,
            logfile=self.home / "stacapi.log", log=lambda _msg: None)
        return self

    def log(self) -> str:
        path = self.home / "stacapi.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def stop(self) -> None:
        for proc, sig in ((self.server, signal.SIGTERM), (self.postgres, signal.SIGINT)):
            if proc is None:
                continue
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=30)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        shutil.rmtree(self.home, ignore_errors=True)
