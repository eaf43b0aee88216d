"""The ``take5_reprocess`` DAG, run with ``dag.test()`` against the moto S3 server: three sites published
at L1C version 1.0, the version bumped to 1.1, then a reprocessing interrupted by a failure and rerun.

The new versions are published before the old ones are withdrawn (checked at each withdrawal), the
rerun completes without duplicating anything (Items, collection links, Metalink entries), the SLA
keeps the first publication times and the audit is clean.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from helpers import airflow_env
from helpers.dag_test import run

airflow_env.configure()

from helpers.l1a_builder import ACQUIRED, build_delivery, put_flat_dem, scene_site
from helpers.metalinks import parse as parse_metalink
from take5_ops import pipeline
from take5_ops.audit import run_audit
from take5_ops.distribution.access import PUBLIC_URL_ENV
from take5_ops.distribution.catalog import item_links
from take5_ops.naming import VERSION_ENV, parse_product_name, product_version
from take5_ops.pipeline import run_site
from take5_ops.reprocess import plan_site
from take5_ops.sla.published import first_publications
from take5_ops.storage import Buckets, layout, read_json

SITES = [scene_site().model_copy(update={"site_id": s, "name": s}) for s in ("ReproOne", "ReproTwo", "ReproThree")]
DATES = (ACQUIRED, ACQUIRED + timedelta(days=5))


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    bag = airflow_env.site_bag(tmp_path_factory.mktemp("configs"), SITES)
    assert "take5_reprocess" in bag.dags
    return bag


def _l1c(name: str | None) -> bool:
    return bool(name) and parse_product_name(name)[1] == "L1C"


def _published(buckets: Buckets, site_id: str) -> dict:
    """L1C Items, collection links and Metalink entries of a site, each as a list (duplicates would show)."""
    items = sorted(i.key for i in buckets.dist.list(layout.site_prefix(site_id))
                   if _l1c(layout.item_name_of(site_id, i.key)))
    links = [h for h in item_links(read_json(buckets.dist, layout.collection_key(site_id))) if _l1c(h.split("/")[1])]
    meta4 = buckets.dist.get_bytes(layout.metalink_key(site_id, "L1C"))
    return {"items": items, "links": sorted(links), "metalink": sorted(parse_metalink(meta4)),
            "metalink_entries": meta4.count(b"<file "), "work": sorted(
                n for n in {layout.product_name_of(i.key) for i in buckets.work.list(layout.products_prefix(site_id))}
                if _l1c(n))}


def _check_switch(buckets: Buckets, calls: list):
    """A ``remove_published`` that first checks the old version's successor is published and linked."""
    real = pipeline.remove_published

    def remove(dist, site_id, name):
        new = name.replace("_V1-0", "_V1-1")
        links = item_links(read_json(dist, layout.collection_key(site_id)))
        calls.append((name, dist.exists(layout.item_key(site_id, new)), f"./{new}/{new}.json" in links,
                      f"./{name}/{name}.json" in links))
        return real(dist, site_id, name)
    return remove


def test_reprocess_after_a_version_bump_interrupted_then_rerun(bag, monkeypatch, s3_endpoint, s3_buckets):
    airflow_env.use_s3(monkeypatch, s3_endpoint, s3_buckets)
    monkeypatch.setenv(PUBLIC_URL_ENV, "https://take5.example.org/")
    buckets = Buckets(**s3_buckets)
    for site in SITES:
        put_flat_dem(buckets.aux, site)
        for when in DATES:
            build_delivery(buckets.l1a, acquired=when, site_id=site.site_id)
        assert run_site(site, buckets)["published"] == 4  # an L1A and an L1C per date
    before = {s.site_id: _published(buckets, s.site_id) for s in SITES}
    first = {s.site_id: first_publications(buckets.work, s.site_id) for s in SITES}
    assert {product_version(n.rsplit("/", 1)[-1].removesuffix(".json")) for b in before.values()
            for n in b["items"]} == {"1.0"}

    monkeypatch.setenv(VERSION_ENV.format(level="L1C"), "1.1")  # the bump
    calls: list = []
    monkeypatch.setattr(pipeline, "remove_published", _check_switch(buckets, calls))
    real_l1c, failed_once = pipeline.run_l1c, []

    def l1c_failing_once(b, site, accepted):
        if site.site_id == "ReproTwo" and not failed_once:
            failed_once.append(accepted["product_id"])
            raise ConnectionError("simulated interruption")
        return real_l1c(b, site, accepted)
    monkeypatch.setattr(pipeline, "run_l1c", l1c_failing_once)

    params = {"sites": "all", "levels": ["L1C"], "reason": "test: radiometry fix"}
    interrupted = run(bag, "take5_reprocess", **params)
    assert interrupted["state"] == "failed"
    assert interrupted["tasks"]["site.l1c[2]"] == "failed"  # ReproTwo (sites in SITE_ID order)
    assert interrupted["tasks"]["site.l1c[0]"] == interrupted["tasks"]["site.l1c[1]"] == "success"
    assert interrupted["tasks"]["site.finish[2]"] == "failed"  # linked what was published, then reported the failure
    two = _published(buckets, "ReproTwo")
    assert sorted(product_version(n) for n in two["work"]) == ["1.0", "1.1"]  # half done, both linked once
    assert len(two["links"]) == len(set(two["links"])) == 2

    done = run(bag, "take5_reprocess", **params)
    assert done["state"] == "success", done
    assert done["tasks"]["audit"] == "success"
    assert len(failed_once) == 1
    after = {s.site_id: _published(buckets, s.site_id) for s in SITES}
    for site_id, state in after.items():
        names = [k.rsplit("/", 1)[-1].removesuffix(".json") for k in state["items"]]
        assert [product_version(n) for n in names] == ["1.1", "1.1"], site_id
        assert state["links"] == [f"./{n}/{n}.json" for n in names]
        assert state["metalink_entries"] == len(state["metalink"]) == len(before[site_id]["metalink"])
        assert all("_V1-1_" in f for f in state["metalink"])
        assert [product_version(n) for n in state["work"]] == ["1.1", "1.1"]  # the old work products went
        assert first_publications(buckets.work, site_id) == first[site_id]  # the SLA keeps the first times
        item = json.loads(buckets.dist.get_bytes(state["items"][0]))
        assert item["properties"]["version"] == "1.1"
        assert item["properties"]["processing:software"] == {"take5-l1c": "1.1"}
        page = buckets.dist.get_bytes(f"{site_id}/index.html").decode()
        assert page.count('<td class="version">1.1</td>') == 2  # the L1C
        assert page.count('<td class="version">1.0</td>') == 2  # the L1A: nothing to reprocess
    assert len(calls) == 6 and all(c[1:] == (True, True, False) for c in calls), calls
    assert run_audit(buckets, SITES).clean

    for site in SITES:  # nothing left to do: a third run would plan nothing
        assert plan_site(buckets, site, ["L1C", "L2A"]) == {"site_id": site.site_id, "l1c": [], "l2a_from": None,
                                                            "versions": {"L1C": "1.1", "L2A": "1.0"}}
