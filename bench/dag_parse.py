"""Benchmark: total parse time of the site DAGs, as ``airflow dags report`` prints it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run() -> list[dict]:
    """Parse ``dags/`` with ``airflow dags report`` and return the benchmark rows."""
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, AIRFLOW_HOME=home, AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
                   AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
        airflow = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        out = subprocess.run([airflow, "dags", "report", "-o", "json"], env=env, check=True,
                             capture_output=True, text=True).stdout
    rows = json.loads(out[out.index("[{"):])
    seconds = sum(_seconds(r["duration"]) for r in rows)
    dags = sum(int(r["dag_num"]) for r in rows)
    return [{"measure": f"parse of all {dags} DAGs (`airflow dags report`)", "value": f"{seconds:.2f} s",
             "target": "≤ 2 s", "comparison": "", "ok": seconds <= 2.0}]


def _seconds(text: str) -> float:
    """``0:00:01.234567`` -> seconds."""
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


if __name__ == "__main__":
    for row in run():
        print(row)
