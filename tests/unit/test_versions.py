"""Processor versions in product names: the current one by default, an override for drills, old names parse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from take5_ops.distribution.publish import current_versions
from take5_ops.naming import (
    PROCESSOR_VERSIONS,
    VERSION_ENV,
    ProductId,
    parse_product_name,
    processor_version,
    product_stem,
    product_version,
)
from take5_ops.sla.published import by_product

PID = ProductId(datetime(2015, 4, 28, 10, 32, 35, tzinfo=UTC), 2, "AustraliaLitchfield")
OLD = "SPOT5-HRG2-XS_20150428-103235-000_L1C_AustraliaLitchfield_D_V1-0"


def test_names_carry_the_level_version_and_old_names_still_parse(monkeypatch):
    monkeypatch.delenv(VERSION_ENV.format(level="L1C"), raising=False)
    major, minor = PROCESSOR_VERSIONS["L1C"].split(".")
    assert PID.product_name("L1C").endswith(f"_D_V{major}-{minor}")
    monkeypatch.setenv(VERSION_ENV.format(level="L1C"), "2.13")
    name = PID.product_name("L1C")
    assert name.endswith("_D_V2-13") and processor_version("L1C") == "2.13" and product_version(name) == "2.13"
    assert PID.product_name("L2A").endswith(f"_D_V{PROCESSOR_VERSIONS['L2A'].replace('.', '-')}")
    assert parse_product_name(OLD) == (PID, "L1C") == parse_product_name(name)
    assert product_stem(OLD) == product_stem(name) == OLD.removesuffix("_V1-0")
    assert product_stem("catalog.json") is None


def test_a_bad_version_is_refused(monkeypatch):
    monkeypatch.setenv(VERSION_ENV.format(level="L2A"), "1-1")
    with pytest.raises(ValueError, match="TAKE5_PROCESSOR_VERSION_L2A"):
        processor_version("L2A")
    with pytest.raises(ValueError, match="unknown product level"):
        PID.product_name("L1B", "1.0")


def test_the_current_version_is_the_highest_and_times_follow_the_product():
    v1_2, v1_10 = PID.product_name("L1C", "1.2"), PID.product_name("L1C", "1.10")
    assert current_versions([OLD, v1_10, v1_2]) == {product_stem(OLD): v1_10}  # 1.10 > 1.2, not as text
    t0, t1 = datetime(2015, 5, 1, tzinfo=UTC), datetime(2015, 9, 1, tzinfo=UTC)
    assert by_product({OLD: t0, v1_2: t1}) == {product_stem(OLD): t0}
