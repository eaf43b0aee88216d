"""Airflow settings for the tests: a private ``AIRFLOW_HOME`` in a temporary folder.

Import this module, and call :func:`configure`, before anything imports
Airflow: Airflow reads its configuration once, at import. :func:`migrate`
creates the SQLite metadata database (``airflow db migrate``, a few seconds),
once per process, for tests that need it (``dag.test()``, DB sync).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers.paths import DAGS, PLUGINS

_HOME: Path | None = None


def configure() -> Path:
    """Point Airflow at a temporary home (no examples, dags/ and plugins/ of the repo); return the home."""
    global _HOME
    if _HOME is None:
        if "airflow" in sys.modules and not os.environ.get("AIRFLOW_HOME", "").startswith(tempfile.gettempdir()):
            raise RuntimeError("Airflow was imported before tests/airflow_env.configure(): its settings are fixed")
        _HOME = Path(tempfile.mkdtemp(prefix="take5-airflow-"))
        atexit.register(shutil.rmtree, _HOME, True)
        os.environ.update(
            AIRFLOW_HOME=str(_HOME),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
            AIRFLOW__CORE__PLUGINS_FOLDER=str(PLUGINS),
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
            TAKE5_TASK_RETRIES="0",
        )
    return _HOME


def migrate() -> None:
    """Create the metadata database of the test home (once per process)."""
    home = configure()
    marker = home / ".migrated"
    if marker.exists():
        return
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, env=dict(os.environ),
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker.touch()


def use_s3(monkeypatch, endpoint: str, stores: dict) -> None:
    """Point the ``aws_default`` connection at the S3 server ``endpoint`` and the bucket names at ``stores``."""
    import json

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}))
    for role, store in stores.items():
        monkeypatch.setenv(f"TAKE5_{role.upper()}_BUCKET", store.bucket)


def dag_bag(configs: Path):
    """The DagBag of ``dags/`` with the site configs of the folder ``configs``; no import error. ``dag.test()``
    parses ``dags/`` again: :func:`helpers.dag_test.run` gives it the same folder (``bag.site_configs``)."""
    import pytest
    from airflow.dag_processing.dagbag import DagBag

    migrate()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAKE5_SITE_CONFIGS", str(configs))
        bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    bag.site_configs = configs
    return bag


def site_bag(configs: Path, sites: list):
    """:func:`dag_bag` of the site configs ``sites``, written as YAML into ``configs``."""
    import yaml

    for site in sites:
        (configs / f"{site.site_id}.yaml").write_text(yaml.safe_dump(site.model_dump(mode="json")))
    return dag_bag(configs)
