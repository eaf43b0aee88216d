"""The operators' dashboard, "Take5 production" (docs/dashboard.md), without Airflow.

:func:`production_overview` gathers the numbers from the buckets, :func:`fleet_view` the worker hosts
and queues from task instances; :func:`render_page` makes the
self-contained HTML page (inline CSS and SVG charts: no script, no network). The Airflow layer
serves it (:mod:`take5_ops.airflow.dashboard`).
"""

from take5_ops.dashboard.fleet import Fleet, fleet_view
from take5_ops.dashboard.numbers import Overview, SiteRow, production_overview
from take5_ops.dashboard.page import render_page

__all__ = ["Fleet", "Overview", "SiteRow", "fleet_view", "production_overview", "render_page"]
