"""Shared fixtures: a real S3-compatible server (moto in server mode, over HTTP)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE_CONFIGS = ROOT / "include" / "site_configs"
BUCKET_NAMES = {"l1a": "take5-l1a", "aux": "take5-aux", "work": "take5-work", "dist": "take5-dist"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


@pytest.fixture(scope="session")
def s3_endpoint():
    """URL of a moto S3 server started for the test session (real HTTP)."""
    port = free_port()
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def _aws_env():
    """Dummy credentials so that boto3 never looks further."""
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def s3_buckets(s3_endpoint, request):
    """Fresh, empty buckets on the S3 server: {"l1a": S3Store, "aux": ..., "work": ..., "dist": ...}.

    Bucket names get a per-test suffix so that tests never see each other's objects.
    """
    from take5_ops.storage import S3Store

    suffix = f"{abs(hash(request.node.nodeid)) % 10**8:08d}"
    stores = {}
    for role, name in BUCKET_NAMES.items():
        store = S3Store.from_endpoint(f"{name}-{suffix}", s3_endpoint)
        store.client.create_bucket(Bucket=store.bucket)
        stores[role] = store
    yield stores
    for store in stores.values():
        for info in list(store.list()):
            store.delete(info.key)
        store.client.delete_bucket(Bucket=store.bucket)
