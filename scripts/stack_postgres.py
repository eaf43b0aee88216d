"""The embedded stack's PostgreSQL: install (Debian package) when missing, initialize a cluster
under ``<var>/pg/``, run it in the foreground (supervised by ``scripts/stack.py``), create the
Airflow database (and, in accounts mode, the accounts database).

PostgreSQL refuses to run as root: when the stack runs as root, ``initdb`` and ``postgres`` run
as the ``postgres`` user (created by the Debian package) and the cluster's folders belong to it.
The server listens on 127.0.0.1 only, on its own port, with its socket in ``<var>/pg/run``
(private to its owner); TCP logins need the password kept in ``<var>/secrets.json``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

DB_NAME = "airflow"
DB_USER = "airflow"
ACCOUNTS_DB = ACCOUNTS_USER = "take5_accounts"  # accounts mode (docs/operations.md, "Accounts")
# Server settings (docs/operations.md): enough connections for the Airflow components' pools
# (5 processes x (pool 5 + overflow 5)) plus the CLI and the tests, fsync on (the data are kept).
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] ",
}


def bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with ``initdb`` and ``postgres``, else from PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
                   if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def install(log) -> Path:
    """PostgreSQL's server binaries, installing the Debian package ``postgresql`` when missing."""
    found = bindir()
    if found:
        return found
    from stack_debian import apt_install

    log("PostgreSQL is not installed")
    apt_install("postgresql", log)
    found = bindir()
    if not found:
        raise RuntimeError("apt-get installed postgresql but no initdb was found under /usr/lib/postgresql")
    return found


def run_as() -> dict:
    """``subprocess`` arguments that run PostgreSQL as ``postgres`` when we are root, else as ourselves."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root, but there is no `postgres` user to run PostgreSQL as "
                           "(it comes with the Debian package postgresql)") from None
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def _own(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _check_traversable(path: Path) -> None:
    """As root, the ``postgres`` user must be able to reach the cluster folder."""
    if os.geteuid() != 0:
        return
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise RuntimeError(f"the postgres user cannot reach {path}: {parent} is not searchable by others "
                               f"(chmod o+x {parent}, or set TAKE5_STACK_VAR to another folder)")


def initialize(bin_dir: Path, pg_root: Path, superuser_password: str, log) -> Path:
    """Create the cluster in ``<pg_root>/data`` once (kept across restarts); return the data folder."""
    data = pg_root / "data"
    _check_traversable(pg_root)
    pg_root.mkdir(parents=True, exist_ok=True)
    _own(pg_root / "run")
    if (data / "PG_VERSION").exists():
        return data
    _own(data)
    pwfile = pg_root / "run" / "initdb.pw"
    pwfile.write_text(superuser_password)
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    try:
        log(f"initializing the PostgreSQL cluster in {data}")
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--locale=C",
                        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
                       check=True, capture_output=True, text=True, env=pg_env(), **run_as())
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"initdb failed:\n{exc.stdout}\n{exc.stderr}") from None
    finally:
        pwfile.unlink(missing_ok=True)
    return data


def pg_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def server_command(bin_dir: Path, data: Path, port: int, listen: str = "127.0.0.1") -> list[str]:
    """The foreground server: ``postgres -D data -p port -k run`` with :data:`SERVER_SETTINGS`,
    listening on ``listen`` (comma-separated addresses)."""
    cmd = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data.parent / "run")]
    for key, value in dict(SERVER_SETTINGS, listen_addresses=listen).items():
        cmd += ["-c", f"{key}={value}"]
    return cmd


def allow_network(data: Path, cidr: str, logins: list[tuple[str, str]]) -> None:
    """Let each ``(database, role)`` of ``logins`` log in (password, SCRAM) from ``cidr`` (the cluster's
    workers); each line once."""
    hba = data / "pg_hba.conf"
    text = hba.read_text()
    lines = [f"host {db} {user} {cidr} scram-sha-256" for db, user in logins]
    new = [line for line in lines if line not in text.splitlines()]
    if new:
        hba.write_text(text.rstrip("\n") + "\n# take5 cluster workers\n" + "\n".join(new) + "\n")


def ensure_database(port: int, superuser_password: str, password: str, *, user: str = DB_USER,
                    dbname: str = DB_NAME) -> None:
    """Create (once) a role and its database (Airflow's by default); keep the role's password in step with ours."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password=superuser_password,
                            dbname="postgres", connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(user)), (password,))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if not cur.fetchone():
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(dbname), sql.Identifier(user)))
    finally:
        conn.close()


def wait_ready(port: int, superuser_password: str, timeout: float = 60) -> None:
    """Wait until the server accepts logins (it opens its port before recovery ends)."""
    import time

    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password=superuser_password,
                             dbname="postgres", connect_timeout=5).close()
            return
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not accept logins on port {port} within {timeout:.0f}s: "
                                   f"{exc}") from None
            time.sleep(0.3)


def sqlalchemy_url(port: int, airflow_password: str, host: str = "127.0.0.1") -> str:
    from urllib.parse import quote

    return f"postgresql+psycopg2://{DB_USER}:{quote(airflow_password, safe='')}@{host}:{port}/{DB_NAME}"


def accounts_url(port: int, password: str) -> str:
    """libpq URL of the accounts database (``TAKE5_ACCOUNTS_DB``)."""
    from urllib.parse import quote

    return f"postgresql://{ACCOUNTS_USER}:{quote(password, safe='')}@127.0.0.1:{port}/{ACCOUNTS_DB}"
