"""The cluster's Celery broker: Redis (Debian package ``redis-server``), supervised by ``scripts/cluster.py``.

Run in the foreground on the addresses given, with a password (the workers reach it from other
hosts), its append-only file in ``<var>/redis/`` so that queued task messages survive a restart
of the broker (``appendfsync everysec``: at most a second of messages lost on a crash).
"""

from __future__ import annotations

import shutil
from pathlib import Path


def install(log) -> str:
    """The path of ``redis-server``, installing the Debian package when missing."""
    found = shutil.which("redis-server")
    if found:
        return found
    from stack_debian import apt_install

    log("Redis is not installed")
    apt_install("redis-server", log)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("apt-get installed redis-server but it is not on PATH")
    return found


def server_command(exe: str, folder: Path, addresses: list[str], port: int, password: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return [exe, "--port", str(port), "--bind", *addresses, "--requirepass", password, "--dir", str(folder),
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no",
            "--loglevel", "warning"]


def url(host: str, port: int, password: str) -> str:
    from urllib.parse import quote

    return f"redis://:{quote(password, safe='')}@{host}:{port}/0"
