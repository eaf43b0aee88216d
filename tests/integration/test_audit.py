"""``take5 audit``: a published campaign audits clean; each injected inconsistency is found by its own
kind; ``--repair`` leaves a clean audit and the other product's published bytes untouched.

Against buckets of a real moto S3 server; the campaign and the injections in tests/helpers/audit_cases.py.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
import yaml

from helpers.audit_cases import INJECTIONS, REJECTED, SITE, B, publish_campaign
from helpers.l1a_builder import scene_site
from take5_ops.audit import KINDS, last_report, run_audit
from take5_ops.cli import main
from take5_ops.dashboard.numbers import production_overview
from take5_ops.dashboard.page import render_page
from take5_ops.distribution.access import PUBLIC_URL_ENV
from take5_ops.pipeline import run_site
from take5_ops.storage import Buckets, LocalStore, S3Store, copy_tree, layout
from take5_ops.storage.buckets import ROLES


@pytest.fixture(scope="module")
def published(s3_endpoint):
    """The campaign, published once into buckets of its own (copied into each test's buckets), under a
    fixed public URL (so that its Metalinks hold in any bucket)."""
    saved = os.environ.get(PUBLIC_URL_ENV)
    os.environ[PUBLIC_URL_ENV] = "https://take5.example.org/"
    stores = {}
    for role in ROLES:
        stores[role] = S3Store.from_endpoint(f"take5-audit-campaign-{role}", s3_endpoint)
        stores[role].client.create_bucket(Bucket=stores[role].bucket)
    summary = publish_campaign(Buckets(**stores))
    assert summary["published"] == 4 and not summary["failed"], summary  # the L1A and the L1C of A and B
    assert any(stores["work"].list(layout.quarantine_product_prefix(SITE, REJECTED)))
    yield Buckets(**stores)
    for store in stores.values():
        for info in list(store.list()):
            store.delete(info.key)
        store.client.delete_bucket(Bucket=store.bucket)
    if saved is None:
        os.environ.pop(PUBLIC_URL_ENV)
    else:
        os.environ[PUBLIC_URL_ENV] = saved


@pytest.fixture
def campaign(published, s3_buckets):
    """A copy of the published campaign in the test's own buckets."""
    for role in ROLES:
        copy_tree(getattr(published, role), s3_buckets[role])
    return Buckets(**s3_buckets)


def published_bytes(dist, name: str) -> dict[str, bytes]:
    return {i.key: dist.get_bytes(i.key) for i in dist.list(layout.published_prefix(SITE, name))}


def test_a_published_campaign_audits_clean(campaign):
    report = run_audit(campaign, [scene_site()])
    assert report.clean and report.findings == [], [f.line() for f in report.findings]
    assert report.pending == {}
    stored = last_report(campaign.work)
    assert stored["clean"] is True and stored["findings"] == []


def test_there_are_at_least_ten_kinds_injected():
    assert len(INJECTIONS) >= 10 and set(INJECTIONS) <= set(KINDS)


@pytest.mark.parametrize("kind", sorted(INJECTIONS))
def test_each_inconsistency_is_found_by_its_kind_and_repaired(campaign, kind):
    untouched = published_bytes(campaign.dist, B)
    INJECTIONS[kind](campaign)
    found = run_audit(campaign, [scene_site()])
    assert kind in {f.kind for f in found.findings}, [f.line() for f in found.findings]
    assert not found.clean and last_report(campaign.work)["clean"] is False
    repaired = run_audit(campaign, [scene_site()], repair=True)
    assert repaired.repaired and repaired.clean, [f.line() for f in repaired.findings]
    assert run_audit(campaign, [scene_site()]).clean  # idempotent: nothing left to do
    assert published_bytes(campaign.dist, B) == untouched


@pytest.mark.parametrize("injection, kind", [("lost", "ledger-without-product"), ("corrupt", "asset-corrupt")])
def test_the_l1a_products_are_audited_and_repaired(campaign, injection, kind):
    """The L1A of a delivery is expected like its L1C: a lost work product or a corrupt published file is
    found, and repaired (made again from the delivery at the next run, or republished)."""
    l1a = B.replace("_L1C_", "_L1A_")
    assert campaign.dist.exists(layout.item_key(SITE, l1a))
    if injection == "lost":
        for info in list(campaign.work.list(layout.product_prefix(SITE, l1a))):
            campaign.work.delete(info.key)
    else:
        item = json.loads(campaign.dist.get_bytes(layout.item_key(SITE, l1a)))
        key = layout.published_prefix(SITE, l1a) + item["assets"]["IMAGERY"]["href"].removeprefix("./")
        campaign.dist.put_bytes(key, campaign.dist.get_bytes(key)[:-1] + b"\0")
    found = run_audit(campaign, [scene_site()])
    assert [(f.kind, l1a in f.line()) for f in found.findings if f.kind == kind] == [(kind, True)], [
        f.line() for f in found.findings]
    run_audit(campaign, [scene_site()], repair=True)
    if injection == "lost":  # pending again: the next run makes its L1A (and L1C) again
        assert run_site(scene_site(), campaign)["published"] == 2
    assert run_audit(campaign, [scene_site()]).clean


def write_site_config(tmp_path) -> str:
    path = tmp_path / f"{SITE}.yaml"
    path.write_text(yaml.safe_dump(scene_site().model_dump(mode="json")))
    return str(path)


def test_the_command_on_s3_prints_meaning_and_fix_and_exits_1_until_repaired(campaign, tmp_path, capsys):
    INJECTIONS["stale-page"](campaign)
    names = [f"--{role}-bucket={getattr(campaign, role).bucket}" for role in ROLES]
    args = ["audit", "--site-config", write_site_config(tmp_path),
            "--endpoint", campaign.dist.client.meta.endpoint_url, *names]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert f"{SITE}: stale-page: {layout.site_page_key(SITE)}" in out
    assert "means: a web page differs" in out and "fix: re-derive the pages" in out
    assert main([*args, "--repair"]) == 0
    assert "repaired: " in capsys.readouterr().out
    assert main(args) == 0


def test_the_command_on_local_folders(campaign, tmp_path, capsys):
    folders = {role: tmp_path / role for role in ("l1a", "out", "out.work")}
    for role, folder in folders.items():
        folder.mkdir()
        copy_tree({"l1a": campaign.l1a, "out": campaign.dist, "out.work": campaign.work}[role], LocalStore(folder))
    args = ["audit", "--site-config", write_site_config(tmp_path), "--l1a", str(folders["l1a"]),
            "--out", str(folders["out"])]
    assert main(args) == 0, capsys.readouterr().out
    (folders["out"] / layout.metalink_key(SITE, "L1C")).write_bytes(b"<metalink/>")
    assert main(args) == 1
    assert "stale-metalink" in capsys.readouterr().out
    assert main([*args, "--repair"]) == 0


def test_the_dashboard_shows_the_last_audit(campaign):
    def page() -> str:
        overview = production_overview([scene_site()], campaign, datetime.now(UTC))
        return render_page(overview, airflow_url="http://airflow.test", public_url="http://dist.test")

    assert "no audit yet" in page()
    INJECTIONS["stale-page"](campaign)
    run_audit(campaign, [scene_site()])
    html = page()
    assert "Last audit" in html and "<b>stale-page</b>" in html and "take5 audit --repair" in html
    run_audit(campaign, [scene_site()], repair=True)
    assert "no inconsistency" in page()
