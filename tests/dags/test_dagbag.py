"""The site DAGs as Airflow loads them: 150 DAGs, their shape, invalid configs, stable serialization."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import airflow_env
from helpers.paths import ROOT, SITE_CONFIGS

airflow_env.configure()

from airflow.dag_processing.dagbag import DagBag

from take5_ops.siteconfig import load_site_configs

CONFIGS = SITE_CONFIGS
TASKS = {"wait_for_delivery", "validate_deliveries", "l1a", "l1c", "publish", "update_catalog", "l2a_gate", "l2a", "publish_l2a",
         "sla_check"}
MONITORS = ["take5_sla_monitor", "take5_audit", "take5_reprocess"]  # their own DAG files, beside the site DAGs
HEAVY = ("numpy", "rasterio", "boto3", "botocore", "pystac", "pandas", "scipy", "xarray")

# Parses dags/ in a fresh interpreter; prints the heavy modules loaded and every DAG serialized.
PARSE_SCRIPT = f"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder={str(ROOT / "dags")!r})
print(json.dumps({{
    "errors": bag.import_errors,
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
    "dags": {{d: DagSerialization.to_dict(bag.dags[d]) for d in sorted(bag.dags)}},
}}, sort_keys=True))
"""


@pytest.fixture(scope="module")
def sites():
    return load_site_configs(CONFIGS)[0]


@pytest.fixture(scope="module")
def bag():
    return DagBag(dag_folder=str(ROOT / "dags"))


def test_150_dags_no_import_error(bag, sites):
    assert bag.import_errors == {}
    assert sorted(bag.dags) == sorted([*MONITORS, *(f"take5_{s}" for s in sites)])
    assert len(bag.dags) == 153


def test_dag_shape(bag, sites):
    for site_id, site in sites.items():
        dag = bag.dags[f"take5_{site_id}"]
        assert {t.task_id for t in dag.tasks} == TASKS
        t = dag.task_dict
        assert type(t["wait_for_delivery"]).__name__ == "DeliverySensor"
        assert t["wait_for_delivery"].site_id == site_id
        assert t["validate_deliveries"].upstream_task_ids == {"wait_for_delivery"}
        assert t["l1c"].upstream_task_ids == {"validate_deliveries"}
        assert t["publish"].upstream_task_ids == {"l1c"}
        assert t["l2a_gate"].upstream_task_ids == {"publish"}
        assert t["l2a_gate"].trigger_rule == "all_done_min_one_success"
        assert type(t["l2a_gate"]).__name__ == "_BranchPythonDecoratedOperator"
        assert t["l2a"].upstream_task_ids == {"l2a_gate"} and not t["l2a"].is_mapped
        assert t["publish_l2a"].upstream_task_ids == {"l2a"} and t["publish_l2a"].is_mapped
        assert t["l1a"].upstream_task_ids == {"validate_deliveries", "publish"} and t["l1a"].is_mapped
        assert t["l1a"].trigger_rule == "all_done"
        assert t["update_catalog"].upstream_task_ids == {"l1a", "publish", "publish_l2a", "validate_deliveries"}
        assert t["update_catalog"].trigger_rule == "all_done"
        assert t["sla_check"].upstream_task_ids == {"update_catalog"} and t["sla_check"].is_teardown
        assert t["sla_check"].retries == 0 and t["l1c"].on_failure_callback  # the failure e-mail
        assert t["l1c"].pool == "take5_cpu" and t["l2a"].pool == "take5_cpu"
        assert t["publish"].pool == "default_pool"
        # l1c and publish are mapped together, per accepted delivery
        group = dag.task_group_dict["products"]
        assert type(group).__name__ == "MappedTaskGroup"
        assert {t["l1c"].task_group.group_id, t["publish"].task_group.group_id} == {"products"}
        assert not t["validate_deliveries"].is_mapped and not t["update_catalog"].is_mapped
        assert dag.max_active_runs == 1 and dag.catchup is False
        assert dag.start_date.date() == site.first_acquisition
        assert {"take5", f"country:{site.country}", f"cycle-day:{site.cycle_day}"} <= set(dag.tags)
        for text in (site.name, site.country, f"EPSG:{site.grid.epsg}", f"{site.cycle_day} of 5",
                     site.aerosol_model, f"{site.sla.delivery_days} days"):
            assert text in dag.doc_md, (site_id, text)
        assert dag.params["poll_seconds"] == 300 and dag.params["timeout_seconds"] == 6 * 86400
        assert dag.default_args["retries"] == 0  # TAKE5_TASK_RETRIES from airflow_env


def test_schedules_weekly_and_staggered(bag, sites):
    slots = set()
    for site_id, site in sites.items():
        minute, hour, dom, month, dow = bag.dags[f"take5_{site_id}"].timetable.expression.split()
        assert (dom, month) == ("*", "*") and dow == str(site.cycle_day)
        assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24
        slots.add((dow, hour, minute))
    assert len(slots) >= 145  # nearly every site starts at its own time
    assert len({h for _d, h, _m in slots}) == 24


def _copy_project(tmp_path: Path, sites: tuple[str, ...] | None = None) -> Path:
    """dags/ and include/site_configs/ (every site, or only ``sites``) copied under ``tmp_path``."""
    shutil.copytree(ROOT / "dags", tmp_path / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    configs = tmp_path / "include" / "site_configs"
    configs.mkdir(parents=True)
    for path in CONFIGS.glob("*.yaml"):
        if sites is None or path.stem in sites:
            shutil.copy(path, configs)
    return tmp_path / "dags"


def _break(configs: Path) -> None:
    pornic = configs / "FrancePornic.yaml"
    pornic.write_text(pornic.read_text().replace("epsg: 32630", "epsg: 4326"))
    belgium = configs / "Belgium.yaml"
    belgium.write_text("\n".join(line for line in belgium.read_text().splitlines() if not line.startswith("cycle_day")))


def test_broken_configs_give_one_import_error_and_the_others_load(tmp_path):
    dags = _copy_project(tmp_path)
    _break(tmp_path / "include" / "site_configs")
    bag = DagBag(dag_folder=str(dags))
    assert len(bag.dags) == 151  # 148 sites, the SLA monitor, the audit and the reprocessing
    assert "take5_FrancePornic" not in bag.dags and "take5_Belgium" not in bag.dags
    assert list(bag.import_errors) == [str(dags / "take5_site_config_errors.py")]
    error = next(iter(bag.import_errors.values()))
    assert error.startswith("SiteConfigError: 2 invalid site configuration file(s)")
    assert "FrancePornic.yaml: field grid.epsg" in error
    assert "Belgium.yaml: field cycle_day: Field required" in error


def test_env_override_of_the_config_folder(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    configs.mkdir()
    for site_id in ("FinlandSodankyla", "AustraliaLitchfield"):
        shutil.copy(CONFIGS / f"{site_id}.yaml", configs)
    monkeypatch.setenv("TAKE5_SITE_CONFIGS", str(configs))
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert sorted(bag.dags) == sorted(["take5_AustraliaLitchfield", "take5_FinlandSodankyla", *MONITORS])
    assert bag.import_errors == {}


def test_db_sync_keeps_valid_dags_active_beside_the_import_error(tmp_path):
    """The dag-processor's path: DAGs and import errors written to the DB as it does."""
    airflow_env.migrate()
    from airflow.dag_processing.dagbag import sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.errors import ParseImportError
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dags = _copy_project(tmp_path, ("FrancePornic", "Belgium", "FinlandSodankyla", "AustraliaLitchfield", "Burkina"))
    _break(tmp_path / "include" / "site_configs")
    bundle = "take5-test"
    with create_session() as session:
        session.add(DagBundleModel(name=bundle))
    bag = DagBag(dag_folder=str(dags), bundle_path=dags, bundle_name=bundle)
    sync_bag_to_db(bag, bundle, None)
    with create_session() as session:
        rows = session.execute(select(DagModel.dag_id, DagModel.is_stale, DagModel.has_import_errors)
                               .where(DagModel.bundle_name == bundle)).all()
        errors = {e.filename: e.stacktrace for e in
                  session.scalars(select(ParseImportError).where(ParseImportError.bundle_name == bundle))}
    assert sorted(r[0] for r in rows) == sorted(["take5_AustraliaLitchfield", "take5_Burkina", "take5_FinlandSodankyla",
                                                 *MONITORS])
    assert not any(stale or has_errors for _id, stale, has_errors in rows)
    assert list(errors) == ["take5_site_config_errors.py"]
    assert "FrancePornic.yaml: field grid.epsg" in errors["take5_site_config_errors.py"]


def test_parse_is_light_and_serialization_stable():
    """Two fresh interpreters with different hash seeds: no heavy import, identical serialized DAGs."""
    from airflow.serialization.serialized_objects import DagSerialization

    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", PARSE_SCRIPT], env=env, check=True, capture_output=True,
                             text=True).stdout
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    first, second = outputs
    assert first["errors"] == {} and first["heavy"] == [] and second["heavy"] == []
    assert len(first["dags"]) == 153
    assert first["dags"] == second["dags"]
    # and within one process, serializing twice gives the same document
    bag = DagBag(dag_folder=str(ROOT / "dags" / "take5_sites.py"))
    dag = bag.dags["take5_FrancePornic"]
    assert json.dumps(DagSerialization.to_dict(dag), sort_keys=True) == json.dumps(
        DagSerialization.to_dict(dag), sort_keys=True)
