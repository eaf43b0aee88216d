"""Run one site DAG with ``dag.test()`` and print its task states (the end-to-end test runs this).

Runs in its own process so that the Airflow settings (``AIRFLOW_HOME``, the
connections) come from the environment the test gives it, whatever else the
test session imported. Usage: ``python dag_runner.py DAG_ID RUN_CONF_JSON``.
"""

import json
import os
import sys

from airflow.dag_processing.dagbag import DagBag


def main() -> None:
    dag_id, conf = sys.argv[1], json.loads(sys.argv[2])
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    run = bag.get_dag(dag_id).test(run_conf=conf)
    from airflow.utils.session import create_session

    with create_session() as session:

        run = session.merge(run)
        tis = run.get_task_instances(session=session)
        states = {}
        for ti in tis:
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
        state = str(run.state.value if hasattr(run.state, "value") else run.state)
    print("RESULT " + json.dumps({"state": state, "tasks": states}, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
