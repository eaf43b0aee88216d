"""A site DAG run with ``dag.test()`` in a subprocess of its own (``helpers/dag_runner.py``), with the Airflow
settings, the S3 connection and the buckets given by environment: the reference run of the end-to-end and
cluster tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.paths import ROOT


def airflow_env(home: Path, configs: Path, endpoint: str, buckets: dict) -> dict:
    """Environment of a ``dag.test()`` subprocess: its Airflow home, the site configurations, S3 at ``endpoint``."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        TAKE5_SITE_CONFIGS=str(configs),
        TAKE5_TASK_RETRIES="0",
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps({
            "conn_type": "aws", "login": "testing", "password": "testing",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }),
    )
    env.update({f"TAKE5_{role.upper()}_BUCKET": store.bucket for role, store in buckets.items()})
    return env


def migrate(env: dict) -> None:
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True)


def run_dag(env: dict, dag_id: str, conf: dict, timeout: float = 600) -> dict:
    """``dag.test()`` of ``dag_id``: ``{"state": ..., "tasks": {task[map_index]: state}}``."""
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "helpers" / "dag_runner.py"), dag_id, json.dumps(conf)],
                          env=env, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(lines[-1][len("RESULT "):])
