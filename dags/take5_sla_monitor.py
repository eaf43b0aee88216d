"""``take5_sla_monitor``: the daily product-level SLA check over every site, and the weekly digest.

Catches what the site DAGs cannot: a site that went quiet (no run finds anything) still gets its
missing acquisitions alerted. See docs/sla.md. The param ``now`` (ISO 8601 with its offset)
judges at another moment (replays, tests); empty: the wall clock.
"""

from airflow.sdk import Param, TriggerRule, task

from take5_ops.airflow import sla
from take5_ops.airflow.factory import campaign_dag, configs_folder

with campaign_dag(
    "take5_sla_monitor", "Take5: daily product-level SLA check of every site (3-week target), weekly digest",
    "0 6 * * *", "sla", __doc__,
    {"now": Param(None, type=["null", "string"], description="judge at this moment (ISO 8601 with offset); empty: now")},
) as dag:
    folder = str(configs_folder(__file__))
    checked = task(sla.check_sites, task_id="check_sites")(configs_folder=folder, now="{{ params.now or '' }}")
    checked >> task(sla.weekly_digest, task_id="weekly_digest", trigger_rule=TriggerRule.ALL_DONE)(
        configs_folder=folder, now="{{ params.now or '' }}")
