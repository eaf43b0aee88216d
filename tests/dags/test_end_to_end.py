"""A site DAG run end to end with ``dag.test()`` against the S3 server over HTTP.

Simulated deliveries are uploaded to the moto server; the real DAG (parsed
from ``dags/`` with a small site configuration) runs every task: the
deferrable sensor's trigger inline, validation, L1C, publication and the
catalog update. A second run with no new delivery is skipped and changes
nothing in any bucket.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pyproj import Transformer

from helpers import dag_subprocess
from helpers.stac_validation import validate_tree
from take5_ops.l1a.upload import delivery_folders, upload_delivery
from take5_ops.storage import LocalStore, copy_tree, layout

SITE = "FrancePornic"
GRID_PX = 640
DATES = [datetime(2015, 4, 8, 10, 40, tzinfo=UTC), datetime(2015, 4, 13, 10, 40, tzinfo=UTC)]


def small_site_config(folder: Path) -> dict:
    """A small grid (6.4 km) around Pornic, written as ``<folder>/FrancePornic.yaml``."""
    lon, lat = -2.0, 47.1
    x, y = Transformer.from_crs(4326, 32630, always_xy=True).transform(lon, lat)
    cfg = {
        "site_id": SITE, "name": "France : Pornic", "country": "France", "center": {"lon": lon, "lat": lat},
        "grid": {"epsg": 32630, "ulx": round(x / 10) * 10 - GRID_PX * 5, "uly": round(y / 10) * 10 + GRID_PX * 5,
                 "width": GRID_PX, "height": GRID_PX, "resolution": 10.0},
        "cycle_day": 3, "first_acquisition": "2015-04-08", "aerosol_model": "CONT",
        "sla": {"contacts": ["ops@example.org"]},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{SITE}.yaml").write_text(yaml.safe_dump(cfg))
    return cfg


def run_dag(env: dict, conf: dict) -> dict:
    return dag_subprocess.run_dag(env, f"take5_{SITE}", conf)


def bucket_state(buckets: dict) -> dict:
    return {(role, i.key): (i.etag, i.last_modified) for role, s in buckets.items() for i in s.list()}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from take5_ops.sim import simulate_product
    from take5_ops.siteconfig import load_site_config

    root = tmp_path_factory.mktemp("e2e")
    small_site_config(root / "configs")
    site = load_site_config(root / "configs" / f"{SITE}.yaml")
    for acquired in DATES:
        simulate_product(site, acquired, root / "sim", size=700, truth=False)
    return root


def test_weekly_site_dag_runs_end_to_end_then_skips(simulated, s3_endpoint, s3_buckets, tmp_path):
    home = tmp_path / "airflow"
    env = dag_subprocess.airflow_env(home, simulated / "configs", s3_endpoint, s3_buckets)
    dag_subprocess.migrate(env)
    copy_tree(LocalStore(simulated / "sim" / "aux"), s3_buckets["aux"])
    first, second = delivery_folders(simulated / "sim" / "l1a")

    # week 1: one delivery (a mapped group of one), week 2: the next one
    for week, folder in enumerate((first, second), start=1):
        upload_delivery(folder, s3_buckets["l1a"])
        run = run_dag(env, {"poll_seconds": 1, "timeout_seconds": 60})
        assert run["state"] == "success", run
        tasks = run["tasks"]
        assert [tasks[k] for k in ("wait_for_delivery", "validate_deliveries", "l1a[0]", "l1c[0]", "publish[0]",
                                   "update_catalog")] == ["success"] * 6, tasks
        assert "l1c[1]" not in tasks and "l1a[1]" not in tasks
        # the L2A gate is closed (a few days of history): the branch skips the L2A and says why
        assert (tasks["l2a_gate"], tasks["l2a"]) == ("success", "skipped"), tasks
        status = json.loads(s3_buckets["work"].get_bytes(layout.l2a_status_key(SITE)))
        assert status["gate"] == "closed" and f"/{status['init_days']} days" in status["message"]
        assert len(status["dates"]) == week and {d["outcome"] for d in status["dates"].values()} == {"waiting"}
        collection = json.loads(s3_buckets["dist"].get_bytes(f"{SITE}/collection.json"))
        assert len([link for link in collection["links"] if link["rel"] == "item"]) == 2 * week  # L1A and L1C

    dist = s3_buckets["dist"]
    catalog = json.loads(dist.get_bytes("catalog.json"))
    assert [link["href"] for link in catalog["links"] if link["rel"] == "child"] == [f"./{SITE}/collection.json"]
    collection = json.loads(dist.get_bytes(f"{SITE}/collection.json"))
    items = sorted(link["href"] for link in collection["links"] if link["rel"] == "item")
    assert len(items) == 2 * len(DATES)
    for href in items:
        item = json.loads(dist.get_bytes(f"{SITE}/{href.removeprefix('./')}"))
        level = item["properties"]["processing:level"]
        assert {"L1A": {"IMAGERY", "metadata"}, "L1C": {"XS1", "XS2", "XS3", "SWIR", "thumbnail", "metadata"}}[
            level] <= set(item["assets"])
        base = f"{SITE}/{href.removeprefix('./').rsplit('/', 1)[0]}/"
        for asset in item["assets"].values():
            info = dist.head(base + asset["href"].removeprefix("./"))
            assert info is not None and info.size == asset["file:size"]
    documents = validate_tree(dist.get_bytes)
    assert len(documents) == 2 + 2 * len(DATES)
    ledger = sorted(i.key for i in s3_buckets["work"].list(layout.ledger_prefix(SITE)))
    assert len(ledger) == len(DATES)

    before = bucket_state(s3_buckets)
    idle = run_dag(env, {"poll_seconds": 1, "timeout_seconds": 3})
    assert idle["tasks"]["wait_for_delivery"] == "skipped", idle
    # everything skipped but the SLA check, which runs at the end of every run (no SMTP connection here)
    assert idle["tasks"].pop("sla_check") == "success", idle
    assert all(state == "skipped" for state in idle["tasks"].values()), idle
    assert bucket_state(s3_buckets) == before
