"""A small client of Airflow 3's REST API (``/api/v2``) for tests and benchmarks: a token from
``/auth/token`` (simple auth manager), JSON in and out, no dependency beyond the standard library."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC


class AirflowAPI:
    def __init__(self, base_url: str, username: str = "admin", password: str | None = None):
        self.base = base_url.rstrip("/")
        self.username, self.password = username, password
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": self.username, "password": self.password}).encode()
            req = urllib.request.Request(f"{self.base}/auth/token", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                self._token = json.loads(r.read())["access_token"]
        return self._token

    def request(self, method: str, path: str, body=None, params: dict | None = None, *, raw: bool = False,
                timeout: float = 60, patience: float = 180):
        """One API call; a server error or an unreachable server is retried every 2 s for ``patience``
        seconds (the api-server answers 500 while its database restarts), an expired token once."""
        url = f"{self.base}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        deadline, renewed = time.monotonic() + patience, False
        while True:
            req = urllib.request.Request(url, data=data, method=method, headers={
                "Authorization": f"Bearer {self.token()}", "Content-Type": "application/json",
                "Accept": "text/plain" if raw else "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    payload = r.read()
                return payload.decode() if raw else (json.loads(payload) if payload else None)
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and not renewed:
                    self._token, renewed = None, True
                    continue
                if exc.code < 500 or time.monotonic() >= deadline:
                    raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:500]!r}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if time.monotonic() >= deadline:
                    raise
            time.sleep(2)

    def get(self, path: str, **params):
        return self.request("GET", path, params=params or None)

    def health(self) -> dict:
        """The components' health (``/api/v2/monitor/health``, no token needed)."""
        return self.request("GET", "/api/v2/monitor/health")

    def dag_ids(self, prefix: str = "take5_") -> list[str]:
        out, offset = [], 0
        while True:  # the API serves at most 100 a page
            page = self.get("/api/v2/dags", limit=100, offset=offset, dag_id_pattern=prefix)
            out += [d["dag_id"] for d in page["dags"]]
            offset += len(page["dags"])
            if not page["dags"] or offset >= page["total_entries"]:
                return sorted(out)

    def count(self, path: str, **params) -> int:
        """``total_entries`` of a list endpoint."""
        return self.get(path, limit=1, **params)["total_entries"]

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        from datetime import datetime

        run = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                           {"logical_date": None, "conf": conf or {},
                            "run_after": datetime.now(UTC).isoformat()})
        return run["dag_run_id"]

    def task_instances(self, dag_id: str = "~", run_id: str = "~", **params) -> list[dict]:
        out, offset = [], 0
        while True:
            page = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100, offset=offset,
                            **params)
            out += page["task_instances"]
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                return out

    def dag_runs(self, dag_id: str = "~", **params) -> list[dict]:
        out, offset = [], 0
        while True:
            page = self.get(f"/api/v2/dags/{dag_id}/dagRuns", limit=100, offset=offset, **params)
            out += page["dag_runs"]
            offset += len(page["dag_runs"])
            if not page["dag_runs"] or offset >= page["total_entries"]:
                return out

    def task_log_events(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1,
                        map_index: int = -1) -> list[dict]:
        """The structured log of a task try: a list of events (``timestamp``, ``event``, ...)."""
        got = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/"
                                  f"{try_number}", params={"map_index": map_index, "full_content": "true"})
        content = got.get("content", []) if isinstance(got, dict) else []
        return [e for e in content if isinstance(e, dict)]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """The log of a task try as text, one ``timestamp event`` line per event."""
        return "\n".join(f"{e.get('timestamp', '')} {e.get('event', '')}"
                         for e in self.task_log_events(dag_id, run_id, task_id, try_number, map_index))
