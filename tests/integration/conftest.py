"""Fixtures of the SLA tests: the site judged and its buckets."""

from __future__ import annotations

import pytest

from helpers.paths import SITE_CONFIGS
from helpers.sla_cases import SITE_ID
from take5_ops.siteconfig import load_site_config
from take5_ops.storage import Buckets


@pytest.fixture
def site():
    """The site of the SLA tests (FrancePornic)."""
    return load_site_config(SITE_CONFIGS / f"{SITE_ID}.yaml")


@pytest.fixture
def buckets(s3_buckets):
    """The test's fresh buckets as :class:`Buckets`."""
    return Buckets(**s3_buckets)
