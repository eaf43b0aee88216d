"""The accounts server for tests: a real process (``python -m take5_ops.distribution.accounts.server``)
on a free port, over a real PostgreSQL and the moto S3 server; and the browser-side steps (forms
with their CSRF token) as plain HTTP."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx

from helpers.net import free_port

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


class AccountsServer:
    """``start()`` / ``stop()``; ``url``; ``client()`` gives an httpx client on it (its own cookie jar)."""

    def __init__(self, database_url: str, endpoint: str, dist_bucket: str, work_bucket: str, log: Path,
                 extra_env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = dict(os.environ, TAKE5_ACCOUNTS="1", TAKE5_ACCOUNTS_DB=database_url,
                        TAKE5_ACCOUNTS_SECRET=secrets.token_urlsafe(48), TAKE5_ACCOUNTS_PORT=str(self.port),
                        TAKE5_ACCOUNTS_URL=self.url, TAKE5_S3_ENDPOINT=endpoint, TAKE5_DIST_BUCKET=dist_bucket,
                        TAKE5_WORK_BUCKET=work_bucket, **(extra_env or {}))
        self.env.pop("TAKE5_PUBLIC_URL", None)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> AccountsServer:
        with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([sys.executable, "-m", "take5_ops.distribution.accounts.server"],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the accounts server exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the accounts server did not answer within {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def csrf(client: httpx.Client, path: str) -> str:
    """The CSRF token of the form on ``path`` (GET)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return CSRF_RE.search(page.text)[1]


def sign_up(client: httpx.Client, email: str, password: str = PASSWORD, *, accept: bool = True,
            version: str = "1.0") -> httpx.Response:
    form = {"csrf_token": csrf(client, "/signup"), "email": email, "password": password, "licence_version": version}
    if accept:
        form["accept_licence"] = "on"
    return client.post("/signup", data=form)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/signin", data={"csrf_token": csrf(client, "/signin"), "email": email, "password": password})


def create_token(client: httpx.Client, name: str = "script", days: int = 30) -> str:
    """A new API token, read from the account page that shows it once."""
    page = client.post("/tokens", data={"csrf_token": csrf(client, "/"), "name": name, "days": str(days)})
    assert page.status_code == 200, page.text
    return re.search(r'<code id="token">([^<]+)</code>', page.text)[1]
