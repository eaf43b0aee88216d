"""The delivery trigger and its sensor against a real S3 server (moto over HTTP)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta, timezone

import pytest

from helpers import airflow_env

airflow_env.configure()

from airflow.sdk.exceptions import AirflowException, AirflowSkipException, TaskDeferred

from helpers.paths import SITE_CONFIGS
from take5_ops.airflow.sensors import DeliverySensor
from take5_ops.airflow.triggers import DeliveryTrigger
from take5_ops.l1a.intake import Rejected, record
from take5_ops.storage import layout

SITE = "FrancePornic"
PID = "SPOT5-HRG2-XS_20150428-103235_L1A_FrancePornic"


@pytest.fixture
def stores(s3_buckets, s3_endpoint, monkeypatch):
    """The per-test buckets, reachable through the Airflow connection and bucket-name settings."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"},
    }))
    for role, store in s3_buckets.items():
        monkeypatch.setenv(f"TAKE5_{role.upper()}_BUCKET", store.bucket)
    return s3_buckets


def deliver(l1a, product_id: str = PID, delivered_at: str = "2015-05-04T02:13:00Z", marker: bool = True) -> None:
    """A minimal delivery following the contract: files first, DELIVERY.OK last."""
    prefix = f"{SITE}/{product_id}/"
    files = {"METADATA.DIM": b"<Dimap_Document/>", "IMAGERY.TIF": b"II*\x00 not really an image"}
    for name, data in files.items():
        l1a.put_bytes(prefix + name, data)
    if marker:
        ok = {"product_id": product_id, "site_id": SITE, "delivered_at": delivered_at,
              "files": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()]}
        l1a.put_bytes(prefix + "DELIVERY.OK", json.dumps(ok).encode(), "application/json")


def first_event(trigger: DeliveryTrigger) -> dict:
    async def run():
        return await asyncio.wait_for(anext(trigger.run()), timeout=30)

    return asyncio.run(run()).payload


def trigger(seconds: float = 1.0, poll: float = 0.2) -> DeliveryTrigger:
    return DeliveryTrigger(SITE, datetime.now(UTC) + timedelta(seconds=seconds), poll)


def test_fires_on_a_complete_delivery(stores):
    deliver(stores["l1a"])
    deliver(stores["l1a"], PID.replace("103235", "103300"))
    assert first_event(trigger(seconds=30)) == {"status": "found", "pending": 2}


def test_fires_when_the_delivery_completes_while_waiting(stores):
    deliver(stores["l1a"], marker=False)

    async def run():
        task = asyncio.ensure_future(anext(trigger(seconds=30, poll=0.1).run()))
        await asyncio.sleep(0.5)
        assert not task.done()  # files without DELIVERY.OK: still in transfer
        await asyncio.to_thread(deliver, stores["l1a"])
        return (await asyncio.wait_for(task, 30)).payload

    assert asyncio.run(run()) == {"status": "found", "pending": 1}


def test_no_fire_without_delivery_ok_or_for_stray_objects(stores):
    deliver(stores["l1a"], marker=False)
    stores["l1a"].put_bytes(f"{SITE}/README.txt", b"stray")
    stores["l1a"].put_bytes(f"{SITE}/not-a-product/DELIVERY.OK", b"{}")
    stores["l1a"].put_bytes(f"ToulouseFrance/{PID.replace('FrancePornic', 'ToulouseFrance')}/DELIVERY.OK", b"{}")
    assert first_event(trigger()) == {"status": "timeout"}


def test_no_fire_once_recorded_fires_again_on_redelivery(stores):
    l1a, work = stores["l1a"], stores["work"]
    deliver(l1a)
    etag = l1a.head(f"{SITE}/{PID}/DELIVERY.OK").etag
    record(work, Rejected(SITE, PID, etag, "test: already acted upon"), "rejected")
    assert first_event(trigger()) == {"status": "timeout"}
    deliver(l1a, delivered_at="2015-05-11T02:13:00Z")  # corrected delivery: new DELIVERY.OK
    assert first_event(trigger(seconds=30)) == {"status": "found", "pending": 1}


def test_timeout_event_when_the_deadline_has_passed(stores):
    assert first_event(DeliveryTrigger(SITE, datetime.now(UTC) - timedelta(seconds=1), 300)) == {
        "status": "timeout"}


def test_error_event_when_the_store_fails(stores, monkeypatch):
    monkeypatch.setenv("TAKE5_L1A_BUCKET", "take5-no-such-bucket")
    event = first_event(trigger(seconds=30, poll=0.05))
    assert event["status"] == "error" and "NoSuchBucket" in event["message"]


def test_serialize_round_trip():
    deadline = datetime(2015, 5, 4, 2, 13, tzinfo=timezone(timedelta(hours=2)))
    classpath, kwargs = DeliveryTrigger(SITE, deadline, 12.5, "aws_take5").serialize()
    assert classpath == "take5_ops.airflow.triggers.DeliveryTrigger"
    assert kwargs == {"site_id": SITE, "deadline": "2015-05-04T00:13:00+00:00", "poll_seconds": 12.5,
                      "aws_conn_id": "aws_take5"}
    json.dumps(kwargs)
    from airflow.sdk._shared.module_loading import import_string

    again = import_string(classpath)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert again.deadline == deadline
    with pytest.raises(ValueError, match="timezone-aware"):
        DeliveryTrigger(SITE, datetime(2015, 5, 4), 1)


def test_sensor_defers_and_maps_events(stores):
    sensor = DeliverySensor(task_id="wait_for_delivery", site_id=SITE, poll_seconds="7", timeout_seconds="60")
    before = datetime.now(UTC)  # no delivery yet: it defers
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    t = deferred.value.trigger
    assert isinstance(t, DeliveryTrigger) and deferred.value.method_name == "execute_complete"
    assert t.site_id == SITE and t.poll_seconds == 7.0
    assert before + timedelta(seconds=60) <= t.deadline <= datetime.now(UTC) + timedelta(seconds=60)
    assert sensor.execute_complete({}, {"status": "found", "pending": 3}) == 3
    with pytest.raises(AirflowSkipException):
        sensor.execute_complete({}, {"status": "timeout"})
    with pytest.raises(AirflowException, match="NoSuchBucket"):
        sensor.execute_complete({}, {"status": "error", "message": "NoSuchBucket"})
    deliver(stores["l1a"])  # a delivery already waiting: taken without deferring
    assert sensor.execute({}) == 1


def test_dag_test_drives_the_sensor(stores, tmp_path, monkeypatch):
    """dag.test() runs the trigger in-process: a timeout skips the whole run; a delivery starts it,
    and the tasks reach the test's buckets through the Airflow connection."""
    airflow_env.migrate()
    import shutil

    from airflow.dag_processing.dagbag import DagBag

    configs = tmp_path / "configs"
    configs.mkdir()
    shutil.copy(SITE_CONFIGS / f"{SITE}.yaml", configs)
    monkeypatch.setenv("TAKE5_SITE_CONFIGS", str(configs))  # dag.test() reparses dags/: one site, fast
    dag = DagBag(dag_folder=str(airflow_env.DAGS / "take5_sites.py")).dags[f"take5_{SITE}"]

    run = dag.test(run_conf={"poll_seconds": 0.2, "timeout_seconds": 1})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success"
    assert states.pop("sla_check") == "success"  # the SLA teardown runs whatever happened
    assert set(states.values()) == {"skipped"} and set(states) >= {"wait_for_delivery", "update_catalog"}

    deliver(stores["l1a"])  # the site has no DEM: validation then fails, as a configuration error
    run = dag.test(run_conf={"poll_seconds": 0.2, "timeout_seconds": 30})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["wait_for_delivery"] == "success"
    assert states["validate_deliveries"] == "failed"
    assert states["update_catalog"] == "failed" and run.state == "failed"  # reports the earlier failure

    stores["aux"].put_bytes(f"{SITE}/DEM.tif", b"a DEM")  # now the (fake) delivery is checked and rejected
    run = dag.test(run_conf={"poll_seconds": 0.2, "timeout_seconds": 30})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate_deliveries"] == "success" and states["l1c"] == "skipped"  # nothing accepted
    assert run.state == "success"
    etag = stores["l1a"].head(f"{SITE}/{PID}/DELIVERY.OK").etag
    assert stores["work"].exists(layout.quarantine_key(SITE, PID, etag))
    assert json.loads(stores["work"].get_bytes(layout.ledger_key(SITE, PID)))["status"] == "rejected"


def test_tasks_take_the_bucket_variable_before_the_environment(stores, tmp_path, monkeypatch):
    """The bucket rule under Airflow: a ``take5_<role>_bucket`` Variable wins over ``TAKE5_<ROLE>_BUCKET``
    (the dashboard plugin follows the same rule: tests/integration/test_dashboard.py)."""
    airflow_env.migrate()
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.variable import Variable

    configs = tmp_path / "configs"
    configs.mkdir()
    shutil.copy(SITE_CONFIGS / f"{SITE}.yaml", configs)
    monkeypatch.setenv("TAKE5_SITE_CONFIGS", str(configs))
    for role in ("l1a", "aux", "work"):  # the environment names buckets that do not exist
        monkeypatch.setenv(f"TAKE5_{role.upper()}_BUCKET", f"take5-decoy-{role}")
        Variable.set(f"take5_{role}_bucket", stores[role].bucket)
    try:
        deliver(stores["l1a"])
        stores["aux"].put_bytes(f"{SITE}/DEM.tif", b"a DEM")
        dag = DagBag(dag_folder=str(airflow_env.DAGS / "take5_sites.py")).dags[f"take5_{SITE}"]
        run = dag.test(run_conf={"poll_seconds": 0.2, "timeout_seconds": 30})
    finally:
        for role in ("l1a", "aux", "work"):
            Variable.delete(f"take5_{role}_bucket")
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["wait_for_delivery"] == "success" and states["validate_deliveries"] == "success"
    assert json.loads(stores["work"].get_bytes(layout.ledger_key(SITE, PID)))["status"] == "rejected"
