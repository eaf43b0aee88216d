"""The STAC API of the stack: stac-fastapi-pgstac on its own database in the stack's PostgreSQL.

- :func:`prepare_database`: the role and the database ``take5_stac`` (PostGIS), ``pypgstac migrate``
  (idempotent: a database already at pgstac's version is left alone), the take5 queryables; returns the
  database URL that publication writes to (``TAKE5_STAC_API_DB``, docs/distribution.md);
- :func:`server_command` / :func:`server_env`: the uvicorn process serving ``scripts/stacapi_app.py``
  (read-only API: no transaction endpoint), run from its own venv (``.venv-stacapi``, ``make stacapi-venv``: pypgstac 0.10 needs a
  cachetools older than Airflow's);
- :func:`healthy`: ``/_mgmt/health`` answers and says the database is up;
- :func:`start_stac_api`: all of it for a caller without ``scripts/stack.py``'s supervision (the
  cluster profile, the tests, the benchmark): returns the running process and the API's URL.

The stack's PostgreSQL must have PostGIS (Debian ``postgresql-15-postgis-3``, ``make system-deps``).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("TAKE5_STACAPI_VENV", ROOT / ".venv-stacapi"))
DB_NAME = "take5_stac"
DB_USER = "take5_stac"
TITLE = "SPOT5 Take5 STAC API"
DESCRIPTION = ("SPOT5 Take5 (2015): 150 sites imaged every 5 days, Level 1C and Level 2A products. A copy of the "
               "static STAC catalog of the distribution bucket, kept in step by publication.")


def database_url(port: int, password: str, host: str = "127.0.0.1") -> str:
    """The ``postgresql://`` URL of the API's database (what ``TAKE5_STAC_API_DB`` holds)."""
    return f"postgresql://{DB_USER}:{quote(password, safe='')}@{host}:{port}/{DB_NAME}"


def _run_sql(port: int, superuser_password: str, dbname: str, statements: list[tuple[str, tuple]], host: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host=host, port=port, user="postgres", password=superuser_password, dbname=dbname,
                            connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql, args in statements:
                cur.execute(sql, args)
    finally:
        conn.close()


def prepare_database(port: int, superuser_password: str, api_password: str, host: str = "127.0.0.1",
                     log=print) -> str:
    """Create (once) the API's role and database with PostGIS, migrate pgstac, declare the queryables;
    keep the role's password in step. Returns the database URL."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(host=host, port=port, user="postgres", password=superuser_password, dbname="postgres",
                            connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_USER,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(DB_USER)), (api_password,))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if not cur.fetchone():
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(DB_NAME), sql.Identifier(DB_USER)))
    finally:
        conn.close()
    try:
        _run_sql(port, superuser_password, DB_NAME, [("CREATE EXTENSION IF NOT EXISTS postgis", ())], host)
    except psycopg2.Error as exc:
        raise RuntimeError(f"PostGIS is not available to the PostgreSQL on port {port} ({exc}".strip()
                           + "): install the Debian package postgresql-15-postgis-3 (make system-deps)") from None
    t0 = time.monotonic()
    admin = f"postgresql://postgres:{quote(superuser_password, safe='')}@{host}:{port}/{DB_NAME}"
    migrated = subprocess.run([str(VENV / "bin" / "pypgstac"), "migrate", "--dsn", admin],
                              capture_output=True, text=True)
    if migrated.returncode:
        raise RuntimeError(f"pypgstac migrate failed (exit code {migrated.returncode}):\n"
                           f"{migrated.stdout[-2000:]}{migrated.stderr[-3000:]}")
    log(f"pgstac migrated in {time.monotonic() - t0:.1f} s ({(migrated.stdout.strip().splitlines() or [''])[-1]})")
    _run_sql(port, superuser_password, DB_NAME, [
        (sql.SQL("GRANT pgstac_ingest TO {}").format(sql.Identifier(DB_USER)), ()),
        (sql.SQL("ALTER ROLE {} SET search_path TO pgstac, public").format(sql.Identifier(DB_USER)), ()),
    ], host)
    url = database_url(port, api_password, host)
    from take5_ops.distribution.stacapi import StacApiIndex, ensure_queryables

    ensure_queryables(StacApiIndex(url))
    return url


def server_env(pg_port: int, api_password: str, pg_host: str = "127.0.0.1") -> dict[str, str]:
    """The environment of the API server: its database login and its titles."""
    return {
        "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PGHOST": pg_host, "PGPORT": str(pg_port), "PGUSER": DB_USER, "PGPASSWORD": api_password,
        "PGDATABASE": DB_NAME,
        "STAC_FASTAPI_TITLE": TITLE, "STAC_FASTAPI_DESCRIPTION": DESCRIPTION, "STAC_FASTAPI_LANDING_ID": "take5",
        "ENABLE_TRANSACTIONS_EXTENSIONS": "false",  # read-only: publication writes through the database
        "DB_MIN_CONN_SIZE": "1", "DB_MAX_CONN_SIZE": os.environ.get("TAKE5_STACAPI_DB_CONNECTIONS", "5"),
        "LANG": "C.UTF-8",
    }


def server_command(port: int, host: str = "127.0.0.1", workers: int = 1) -> list[str]:
    """uvicorn serving the take5 application (``scripts/stacapi_app.py``: stac-fastapi-pgstac's) on ``host:port``."""
    return [str(VENV / "bin" / "uvicorn"), "stacapi_app:create_app", "--factory", "--app-dir", str(ROOT / "scripts"),
            "--host", host,
            "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]


def healthy(url: str, timeout: float = 10) -> bool:
    """True when ``<url>/_mgmt/health`` answers 200 and reports its database up."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_mgmt/health", timeout=timeout) as r:
            body = json.loads(r.read())
            return r.status == 200 and body.get("status") == "UP"
    except Exception:
        return False


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(url, timeout=5):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the STAC API server exited (code {proc.returncode}) before it was healthy")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the STAC API at {url} was not healthy within {timeout:.0f} s")
        time.sleep(0.3)


def start_stac_api(pg_port: int, superuser_password: str, api_password: str, port: int, *,
                   pg_host: str = "127.0.0.1", host: str = "127.0.0.1", logfile: Path | None = None,
                   log=print) -> tuple[subprocess.Popen, str, str]:
    """Prepare the database, start the server (own process group) and wait until it is healthy.

    Returns ``(process, API URL, database URL)``; stop it with ``os.killpg(process.pid, SIGTERM)``.
    """
    db_url = prepare_database(pg_port, superuser_password, api_password, pg_host, log)
    with open(logfile or os.devnull, "ab") as out:
        proc = subprocess.Popen(server_command(port, host), env=server_env(pg_port, api_password, pg_host), cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://{host}:{port}"
    wait_healthy(url, proc)
    log(f"STAC API on {url} (database {DB_NAME})")
    return proc, url, db_url

