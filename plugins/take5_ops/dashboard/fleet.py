"""The fleet view of the dashboard: which worker host ran the last tasks of each site, what each host
runs now, how many tasks wait in each queue, so that an operator sees a stuck worker.

Built from task instances given as plain dicts (the Airflow layer reads them from Airflow's
database): ``dag_id``, ``task_id``, ``map_index``, ``state``, ``hostname`` (the worker host's
address on the cluster), ``queue``, ``queued_at``, ``start_date``, ``end_date`` (datetimes or None).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

SITE_DAG_PREFIX = "take5_"
LAST_TASKS = 3  # per site


@dataclass
class HostRow:
    """One worker host: tasks running now, the oldest of them, tasks finished and failed in the window."""

    host: str
    running: int = 0
    oldest_running_s: float | None = None
    finished: int = 0
    failed: int = 0
    last_end: datetime | None = None


@dataclass
class QueueRow:
    """One queue: tasks sent to it and not started yet (``queued``), the oldest of them, and running."""

    queue: str
    queued: int = 0
    oldest_queued_s: float | None = None
    running: int = 0


@dataclass
class Fleet:
    now: datetime
    hosts: list[HostRow]
    queues: list[QueueRow]
    sites: dict[str, list[dict]] = field(default_factory=dict)  # site_id -> its last tasks, newest first

    def to_dict(self) -> dict:
        def plain(value):
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))


def _age(now: datetime, t: datetime | None) -> float | None:
    return None if t is None else max(0.0, (now - t).total_seconds())


def fleet_view(task_instances: list[dict], now: datetime, site_ids: set[str], last: int = LAST_TASKS) -> Fleet:
    """Hosts, queues and the last ``last`` tasks (by start) of each site of ``site_ids`` from ``task_instances``
    (the campaign-wide DAGs count for the hosts and queues only)."""
    hosts: dict[str, HostRow] = {}
    queues: dict[str, QueueRow] = {}
    sites: dict[str, list[dict]] = {}
    for ti in task_instances:
        state, host, queue = ti.get("state"), ti.get("hostname") or "", ti.get("queue") or "default"
        q = queues.setdefault(queue, QueueRow(queue))
        if state == "queued":
            q.queued += 1
            age = _age(now, ti.get("queued_at"))
            if age is not None:
                q.oldest_queued_s = max(q.oldest_queued_s or 0.0, age)
        if not host:
            continue
        h = hosts.setdefault(host, HostRow(host))
        if state == "running":
            q.running += 1
            h.running += 1
            age = _age(now, ti.get("start_date"))
            if age is not None:
                h.oldest_running_s = max(h.oldest_running_s or 0.0, age)
        elif ti.get("end_date") is not None:
            h.finished += 1
            h.failed += state == "failed"
            h.last_end = max(h.last_end or ti["end_date"], ti["end_date"])
        site_id = (ti.get("dag_id") or "").removeprefix(SITE_DAG_PREFIX)
        if site_id in site_ids and ti.get("start_date") is not None:
            index = ti.get("map_index")
            task = ti["task_id"] + (f"[{index}]" if index is not None and index >= 0 else "")
            sites.setdefault(site_id, []).append(
                {"task": task, "host": host, "state": state, "start_date": ti["start_date"],
                 "end_date": ti.get("end_date")})
    for site, tasks in sites.items():
        sites[site] = sorted(tasks, key=lambda t: t["start_date"], reverse=True)[:last]
    return Fleet(now, [hosts[k] for k in sorted(hosts)], [queues[k] for k in sorted(queues)],
                 {k: sites[k] for k in sorted(sites)})
