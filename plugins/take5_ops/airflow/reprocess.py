"""The tasks of the ``take5_reprocess`` DAG: each one call into :mod:`take5_ops.reprocess`.

A plan is a JSON dict (:func:`take5_ops.reprocess.plan_site` plus the site's configuration), so
that every task runs on any worker from the stores alone.
"""

from __future__ import annotations

import logging

from airflow.sdk.exceptions import AirflowFailException

from take5_ops.airflow.errors import EarlierFailures

log = logging.getLogger(__name__)
MAP_INDEX_TEMPLATE = "{{ take5_site }}"
SITE_STEPS = ("site.l1c", "site.l2a")  # the task ids of the steps finish reports on


def _buckets():
    from take5_ops.airflow.hooks import Take5Hook

    return Take5Hook().buckets()


def _site(plan: dict):
    from airflow.sdk import get_current_context

    from take5_ops.siteconfig import SiteConfig

    get_current_context()["take5_site"] = plan["site_id"]
    return SiteConfig.model_validate(plan["site"])


def chosen_sites(configs_folder: str, sites) -> list:
    """The configurations ``sites`` names (``"all"``, or SITE_IDs separated by commas or spaces, or a
    list); an unknown SITE_ID fails the task with the known ones."""
    from take5_ops.airflow.sla import load_sites

    configs = {s.site_id: s for s in load_sites(configs_folder)}
    wanted = sites if isinstance(sites, list) else str(sites or "").replace(",", " ").split()
    if wanted in (["all"], ["*"]):
        return [configs[k] for k in sorted(configs)]
    unknown = sorted(set(wanted) - set(configs))
    if unknown or not wanted:
        raise AirflowFailException(f"sites: {', '.join(unknown) or 'none given'} not among the "
                                   f"{len(configs)} configured sites (or 'all')")
    return [configs[k] for k in sorted(set(wanted))]


def plan(configs_folder: str) -> list[dict]:
    """What each site the params choose still has to reprocess to the current processor versions (one
    plan per site, for the mapped tasks); nothing is written."""
    from datetime import date

    from airflow.sdk import get_current_context

    from take5_ops.reprocess import plan_site

    params = get_current_context()["params"]
    sites, levels, since, reason = (params.get(k) for k in ("sites", "levels", "since", "reason"))
    if not str(reason or "").strip():
        raise AirflowFailException("reason: say why the products are reprocessed (it goes into the logs)")
    levels = [levels] if isinstance(levels, str) else list(levels or ())
    start = date.fromisoformat(since) if since else None
    buckets = _buckets()
    plans = []
    for site in chosen_sites(configs_folder, sites):
        p = plan_site(buckets, site, levels, start)
        plans.append({**p, "site": site.model_dump(mode="json")})
    log.info("reprocessing %d site(s) to %s, from %s: %s; %d L1C product(s), %d L2A series to replay",
             len(plans), plans[0]["versions"] if plans else levels, since or "the start", reason,
             sum(len(p["l1c"]) for p in plans), sum(1 for p in plans if p["l2a_from"]))
    return plans


def _raise_failed(what: str, failed: dict) -> None:
    if failed:
        raise AirflowFailException(f"{what}: {len(failed)} failed (a rerun redoes them): " +
                                   "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))


def l1c(plan: dict) -> list[str]:
    """The site's planned L1C products, processed and published at the current version."""
    from take5_ops.reprocess import reprocess_l1c

    done = reprocess_l1c(_buckets(), _site(plan), plan)
    log.info("%s: %d L1C product(s) published at version %s (%d by an earlier run)", plan["site_id"],
             len(done["published"]), plan["versions"].get("L1C", "unchanged"), done["already"])
    _raise_failed(f"{plan['site_id']} L1C", done["failed"])
    return done["published"]


def l2a(plan: dict) -> list[str]:
    """The site's L2A series replayed where it is older (or its inputs changed), new products published."""
    from take5_ops.reprocess import reprocess_l2a

    done = reprocess_l2a(_buckets(), _site(plan), plan)
    log.info("%s: %d L2A step(s) run, %d product(s) published", plan["site_id"], done["processed"],
             len(done["published"]))
    _raise_failed(f"{plan['site_id']} L2A", done["failed"])
    return done["published"]


def finish(plan: dict) -> dict:
    """Link the new versions, withdraw the old ones after; fails when the site's L1C or L2A failed (what
    they published is linked all the same; a rerun completes the rest)."""
    from airflow.sdk import get_current_context

    from take5_ops.reprocess import finish_site

    summary = finish_site(_buckets(), _site(plan))
    ti = get_current_context()["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, map_index=ti.map_index, task_ids=list(SITE_STEPS),
                                run_ids=[ti.run_id]).get(ti.run_id, {})
    failed = sorted(k for k, v in states.items() if getattr(v, "value", v) in ("failed", "upstream_failed"))
    if failed:
        raise EarlierFailures(f"{plan['site_id']}: linked and withdrawn what was published; failed: "
                              + ", ".join(failed))
    return {k: summary[k] for k in ("collection_items", "withdrawn_versions", "pruned")}


def audit(plans: list[dict]) -> dict:
    """The audit of the reprocessed sites: fails while an inconsistency is left."""
    from take5_ops.audit import run_audit
    from take5_ops.siteconfig import SiteConfig

    sites = [SiteConfig.model_validate(p["site"]) for p in plans or ()]
    report = run_audit(_buckets(), sites)
    for finding in report.findings:
        log.warning("%s", finding.line())
    if not report.clean:
        raise AirflowFailException(f"audit after reprocessing: {len(report.findings)} inconsistency(ies), "
                                   f"{len(report.errors)} site(s) not audited")
    return {"sites": len(sites), "clean": True, "pending": {s: len(p) for s, p in report.pending.items()}}
