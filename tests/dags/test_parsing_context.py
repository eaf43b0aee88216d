"""A worker builds only the DAG of the task it runs: ``dags/take5_sites.py`` parsed with Airflow's
parsing context of one site's task (what the task runner sets: ``_AIRFLOW_PARSING_CONTEXT_DAG_ID``
and ``_AIRFLOW_PARSING_CONTEXT_TASK_ID``, read by ``airflow.sdk.get_parsing_context()``) builds that
site's DAG only, in ≤ 0.1 s of CPU; without a context (the dag-processor) it builds all 150.

Each parse runs in a fresh interpreter with its own AIRFLOW_HOME (Airflow reads its settings once,
at import), through Airflow's own ``DagBag``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from helpers.paths import ROOT

SITES = len(list((ROOT / "include" / "site_configs").glob("*.yaml")))

PARSE = r"""
import json, logging, sys, time
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("take5_ops.airflow.factory").addHandler(Keep())
logging.getLogger("take5_ops.airflow.factory").setLevel(logging.INFO)
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import get_parsing_context
t0 = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dag_ids": sorted(bag.dag_ids), "errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "seconds": time.perf_counter() - t0, "log": records,
                  "context": get_parsing_context().dag_id}))
"""


def parse(dag_id: str | None, task_id: str | None = "wait_for_delivery") -> dict:
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
        env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False",
                   AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
                   AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"))
        if dag_id:
            env["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = dag_id
            env["_AIRFLOW_PARSING_CONTEXT_TASK_ID"] = task_id or ""
        out = subprocess.run([sys.executable, "-c", PARSE, str(ROOT / "dags" / "take5_sites.py")], env=env,
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def built_cpu_seconds(result: dict) -> float:
    """The CPU time of the factory's ``built N site DAG(s) in W s (C s CPU)`` line (the wall time also
    counts the other processes' turns on a busy machine)."""
    line = next(m for m in result["log"] if m.startswith("built "))
    return float(line.split(" s CPU)")[0].rsplit("(", 1)[1])


def test_the_context_of_one_sites_task_builds_that_site_only():
    got = parse("take5_FrancePornic", "l1c")
    assert got["context"] == "take5_FrancePornic"
    assert got["dag_ids"] == ["take5_FrancePornic"] and got["errors"] == {}
    assert any("built 1 site DAG(s)" in m and "take5_FrancePornic only" in m for m in got["log"]), got["log"]
    # the DAG built is the whole site DAG, the one the dag-processor serializes, at a small part of the cost
    every = parse(None)
    assert every["dag_ids"].count("take5_FrancePornic") == 1
    assert built_cpu_seconds(got) * 10 <= built_cpu_seconds(every)


def test_without_a_context_every_site_is_built():
    got = parse(None)
    assert len(got["dag_ids"]) == SITES and got["errors"] == {}
    assert any(f"built {SITES} site DAG(s)" in m and "no parsing context" in m for m in got["log"]), got["log"]


@pytest.mark.parametrize("dag_id", ["take5_sla_monitor", "take5_NoSuchSite"])
def test_a_context_that_is_not_a_site_builds_every_site(dag_id):
    got = parse(dag_id)
    assert len(got["dag_ids"]) == SITES and got["errors"] == {}
