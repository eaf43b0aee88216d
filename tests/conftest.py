"""Fixtures of every tier: a real S3-compatible server (moto in server mode, over HTTP), fresh buckets on it,
a real SMTP server (aiosmtpd), the simulated L2A series. Builders live in ``tests/helpers``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.l2a_campaign import make_campaign
from helpers.net import free_port, wait_port
from helpers.smtp import Inbox
from take5_ops.storage.buckets import ROLES, default_name


@pytest.fixture(scope="session")
def s3_endpoint():
    """URL of a moto S3 server started for the test session (real HTTP)."""
    port = free_port()
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
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
    for role in ROLES:
        name = default_name(role)
        store = S3Store.from_endpoint(f"{name}-{suffix}", s3_endpoint)
        store.client.create_bucket(Bucket=store.bucket)
        stores[role] = store
    yield stores
    for store in stores.values():
        for info in list(store.list()):
            store.delete(info.key)
        store.client.delete_bucket(Bucket=store.bucket)


@pytest.fixture
def smtp():
    """A real SMTP server on localhost (aiosmtpd) keeping every message: ``.messages``, ``.envelopes``, ``.port``."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ready_timeout=30)
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """Nine simulated dates of FrancePornic over 40 days, their deliveries and L1C products (helpers.l2a_campaign)."""
    return make_campaign(tmp_path_factory.mktemp("l2a-chain"))
