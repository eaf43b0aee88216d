"""Build the site DAGs from the site configurations.

One DAG per valid configuration, ``take5_<SITE_ID>``::

    wait_for_delivery -> validate_deliveries -> [l1c -> publish] x accepted
        -> l2a_gate -> l2a -> publish_l2a x products -> update_catalog -> sla_check

``l1c`` and ``publish`` form a task group mapped over the accepted deliveries:
``publish[i]`` waits for ``l1c[i]`` only, so one failed product does not hold
back the others. ``sla_check`` (ALL_DONE, never fails) e-mails the product-level SLA alerts; a
failed task e-mails its reason (:class:`~take5_ops.airflow.notifiers.TaskFailureNotifier`). Invalid configurations are reported by a sentinel DAG built
from a second DAG file (:func:`invalid_configs_dag`). Parsing is cheap and
deterministic: no I/O beyond the YAML files, no heavy imports.
"""

from __future__ import annotations

import logging
import os
import time as time_module
import zlib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, TriggerRule, task, task_group

from take5_ops.airflow import sla, tasks
from take5_ops.airflow.notifiers import TaskFailureNotifier
from take5_ops.airflow.sensors import DeliverySensor
from take5_ops.siteconfig import SiteConfig, SiteConfigError, load_site_config, load_site_configs
from take5_ops.storage import layout

CONFIGS_ENV = "TAKE5_SITE_CONFIGS"
RETRIES_ENV = "TAKE5_TASK_RETRIES"  # e.g. 0 for tests driving dag.test()
RETRY_DELAY_ENV = "TAKE5_TASK_RETRY_DELAY"  # seconds before the first retry (default 300; the cluster's tests shorten it)
CPU_POOL = "take5_cpu"
CPU_QUEUE = "cpu"  # the Celery queue of the CPU-heavy tasks (L1C, L2A); the others go to the default queue
DEFAULT_POLL_SECONDS = 300
DEFAULT_TIMEOUT_SECONDS = 6 * 24 * 3600  # shorter than the week between runs
INVALID_CONFIGS_DAG_ID = "take5_invalid_site_configs"
log = logging.getLogger(__name__)


def configs_folder(dag_file: str | Path) -> Path:
    """The site configuration folder: ``$TAKE5_SITE_CONFIGS``, else ``../include/site_configs`` of the DAG file."""
    override = os.environ.get(CONFIGS_ENV)
    folder = Path(override) if override else Path(dag_file).resolve().parent.parent / "include" / "site_configs"
    if not folder.is_dir():
        raise FileNotFoundError(f"site configuration folder {folder} does not exist (set {CONFIGS_ENV})")
    return folder


def schedule_for(site: SiteConfig) -> str:
    """Weekly cron of a site: weekday = cycle day (1 = Monday), hour and minute from crc32(site_id) // 5
    (the cycle day uses crc32 % 5)."""
    crc = zlib.crc32(site.site_id.encode())
    return f"{(crc // 5) % 60} {(crc // 300) % 24} * * {site.cycle_day}"


def tags_for(site: SiteConfig) -> list[str]:
    """UI tags: ``take5``, ``country:<country>``, ``cycle-day:<n>``, ``aerosol:<model>``,
    ``continent:<continent>`` and the configuration's own ``tags``."""
    tags = ["take5", f"country:{site.country}", f"cycle-day:{site.cycle_day}", f"aerosol:{site.aerosol_model}"]
    if site.continent:
        tags.append(f"continent:{site.continent}")
    return sorted(set(tags) | set(site.tags))


def doc_for(site: SiteConfig) -> str:
    """The DAG's ``doc_md``: what the site is and where its data go."""
    g = site.grid
    left, bottom, right, top = g.bounds
    lat, lon = site.center.lat, site.center.lon
    osm = f"https://www.openstreetmap.org/?mlat={lat:.4f}&mlon={lon:.4f}#map=10/{lat:.4f}/{lon:.4f}"
    lines = [
        f"# {site.name}",
        "",
        site.description or "",
        "",
        "| | |",
        "|---|---|",
        f"| site | `{site.site_id}` |",
        f"| country | {site.country}" + (f" ({site.continent})" if site.continent else "") + " |",
        f"| centre | {lat:.4f}, {lon:.4f} ([map]({osm})) |",
        f"| grid | EPSG:{g.epsg}, {g.width} x {g.height} px of {g.resolution:g} m, "
        f"UL ({g.ulx:.0f}, {g.uly:.0f}), bounds ({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}) |",
        f"| cycle day | {site.cycle_day} of 5 (first acquisition {site.first_acquisition.isoformat()}) |",
        f"| aerosol model | {site.aerosol_model} |",
        f"| SLA | published {site.sla.delivery_days} days after acquisition (at risk after "
        f"{site.sla.at_risk_days}); contacts {', '.join(site.sla.contacts)} |",
        f"| L2A | init {site.l2a.init_days} days, max gap {site.l2a.max_gap_days} days, "
        f"default AOT {site.l2a.default_aot:g} |",
        "",
        f"Deliveries: `<L1A bucket>/{layout.delivery_prefix(site.site_id, '<PRODUCT_ID>')}`; products: `<work bucket>/{layout.products_prefix(site.site_id)}`; "
        f"published: `<distribution bucket>/{site.site_id}/collection.json`.",
        f"Configuration: `include/site_configs/{site.site_id}.yaml` (docs/site-config.md); "
        "the chain: docs/architecture.md.",
        "",
        "Params: `poll_seconds` (delivery poll interval) and `timeout_seconds` (then the run is skipped).",
    ]
    return "\n".join(lines)


def site_dag(site: SiteConfig, *, retries: int | None = None) -> DAG:
    """The DAG of one site; ``retries`` per task (default ``$TAKE5_TASK_RETRIES``, else 2), 5 min apart
    (``$TAKE5_TASK_RETRY_DELAY`` seconds), doubling."""
    if retries is None:
        retries = int(os.environ.get(RETRIES_ENV, "2"))
    retry_delay = timedelta(seconds=float(os.environ.get(RETRY_DELAY_ENV, "300")))
    conf = site.model_dump(mode="json")
    with DAG(
        dag_id=f"take5_{site.site_id}",
        description=f"Take5 {site.name}: L1A deliveries to published L1A, L1C and L2A",
        schedule=schedule_for(site),
        start_date=datetime.combine(site.first_acquisition, time(), tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=tags_for(site),
        doc_md=doc_for(site),
        params={
            "poll_seconds": Param(DEFAULT_POLL_SECONDS, type="number", exclusiveMinimum=0,
                                  description="seconds between two polls of the delivery bucket"),
            "timeout_seconds": Param(DEFAULT_TIMEOUT_SECONDS, type="number", exclusiveMinimum=0,
                                     description="wait at most this long for a delivery, then skip the run"),
        },
        default_args={
            "owner": "take5",
            "retries": retries,
            "retry_delay": retry_delay,
            "retry_exponential_backoff": 2.0,
            "on_failure_callback": TaskFailureNotifier(tuple(site.sla.contacts)),  # the reason, by e-mail
        },
    ) as dag:
        waited = DeliverySensor(task_id="wait_for_delivery", site_id=site.site_id, retries=0)
        accepted = task(tasks.validate_deliveries, task_id="validate_deliveries")(site=conf)
        waited >> accepted

        @task_group(group_id="products", prefix_group_id=False)
        def products(delivery: dict):
            product = task(tasks.l1c, task_id="l1c", pool=CPU_POOL, queue=CPU_QUEUE,
                           map_index_template=tasks.MAP_INDEX_TEMPLATE)(site=conf, accepted=delivery)
            return task(tasks.publish, task_id="publish", map_index_template=tasks.MAP_INDEX_TEMPLATE)(site=conf, product=product)

        published = products.expand(delivery=accepted)
        # L1A: each accepted delivery published as it came (imagery, metadata, preview), after the L1C
        # (ALL_DONE: the L1A of a delivery the L1C rejected is not published, the others are)
        published_l1a = task(tasks.l1a, task_id="l1a", map_index_template=tasks.MAP_INDEX_TEMPLATE,
                             trigger_rule=TriggerRule.ALL_DONE).partial(site=conf).expand(accepted=accepted)
        published >> published_l1a
        # L2A: one task walks the site's dates in order (each depends on the one before: not mapped),
        # behind the 30-day gate; its products are then published like the L1C ones.
        gate = task.branch(tasks.l2a_gate, task_id="l2a_gate",
                           trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)(site=conf)
        published >> gate
        l2a = task(tasks.l2a, task_id="l2a", pool=CPU_POOL, queue=CPU_QUEUE)(site=conf)
        gate >> l2a
        published_l2a = task(tasks.publish, task_id="publish_l2a", map_index_template=tasks.MAP_INDEX_TEMPLATE
                             ).partial(site=conf).expand(product=l2a)
        # ALL_DONE: a skipped L2A branch must not skip the catalog (ALL_DONE_MIN_ONE_SUCCESS skips on
        # any skipped upstream); the task skips itself when nothing was accepted nor published.
        catalog = task(tasks.update_catalog, task_id="update_catalog", trigger_rule=TriggerRule.ALL_DONE)(
            site=conf, published=published, accepted=accepted, published_l2a=published_l2a,
            published_l1a=published_l1a)
        # the product-level SLA (docs/sla.md): after everything, whatever happened, never failing; a teardown,
        # so that the run's state stays that of the chain (a plain ALL_DONE leaf would turn failed runs green)
        catalog >> task(sla.sla_check, task_id="sla_check", retries=0)(site=conf).as_teardown()
    return dag


def parsing_site(folder: str | Path) -> str | None:
    """The SITE_ID whose DAG alone is needed, from Airflow's parsing context; ``None``: build them all.

    A worker that runs a task of ``take5_<SITE_ID>`` parses the DAG file with that dag_id in its
    parsing context (``airflow.sdk.get_parsing_context``); the dag-processor, the CLI and the tests
    parse without one. A dag_id that is not a site with a configuration file builds every DAG
    (Airflow then finds, or not, the DAG it wants, as without the context).
    """
    from airflow.sdk import get_parsing_context

    dag_id = get_parsing_context().dag_id
    if not dag_id or not dag_id.startswith("take5_"):
        return None
    site_id = dag_id[len("take5_"):]
    return site_id if (Path(folder) / f"{site_id}.yaml").is_file() else None


def site_dags(folder: str | Path) -> dict[str, DAG]:
    """DAGs of every valid configuration in ``folder``, by dag_id, in site_id order.

    With a site's dag_id in the parsing context (a worker running one of its tasks), only that
    site's configuration is read and only its DAG is built. The building time is logged (it shows
    in every task log).
    """
    started, cpu = time_module.perf_counter(), time_module.process_time()
    site_id = parsing_site(folder)
    if site_id is not None:
        try:
            configs = {site_id: load_site_config(Path(folder) / f"{site_id}.yaml")}
        except SiteConfigError:  # skipped, as without the context (reported by take5_site_config_errors)
            configs = {}
    else:
        configs, _errors = load_site_configs(folder)
    dags = {dag.dag_id: dag for dag in (site_dag(configs[k]) for k in sorted(configs))}
    # wall and CPU time: on a busy machine the wall time also counts the other processes' turns
    log.info("built %d site DAG(s) in %.3f s (%.3f s CPU) (%s)", len(dags), time_module.perf_counter() - started,
             time_module.process_time() - cpu,
             f"parsing context: take5_{site_id} only" if site_id else "no parsing context: every site")
    return dags


class _InvalidConfigs(DAG):
    """A DAG that never loads: its validation raises the configuration errors it carries."""

    def validate(self):
        raise SiteConfigError(self.doc_md)


def invalid_configs_dag(folder: str | Path) -> DAG | None:
    """A sentinel DAG whose validation fails with every invalid file and field; ``None`` when all are valid.

    Airflow records the failure as the import error of the DAG file that
    holds it. It must live in its own DAG file: an import error marks every
    DAG of the same file stale in the database.
    """
    _configs, errors = load_site_configs(folder)
    if not errors:
        return None
    message = f"{len(errors)} invalid site configuration file(s) in {folder}:\n" + "\n".join(
        errors[p] for p in sorted(errors))
    return _InvalidConfigs(dag_id=INVALID_CONFIGS_DAG_ID, schedule=None, doc_md=message,
                           start_date=datetime(2015, 4, 1, tzinfo=UTC))


def campaign_dag(dag_id: str, description: str, schedule: str, tag: str, doc_md: str, params: dict) -> DAG:
    """A DAG over every site (the SLA monitor, the audit): no catch-up, one run at a time, no retry."""
    return DAG(dag_id=dag_id, description=description, schedule=schedule,
               start_date=datetime(2015, 4, 8, tzinfo=UTC), catchup=False, max_active_runs=1,
               tags=["take5", tag], doc_md=doc_md, params=params, default_args={"owner": "take5", "retries": 0})
