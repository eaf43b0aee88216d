"""Running a DAG in-process with ``dag.test()`` and reading back its states."""

from __future__ import annotations

import pytest


def run(bag, dag_id: str, **conf) -> dict:
    """``dag.test()``; the run state and every task's state. ``dag.test()`` parses and saves every DAG of
    ``dags/`` again: with the bag's site configs (:func:`helpers.airflow_env.dag_bag`), not the 150 sites."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAKE5_SITE_CONFIGS", str(bag.site_configs))
        dagrun = bag.get_dag(dag_id).test(run_conf=conf or None)
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        dagrun = session.get(DagRun, dagrun.id)
        tasks = {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state)
                 for ti in dagrun.get_task_instances(session=session)}
        return {"state": str(dagrun.state), "tasks": tasks}
