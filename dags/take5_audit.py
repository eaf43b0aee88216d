"""``take5_audit``: the weekly reconciliation of every site (deliveries, ledger, products, Items,
files, collection, Metalinks, pages); fails while an inconsistency is left. Triggered with the param
``repair`` true, it applies the safe fixes first. See docs/operations.md ("Audit and repair").
"""

from datetime import UTC, datetime

from airflow.sdk import DAG, Param, task

from take5_ops.airflow import audit
from take5_ops.airflow.factory import configs_folder

with DAG(
    dag_id="take5_audit",
    description="Take5: weekly audit of every site's state, safe repairs on request",
    schedule="0 4 * * 1",
    start_date=datetime(2015, 4, 8, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["take5", "audit"],
    doc_md=__doc__,
    params={"repair": Param(False, type="boolean", description="apply the safe fixes, then audit again")},
    default_args={"owner": "take5", "retries": 0},
) as dag:
    task(audit.audit_sites, task_id="audit_sites")(configs_folder=str(configs_folder(__file__)),
                                                   repair="{{ params.repair }}")
