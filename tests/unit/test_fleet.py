"""The dashboard's fleet view: hosts, queues and the host of each site's last tasks, from task instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from take5_ops.dashboard import fleet_view
from take5_ops.dashboard.page import fleet_box

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def ti(dag_id, task_id, state, host, queue="default", started=None, ended=None, queued=None, map_index=-1):
    return {"dag_id": dag_id, "task_id": task_id, "map_index": map_index, "state": state, "hostname": host,
            "queue": queue, "queued_at": queued, "start_date": started, "end_date": ended}


def test_a_stuck_host_and_a_growing_queue_show():
    minutes = lambda n: NOW - timedelta(minutes=n)  # noqa: E731
    tis = [
        ti("take5_A", "l2a", "running", "10.0.0.11", "cpu", started=minutes(95)),  # stuck for 95 min
        ti("take5_A", "publish", "success", "10.0.0.12", started=minutes(100), ended=minutes(99), map_index=0),
        ti("take5_B", "l1c", "failed", "10.0.0.12", "cpu", started=minutes(30), ended=minutes(29), map_index=2),
        ti("take5_B", "l1c", "queued", None, "cpu", queued=minutes(40), map_index=3),
        ti("take5_B", "l1c", "queued", None, "cpu", queued=minutes(5), map_index=4),
        ti("take5_B", "validate_deliveries", "success", "10.0.0.11", started=minutes(50), ended=minutes(49)),
        ti("take5_sla_monitor", "check", "success", "10.0.0.12", started=minutes(10), ended=minutes(9)),
    ]
    fleet = fleet_view(tis, NOW, {"A", "B"}, last=2)
    hosts = {h.host: h for h in fleet.hosts}
    assert (hosts["10.0.0.11"].running, hosts["10.0.0.11"].oldest_running_s) == (1, 95 * 60)
    assert (hosts["10.0.0.12"].finished, hosts["10.0.0.12"].failed) == (3, 1)
    assert hosts["10.0.0.12"].last_end == minutes(9)
    queues = {q.queue: q for q in fleet.queues}
    assert (queues["cpu"].queued, queues["cpu"].oldest_queued_s, queues["cpu"].running) == (2, 40 * 60, 1)
    assert queues["default"].queued == 0
    # the site DAGs only, newest first, at most `last`
    assert list(fleet.sites) == ["A", "B"]
    assert [(t["task"], t["host"]) for t in fleet.sites["B"]] == [("l1c[2]", "10.0.0.12"),
                                                                  ("validate_deliveries", "10.0.0.11")]
    assert [t["task"] for t in fleet.sites["A"]] == ["l2a", "publish[0]"]
    html = fleet_box(fleet)
    assert html.count('data-testid="host"') == 2 and "95 min" in html and "40 min" in html
    assert fleet.to_dict()["hosts"][0]["host"] == "10.0.0.11"
