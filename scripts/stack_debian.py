"""Debian packages the stacks install when missing (PostgreSQL, Redis): ``apt-get``, as root or with sudo."""

from __future__ import annotations

import os
import subprocess


def apt_install(package: str, log) -> None:
    log(f"installing the Debian package {package} (apt-get)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", package], check=True, env=env)
