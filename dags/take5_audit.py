"""``take5_audit``: the weekly reconciliation of every site (deliveries, ledger, products, Items,
files, collection, Metalinks, pages); fails while an inconsistency is left. Triggered with the param
``repair`` true, it applies the safe fixes first. See docs/operations.md ("Audit and repair").
"""

from airflow.sdk import Param, task

from take5_ops.airflow import audit
from take5_ops.airflow.factory import campaign_dag, configs_folder

with campaign_dag(
    "take5_audit", "Take5: weekly audit of every site's state, safe repairs on request", "0 4 * * 1", "audit",
    __doc__, {"repair": Param(False, type="boolean", description="apply the safe fixes, then audit again")},
) as dag:
    task(audit.audit_sites, task_id="audit_sites")(configs_folder=str(configs_folder(__file__)),
                                                   repair="{{ params.repair }}")
