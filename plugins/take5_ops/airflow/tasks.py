"""Task callables of the site DAGs: each one call into :mod:`take5_ops.pipeline`.

``site`` is the site configuration as JSON (``SiteConfig.model_dump(mode="json")``,
fixed when the DAG was parsed), validated again here. The library is imported
inside the callables, never when a DAG file is parsed.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from take5_ops.airflow.errors import EarlierFailures


def _site(site: dict):
    from take5_ops.siteconfig import SiteConfig

    return SiteConfig.model_validate(site)


MAP_INDEX_TEMPLATE = "{{ take5_product }}"


def _label(name: str) -> None:
    """Name the running mapped instance in the UI (rendered through ``MAP_INDEX_TEMPLATE``)."""
    from airflow.sdk import get_current_context

    get_current_context()["take5_product"] = name


def _buckets():
    from take5_ops.airflow.hooks import Take5Hook

    return Take5Hook().buckets()


def validate_deliveries(site: dict) -> list[dict]:
    """Check every pending delivery; quarantine rejects; return the accepted ones."""
    from take5_ops.pipeline import intake

    return intake(_buckets(), _site(site))


def l1c(site: dict, accepted: dict) -> dict:
    """Process one accepted delivery to L1C (one mapped instance).

    A delivery the processor rejects is quarantined by the library; the task
    then fails without retry (retrying cannot fix an input).
    """

    from take5_ops.errors import L1CError
    from take5_ops.pipeline import run_l1c

    _label(accepted["product_id"])
    try:
        return run_l1c(_buckets(), _site(site), accepted)
    except L1CError as exc:
        raise AirflowFailException(f"{accepted['product_id']} rejected by L1C (quarantined): {exc}") from exc


def l1a(site: dict, accepted: dict) -> dict | None:
    """Publish one accepted delivery as its L1A product (one mapped instance; ``None``: the L1C rejected it)."""
    from take5_ops.pipeline import publish_l1a

    _label(accepted["product_id"])
    return publish_l1a(_buckets(), _site(site), accepted)


def publish(site: dict, product: dict) -> dict:
    """Publish one processed product (one mapped instance)."""
    from take5_ops.pipeline import publish as publish_product

    _label(product["product"]["name"])
    return publish_product(_buckets(), _site(site), product)


def l2a_gate(site: dict) -> list[str]:
    """Branch: ``l2a`` when a series of the site has 30 days of history, else nothing (the log and the
    XCom ``message`` say why, e.g. ``history 18/30 days``)."""
    import logging

    from airflow.sdk import get_current_context

    from take5_ops.pipeline import l2a_gate as gate

    is_open, message = gate(_buckets(), _site(site))
    get_current_context()["ti"].xcom_push(key="message", value=message)
    logging.getLogger(__name__).info("%s%s", message, "" if is_open else ": L2A skipped")
    return ["l2a"] if is_open else []


def l2a(site: dict) -> list[dict]:
    """Bring the site's L2A series up to date, date after date with a checkpoint each (a retry resumes).

    Returns the products to publish (the mapped ``publish_l2a`` expands over them); the whole
    summary goes to the XCom ``summary``.
    """
    import logging

    from airflow.sdk import get_current_context

    from take5_ops.pipeline import run_l2a

    done = run_l2a(_buckets(), _site(site))
    get_current_context()["ti"].xcom_push(key="summary", value={k: v for k, v in done.items() if k != "to_publish"})
    log = logging.getLogger(__name__)
    log.info("%s; %d step(s) processed, %d product(s) to publish", done["message"], done["processed"],
             len(done["to_publish"]))
    for name, reason in done["skipped"].items():
        log.error("L2A date skipped: %s: %s", name, reason)
    if done["skipped"]:
        from take5_ops.airflow.notifiers import send_alert

        config = _site(site)
        send_alert(config.sla.contacts, f"[take5] {config.site_id}: L2A skipped {len(done['skipped'])} date(s)",
                   "These L1C products could not be used by the L2A; the series went on without them.",
                   sorted(done["skipped"].items()), get_current_context()["ti"])
    return done["to_publish"]


def _results(xcom) -> list[dict]:
    """Results of a mapped task as a list: a mapped task that ran once hands its single result over
    unwrapped (seen with the scheduler on Airflow 3.3.2), a skipped one ``None``."""
    if xcom is None:
        return []
    return [xcom] if isinstance(xcom, dict) else [p for p in xcom if p]


def _failed_tasks() -> list[str]:
    """Tasks of the current run that failed or could not run because of a failure."""
    from airflow.sdk import get_current_context

    ti = get_current_context()["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    return sorted(k for k, v in states.items() if getattr(v, "value", v) in ("failed", "upstream_failed"))


def update_catalog(site: dict, published, accepted: list[dict], published_l2a=None, published_l1a=None) -> dict:
    """Update the site's Collection and the root catalog, commit the ledger.

    ``published``, ``published_l2a`` and ``published_l1a`` hold the results of the publications that succeeded. After
    committing them, fails (without retry) when some accepted deliveries were not published (those
    stay pending) or when a task of the run failed, so that the run shows the failure (Airflow
    judges a run by its last tasks). Skips itself when nothing happened upstream.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from take5_ops.pipeline import update_catalog as update

    results = _results(published_l1a) + _results(published) + _results(published_l2a)
    failed = _failed_tasks()
    if not accepted and not results:
        if failed:
            raise EarlierFailures("nothing to publish; failed: " + ", ".join(failed))
        raise AirflowSkipException("nothing accepted nor published in this run")
    summary = update(_buckets(), _site(site), published=results, accepted=list(accepted or ()))
    problems = []
    if summary.get("not_published"):
        problems.append("not published, left pending: " + ", ".join(summary["not_published"]))
    if failed:
        problems.append("failed: " + ", ".join(failed))
    if problems:
        raise EarlierFailures(f"catalog and ledger updated for {summary['published']} product(s); "
                                   + "; ".join(problems))
    return summary
