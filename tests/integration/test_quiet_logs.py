"""Quiet logs: one credential lookup per task at most, not one per raster, and a few log lines per product.

A site run on a real moto S3 server (two deliveries from tests/helpers/l1a_builder.py, a flat DEM):
``botocore.credentials`` logs each lookup ("Found credentials in environment variables").
"""

from __future__ import annotations

import logging
from datetime import timedelta

from helpers.l1a_builder import ACQUIRED, build_delivery, put_flat_dem, scene_site
from take5_ops.pipeline import run_site
from take5_ops.storage import Buckets

LINES_PER_PRODUCT = 4


def test_a_site_run_looks_credentials_up_once_and_logs_a_few_lines_per_product(s3_buckets, caplog):
    buckets = Buckets(**s3_buckets)  # its clients found their credentials already: one lookup per task
    site = scene_site()
    put_flat_dem(buckets.aux, site)
    for days in (0, 5):
        build_delivery(buckets.l1a, acquired=ACQUIRED + timedelta(days=days))
    caplog.set_level(logging.DEBUG, logger="botocore.credentials")
    caplog.set_level(logging.INFO, logger="take5_ops")
    summary = run_site(site, buckets)
    assert summary["published"] == 4 and not summary["failed"], summary  # the L1A and L1C of each delivery
    lookups = [r for r in caplog.records if r.name == "botocore.credentials"]
    assert lookups == [], [r.getMessage() for r in lookups]
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("take5_ops")]
    assert len(ours) <= LINES_PER_PRODUCT * summary["published"], ours
