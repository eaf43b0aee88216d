"""Chosen assets of the STAC API's Items downloaded by stac-asset, as docs/distribution.md shows users.

The STAC API server (``helpers.stac_api``) over products published through the pipeline into the moto S3
server, public-read: pystac-client searches the API over HTTP, then stac-asset's CLI (``.venv-stacapi``: its
aiobotocore clashes with Airflow's botocore pin) downloads only two asset keys of the L2A Items found from
their public URLs. Every file downloaded has the Item's ``file:size`` and ``file:checksum`` (SHA-256
multihash) and the bucket's bytes; no other asset was fetched.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from pystac_client import Client

from helpers.fake_products import site_config
from helpers.paths import ROOT
from helpers.published import publish_all
from helpers.stac_api import StacApiServer
from take5_ops.distribution.access import set_public_read
from take5_ops.storage import Buckets, S3Store
from take5_ops.storage.buckets import ROLES, default_name

STAC_ASSET = ROOT / ".venv-stacapi" / "bin" / "stac-asset"
SITE = "FrancePornic"
CHOSEN = ["SAT", "XS2"]  # the fake L2A have the L1C's asset keys; the demo's have CLM, MG2 (docs)
SPECS = [(datetime(2015, 4, 18, 10), "L1C", None, 1000), (datetime(2015, 4, 18, 10), "L2A", 12.5, 1100),
         (datetime(2015, 5, 8, 10), "L1C", None, 1200), (datetime(2015, 5, 8, 10), "L2A", 61.0, 1300),
         (datetime(2015, 6, 2, 10), "L2A", 3.0, 1400)]
LEVEL_L2A = {"op": "=", "args": [{"property": "take5:level"}, "L2A"]}


@pytest.fixture(scope="module")
def api(s3_endpoint, tmp_path_factory):
    """The API's URL and the distribution bucket, after publishing SPECS with the API configured."""
    root = tmp_path_factory.mktemp("stac-asset")
    saved = os.environ.pop("TAKE5_PUBLIC_URL", None)  # the hrefs: the S3 server's URLs
    server = StacApiServer().start()
    stores = {}
    try:
        for role in ROLES:
            stores[role] = S3Store.from_endpoint(f"{default_name(role)}-stac-asset", s3_endpoint)
            stores[role].client.create_bucket(Bucket=stores[role].bucket)
        buckets = Buckets(**stores)
        buckets.api = server.db_url
        publish_all(buckets, site_config(root), root / "src", SPECS)
        set_public_read(buckets.dist)
        yield server.url, buckets.dist
    finally:
        server.stop()
        if saved is not None:
            os.environ["TAKE5_PUBLIC_URL"] = saved


def sha256_multihash(blob: bytes) -> str:
    return "1220" + hashlib.sha256(blob).hexdigest()


def test_stac_asset_downloads_only_the_chosen_assets_of_a_search(api, tmp_path):
    url, dist = api
    found = Client.open(url).search(collections=[SITE], datetime="2015-04-01/2015-05-31", filter=LEVEL_L2A,
                                    filter_lang="cql2-json").item_collection()
    assert sorted(i.datetime.date().isoformat() for i in found) == ["2015-04-18", "2015-05-08"]
    items_file = tmp_path / "search.json"
    items_file.write_text(json.dumps(found.to_dict()))
    out = tmp_path / "out"
    run = subprocess.run([str(STAC_ASSET), "download", *(a for k in CHOSEN for a in ("-i", k)), "--fail-fast",
                          str(items_file), str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    downloaded = json.loads(run.stdout)  # the Item collection again, its hrefs now the local files

    expected = {}
    for item in found:
        assert set(CHOSEN) < set(item.assets)
        for key in CHOSEN:
            asset = item.assets[key]
            expected[(item.id, key)] = (asset.extra_fields["file:size"], asset.extra_fields["file:checksum"],
                                        asset.href)
    got = {}
    for feature in downloaded["features"]:
        assert sorted(feature["assets"]) == sorted(CHOSEN), feature["id"]
        for key, asset in feature["assets"].items():
            path = Path(asset["href"])
            assert path.is_relative_to(out), path
            blob = path.read_bytes()
            got[(feature["id"], key)] = (len(blob), sha256_multihash(blob))
            public_url = expected[(feature["id"], key)][2]
            assert blob == dist.get_bytes(public_url.split(f"/{dist.bucket}/", 1)[1])
    assert got == {k: v[:2] for k, v in expected.items()}
    on_disk = sorted(p.name for p in out.rglob("*") if p.is_file() and p.suffix != ".json")
    assert len(on_disk) == len(found) * len(CHOSEN)  # nothing else fetched
