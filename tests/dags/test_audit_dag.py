"""The weekly ``take5_audit`` DAG, run with ``dag.test()`` against the moto S3 server: it fails while an
inconsistency is left (the report in the work bucket says which), and with ``repair`` it repairs."""

from __future__ import annotations

import pytest

from helpers import airflow_env
from helpers.dag_test import run

airflow_env.configure()

from helpers.audit_cases import INJECTIONS, publish_campaign
from helpers.l1a_builder import scene_site
from take5_ops.distribution.access import PUBLIC_URL_ENV
from take5_ops.storage import Buckets, layout, read_json


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    bag = airflow_env.site_bag(tmp_path_factory.mktemp("configs"), [scene_site()])
    assert "take5_audit" in bag.dags
    return bag


def test_audit_dag_fails_on_an_inconsistency_and_repairs_with_the_param(bag, monkeypatch, s3_endpoint, s3_buckets):
    airflow_env.use_s3(monkeypatch, s3_endpoint, s3_buckets)
    monkeypatch.setenv(PUBLIC_URL_ENV, "https://take5.example.org/")
    buckets = Buckets(**s3_buckets)
    publish_campaign(buckets)
    INJECTIONS["item-unlinked"](buckets)
    assert run(bag, "take5_audit")["tasks"] == {"audit_sites": "failed"}
    report = read_json(buckets.work, layout.audit_key())
    assert report["clean"] is False and "item-unlinked" in {f["kind"] for f in report["findings"]}
    assert run(bag, "take5_audit", repair=True)["tasks"] == {"audit_sites": "success"}
    assert read_json(buckets.work, layout.audit_key())["clean"] is True
