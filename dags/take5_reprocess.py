"""``take5_reprocess``: bring products to the current processor versions across sites, on request.

Triggered from the UI with params: ``sites`` ("all" or SITE_IDs), ``levels`` (L1C, L2A), ``since``
(acquired on or after; empty: every product), ``reason``. ``plan`` lists what each site still has
to do (nothing once done: a rerun after an interruption resumes), then per site, mapped and bounded
by the ``take5_cpu`` pool: ``l1c`` (new L1C versions processed and published), ``l2a`` (the series
replayed where older or where its inputs changed), ``finish`` (the new versions linked, the old ones
withdrawn after); ``audit`` checks the sites at the end. See docs/operations.md ("Versions and fleet
reprocessing").
"""

from airflow.sdk import Param, TriggerRule, task, task_group

from take5_ops.airflow import reprocess
from take5_ops.airflow.factory import CPU_POOL, campaign_dag, configs_folder

with campaign_dag(
    "take5_reprocess", "Take5: reprocess products to the current processor versions (sites, levels, since)",
    None, "reprocess", __doc__,
    {"sites": Param("all", type="string", description="'all', or SITE_IDs separated by commas or spaces"),
     "levels": Param(["L1C", "L2A"], type="array", items={"type": "string", "enum": ["L1C", "L2A"]},
                     description="the levels whose processor version changed"),
     "since": Param(None, type=["null", "string"], format="date",
                    description="only products acquired on or after this date (YYYY-MM-DD); empty: all"),
     "reason": Param("", type="string", minLength=1, description="why (e.g. the fix that bumped the version)")},
) as dag:
    plans = task(reprocess.plan, task_id="plan")(configs_folder=str(configs_folder(__file__)))

    @task_group(group_id="site")
    def per_site(plan: dict):
        l1c = task(reprocess.l1c, task_id="l1c", pool=CPU_POOL, map_index_template=reprocess.MAP_INDEX_TEMPLATE)(
            plan=plan)
        l2a = task(reprocess.l2a, task_id="l2a", pool=CPU_POOL, map_index_template=reprocess.MAP_INDEX_TEMPLATE)(
            plan=plan)
        finish = task(reprocess.finish, task_id="finish", trigger_rule=TriggerRule.ALL_DONE,
                      map_index_template=reprocess.MAP_INDEX_TEMPLATE)(plan=plan)
        l1c >> l2a >> finish
        return finish

    per_site.expand(plan=plans) >> task(reprocess.audit, task_id="audit")(plans=plans)
