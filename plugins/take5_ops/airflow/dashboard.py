"""The "Take5 production" page in the Airflow UI: a FastAPI app and the plugin that mounts it.

The app serves, below ``/take5``, the page (``/take5/``) and its numbers as JSON
(``/take5/api/overview``); the plugin adds it to the UI's navigation as an external view.
Plugin apps are not authenticated by Airflow: every route here requires an Airflow user (the
UI's ``_token`` cookie or a ``Bearer`` token, checked by the auth manager): an anonymous page
request is redirected to the login page, an anonymous API request gets 401.

Numbers come from the buckets the tasks use (:class:`~take5_ops.airflow.hooks.Take5Hook`: the
``aws_default`` connection, the bucket Variables, else ``TAKE5_<ROLE>_BUCKET``) and the site
configurations of the DAGs folder
(``$TAKE5_SITE_CONFIGS``), at ``$TAKE5_SLA_NOW`` or the wall clock, cached
``$TAKE5_DASHBOARD_CACHE_SECONDS`` (60) seconds. The fleet view (worker hosts, queues, the host
of each site's last tasks) comes from the task instances in Airflow's database, at every request.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

URL_PREFIX = "/take5"
CACHE_ENV = "TAKE5_DASHBOARD_CACHE_SECONDS"
_cache: dict = {}
_lock = threading.Lock()

app = FastAPI(title="Take5 production", docs_url=None, redoc_url=None, openapi_url=None)


async def _user(request: Request):
    """The Airflow user of the request (Bearer token, else the UI's cookie); ``None`` if anonymous."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import (
        COOKIE_NAME_JWT_TOKEN,
    )
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    try:
        return await resolve_user_from_token(token)
    except HTTPException:
        return None


def _configs_folder() -> Path:
    from airflow.configuration import conf

    from take5_ops.airflow.factory import configs_folder

    return configs_folder(Path(conf.get("core", "dags_folder")) / "take5_sites.py")


def _overview():
    """The numbers, recomputed at most every ``$TAKE5_DASHBOARD_CACHE_SECONDS``."""
    from take5_ops.airflow.hooks import Take5Hook
    from take5_ops.airflow.sla import CAMPAIGN_END_ENV, judged_at, parse_campaign_end
    from take5_ops.dashboard import production_overview
    from take5_ops.distribution.access import public_base_url
    from take5_ops.siteconfig import load_site_configs

    ttl = float(os.environ.get(CACHE_ENV, "60"))
    with _lock:
        if _cache and time.monotonic() - _cache["at"] < ttl:
            return _cache["overview"], _cache["public_url"]
        buckets = Take5Hook().buckets()
        sites = list(load_site_configs(_configs_folder())[0].values())
        overview = production_overview(sites, buckets, judged_at(),
                                       campaign_end=parse_campaign_end(os.environ.get(CAMPAIGN_END_ENV)))
        _cache.update(at=time.monotonic(), overview=overview, public_url=public_base_url(buckets.dist))
        return overview, _cache["public_url"]


FLEET_HOURS = 24  # the fleet view's window: tasks ended in the last day, and those queued or running


def _fleet(site_ids: set[str]):
    """The fleet view (:func:`take5_ops.dashboard.fleet_view`) from the task instances in Airflow's database."""
    from datetime import UTC, datetime, timedelta

    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import or_, select

    from take5_ops.dashboard import fleet_view

    now = datetime.now(UTC)
    columns = (TI.dag_id, TI.task_id, TI.map_index, TI.state, TI.hostname, TI.queue, TI.queued_dttm,
               TI.start_date, TI.end_date)
    with create_session() as session:
        rows = session.execute(select(*columns).where(
            TI.dag_id.like("take5%"),
            or_(TI.state.in_(("queued", "running")), TI.end_date >= now - timedelta(hours=FLEET_HOURS)))).all()
    keys = ("dag_id", "task_id", "map_index", "state", "hostname", "queue", "queued_at", "start_date", "end_date")
    return fleet_view([dict(zip(keys, (str(v.value) if hasattr(v, "value") else v for v in row))) for row in rows],
                      now, site_ids)


@app.get("/", response_class=HTMLResponse)
async def page(request: Request):
    """The dashboard page; anonymous: redirected to the Airflow login."""
    if await _user(request) is None:
        from airflow.api_fastapi.app import get_auth_manager

        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)
    from starlette.concurrency import run_in_threadpool

    from take5_ops.dashboard import render_page
    from take5_ops.sla import ui_base_url

    overview, public_url = await run_in_threadpool(_overview)
    fleet = await run_in_threadpool(_fleet, {r.site_id for r in overview.sites})
    return HTMLResponse(render_page(overview, airflow_url=ui_base_url(), public_url=public_url, fleet=fleet),
                        headers={"Cache-Control": "no-store"})


@app.get("/api/overview")
async def overview_json(request: Request):
    """The page's numbers as JSON; anonymous: 401."""
    if await _user(request) is None:
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)
    from starlette.concurrency import run_in_threadpool

    overview, _public_url = await run_in_threadpool(_overview)
    fleet = await run_in_threadpool(_fleet, {r.site_id for r in overview.sites})
    return JSONResponse(dict(overview.to_dict(), fleet=fleet.to_dict()), headers={"Cache-Control": "no-store"})


class Take5ProductionPlugin(AirflowPlugin):
    """Mounts the app at ``/take5`` and adds "Take5 production" to the UI's navigation."""

    name = "take5_production"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Take5 production"}]
    external_views = [{"name": "Take5 production", "href": f"{URL_PREFIX}/", "destination": "nav",
                       "url_route": "take5-production", "category": "browse"}]
