"""The SLA in Airflow: the daily ``take5_sla_monitor`` DAG and the site DAGs' ``sla_check`` and failure
e-mails, run with ``dag.test()`` against the moto S3 server and a real SMTP server (aiosmtpd).

The moment judged comes from the monitor's ``now`` param (``$TAKE5_SLA_NOW`` for a site DAG): no
test waits for time to pass. The mailer's retry delay is 0 through the connection's extras.
"""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from helpers import airflow_env
from helpers.dag_test import run
from helpers.net import refused_port

airflow_env.configure()

from helpers.paths import SITE_CONFIGS
from helpers.sla_cases import deliver, pid, publish_l1c, utc
from take5_ops.storage import Buckets, layout

PORNIC, ALSACE = "FrancePornic", "FranceAlsace"  # Alsace never delivers: a quiet site
OPS = "ops-list@example.org"


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("configs")
    for site_id in (PORNIC, ALSACE):
        shutil.copy(SITE_CONFIGS / f"{site_id}.yaml", folder)
    return folder


@pytest.fixture(scope="module")
def bag(configs):
    bag = airflow_env.dag_bag(configs)
    assert sorted(bag.dags) == ["take5_FranceAlsace", "take5_FrancePornic",
                                "take5_audit", "take5_reprocess", "take5_sla_monitor"]
    return bag


@pytest.fixture
def env(monkeypatch, s3_endpoint, s3_buckets, configs):
    """Connections, buckets and ops list for the tasks; ``env.smtp(port)`` points smtp_default at a port."""
    airflow_env.use_s3(monkeypatch, s3_endpoint, s3_buckets)
    monkeypatch.setenv("TAKE5_OPS_LIST", OPS)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.test:8080")

    class Env:
        buckets = Buckets(**s3_buckets)

        @staticmethod
        def smtp(port: int) -> None:
            monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
                "conn_type": "smtp", "host": "127.0.0.1", "port": port,
                "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "take5@test",
                          "take5_attempts": 2, "take5_retry_delay": 0, "timeout": 5}}))

    return Env


def subjects(smtp) -> list[str]:
    return sorted(m["Subject"] for m in smtp.messages)


def test_monitor_one_message_per_site_and_day_then_dedup(bag, env, smtp):
    env.smtp(smtp.port)
    a, b = pid(date(2015, 4, 9)), pid(date(2015, 4, 14))
    deliver(env.buckets, a)
    deliver(env.buckets, b)
    publish_l1c(env.buckets, b, utc(2015, 4, 20))
    now = "2015-04-24T12:00:00+00:00"  # a: L1C at risk (9 April + 14 d); Alsace silent since 9 April
    result = run(bag, "take5_sla_monitor", now=now)
    assert result == {"state": "success", "tasks": {"check_sites": "success", "weekly_digest": "success"}}
    pornic = [m for m in smtp.messages if PORNIC in m["Subject"]]
    alsace = [m for m in smtp.messages if ALSACE in m["Subject"]]
    digest = [m for m in smtp.messages if "weekly digest" in m["Subject"]]
    assert len(pornic) == len(alsace) == len(digest) == 1 and len(smtp.messages) == 3
    assert pornic[0]["Subject"] == f"[take5 SLA] {PORNIC}: 1 at risk"
    assert pornic[0]["To"] == "take5-ops@example.org" and pornic[0]["From"] == "take5@test"
    text = pornic[0].get_body(preferencelist=("plain",)).get_content()
    assert f"{a}  L1C" in text and "5 days left" in text  # due 30 April 10:38
    assert "http://airflow.test:8080/dags/take5_sla_monitor/runs/" in text  # the monitor's run
    # Alsace (cycle day 1 from 8 April) has delivered nothing: 8 April is 16 days old, 13 April not yet 14
    assert alsace[0]["Subject"] == f"[take5 SLA] {ALSACE}: 1 missing acquisition"
    assert "2015-04-08" in alsace[0].get_body(preferencelist=("plain",)).get_content()
    assert digest[0]["To"] == OPS and "2015-W17" in digest[0]["Subject"]

    # the same day again: nothing new, nothing sent (dedup state in the work bucket)
    assert run(bag, "take5_sla_monitor", now="2015-04-24T18:00:00+00:00")["state"] == "success"
    assert len(smtp.messages) == 3
    # next day: Alsace's 13 April is still only 12 days old; Pornic's a is still at risk (told): silence
    assert run(bag, "take5_sla_monitor", now="2015-04-25T12:00:00+00:00")["state"] == "success"
    assert len(smtp.messages) == 3
    # 3 May: a breached (due 30 April), Pornic's 19 April and Alsace's 13 and 18 April missing: one message each
    assert run(bag, "take5_sla_monitor", now="2015-05-03T12:00:00+00:00")["state"] == "success"
    new = smtp.messages[3:]
    assert sorted(m["Subject"] for m in new) == [
        f"[take5 SLA] {ALSACE}: 2 missing acquisitions", f"[take5 SLA] {PORNIC}: 1 breached, 1 missing acquisition",
        "[take5 SLA] weekly digest 2015-W18: 1 breached, 0 at risk, 4 missing acquisitions, 2 sites"]  # a new week
    assert len(list(env.buckets.work.list(layout.sla_journal_prefix(PORNIC)))) == 2


def test_smtp_down_does_not_fail_the_run_and_is_visible(bag, env, smtp, caplog):
    deliver(env.buckets, pid(date(2015, 4, 9)))
    with refused_port() as port:
        env.smtp(port)
        result = run(bag, "take5_sla_monitor", now="2015-04-24T12:00:00+00:00")
    assert result == {"state": "success", "tasks": {"check_sites": "success", "weekly_digest": "success"}}
    errors = {s: json.loads(env.buckets.work.get_bytes(layout.sla_mail_error_key(s))) for s in (PORNIC, ALSACE, "digest")}
    assert "not sent after 2 attempts" in errors[PORNIC]["error"]
    assert "ConnectionRefusedError" in errors[PORNIC]["error"]
    assert errors[PORNIC]["alerts"] == [{"subject": f"{pid(date(2015, 4, 9))}/L1C", "state": "at risk"}]
    assert any(r.levelname == "WARNING" and "not sent after 2 attempts" in r.getMessage() for r in caplog.records)
    assert smtp.messages == [] and list(env.buckets.work.list(layout.sla_journal_prefix(PORNIC))) == []
    # the server is back: what was not sent goes now, and the error record is cleared
    env.smtp(smtp.port)
    assert run(bag, "take5_sla_monitor", now="2015-04-24T13:00:00+00:00")["state"] == "success"
    assert sorted(m["Subject"] for m in smtp.messages) == sorted([
        f"[take5 SLA] {PORNIC}: 1 at risk", f"[take5 SLA] {ALSACE}: 1 missing acquisition",
        "[take5 SLA] weekly digest 2015-W17: 0 breached, 1 at risk, 1 missing acquisition, 2 sites"])
    assert not any(env.buckets.work.exists(layout.sla_mail_error_key(s)) for s in (PORNIC, ALSACE, "digest"))


def test_site_dag_failed_task_emails_its_reason_and_sla_check_still_runs(bag, env, smtp, monkeypatch):
    """A delivery but no DEM for the site: validate_deliveries fails; its reason is e-mailed, the
    catalog update fails the run (without an e-mail of its own), and the SLA check at the end still
    runs and reports."""
    env.smtp(smtp.port)
    monkeypatch.setenv("TAKE5_SLA_NOW", "2015-04-24T12:00:00+00:00")
    product = pid(date(2015, 4, 9))

    deliver(env.buckets, product)
    result = run(bag, f"take5_{PORNIC}", poll_seconds=1, timeout_seconds=30)
    tasks = result["tasks"]
    assert tasks["validate_deliveries"] == "failed" and tasks["update_catalog"] == "failed", result
    assert result["state"] == "failed", result
    assert tasks["sla_check"] == "success", result  # a teardown: it does not decide the run's state
    failure = [m for m in smtp.messages if m["Subject"].startswith("[take5] ")]
    assert len(failure) == 1, subjects(smtp)
    assert failure[0]["Subject"].startswith(f"[take5] take5_{PORNIC}.validate_deliveries failed: ")
    text = failure[0].get_body(preferencelist=("plain",)).get_content()
    assert "DEM.tif" in text and f"/dags/take5_{PORNIC}/runs/" in text
    assert sorted(a.strip() for a in failure[0]["To"].split(",")) == sorted([OPS, "take5-ops@example.org"])
    sla = [m for m in smtp.messages if m["Subject"].startswith("[take5 SLA]")]
    assert [m["Subject"] for m in sla] == [f"[take5 SLA] {PORNIC}: 1 at risk"]
