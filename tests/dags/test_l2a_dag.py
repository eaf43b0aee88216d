"""The L2A branch of a site DAG with its gate open, run with ``dag.test()`` against the moto S3 server
and a real SMTP server: the l2a task walks the series, the mapped publish_l2a publishes its products,
a corrupt L1C is skipped with an e-mail naming it, and the run succeeds."""

from __future__ import annotations

import json

import pytest

from helpers import airflow_env

airflow_env.configure()

from helpers.dag_test import run
from helpers.l2a_campaign import SITE
from take5_ops.l1a.upload import upload_delivery
from take5_ops.products.workspace import upload_product
from take5_ops.storage import Buckets, LocalStore, copy_tree, layout


@pytest.fixture(scope="module")
def bag(campaign):
    bag = airflow_env.dag_bag(campaign["root"])
    assert f"take5_{SITE}" in bag.dags
    return bag


def test_gate_open_l2a_published_and_a_corrupt_l1c_e_mailed(bag, campaign, s3_endpoint, s3_buckets, smtp,
                                                            monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}}))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "take5@test", "take5_attempts": 1,
                  "take5_retry_delay": 0, "timeout": 30}}))
    for role, store in s3_buckets.items():
        monkeypatch.setenv(f"TAKE5_{role.upper()}_BUCKET", store.bucket)
    monkeypatch.setenv("TAKE5_OPS_LIST", "ops@example.org")
    b = Buckets(**s3_buckets)
    copy_tree(LocalStore(campaign["root"] / "sim" / "aux"), b.aux)
    # eight dates already processed to L1C in earlier weeks; the ninth is delivered now (the gate opens)
    names = sorted(campaign["l1c"])
    for name in names[:-1]:
        product, folder = campaign["l1c"][name]
        upload_product(b.work, product, folder)
    upload_delivery(campaign["deliveries"][-1], b.l1a)
    bad = names[5]
    xs1 = next(f for f in campaign["l1c"][bad][0].files if f.asset == "XS1")
    b.work.put_bytes(layout.product_prefix(SITE, bad) + xs1.name, b"truncated")

    result = run(bag, f"take5_{SITE}", poll_seconds=1, timeout_seconds=60)
    tasks = result["tasks"]
    assert result["state"] == "success", result
    assert [tasks[k] for k in ("l1c[0]", "publish[0]", "l2a_gate", "l2a", "update_catalog")] == ["success"] * 5
    l2a_published = sorted(k for k in tasks if k.startswith("publish_l2a["))
    assert len(l2a_published) == 7 and {tasks[k] for k in l2a_published} == {"success"}  # 9 - cloudy - corrupt
    links = json.loads(b.dist.get_bytes(f"{SITE}/collection.json"))["links"]
    assert sum("_L2A_" in link["href"] for link in links if link["rel"] == "item") == 7
    status = json.loads(b.work.get_bytes(layout.l2a_status_key(SITE)))
    assert status["gate"] == "open"
    assert [d["outcome"] for d in status["dates"].values()].count("skipped") == 1
    alerts = [m for m in smtp.messages if m["Subject"] == f"[take5] {SITE}: L2A skipped 1 date(s)"]
    assert len(alerts) == 1, [m["Subject"] for m in smtp.messages]
    text = alerts[0].get_body(preferencelist=("plain",)).get_content()
    assert bad in text and "SHA-256" in text and f"/dags/take5_{SITE}/runs/" in text
