"""STAC documents: required assets, extensions and fields; strict offline validation."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pystac.errors import STACValidationError

from helpers.fake_products import make_product, site_config
from helpers.stac_validation import validate
from take5_ops.distribution import catalog
from take5_ops.storage import sha256_file

ACQ = datetime(2015, 4, 28, 10, 32, 35)


@pytest.fixture
def product(tmp_path):
    return make_product(tmp_path / "p", ACQ)


def test_item_assets_extensions_fields(product, tmp_path):
    item = json.loads(catalog.item_json(product))
    schemas = validate(item)
    for ext in ("eo/v1.1.0", "projection/v2.0.0", "raster/v1.1.0", "file/v2.1.0", "view/v1.0.0"):
        assert any(ext in s for s in schemas), ext
        assert any(ext in s for s in item["stac_extensions"]), ext
    assert item["id"] == product.name
    assert item["collection"] == "FrancePornic"
    assert item["properties"]["datetime"] == "2015-04-28T10:32:35Z"
    assert item["properties"]["proj:code"] == "EPSG:32630"
    assert item["properties"]["instruments"] == ["hrg2"]
    assert item["properties"]["gsd"] == 10.0
    assert "take5:l1a_marker_etag" not in item["properties"]
    assert set(item["assets"]) == {"XS1", "XS2", "XS3", "SWIR", "SAT", "EDG", "thumbnail", "metadata"}
    expected = {"XS1": ("green", 0.545), "XS2": ("red", 0.645), "XS3": ("nir", 0.835), "SWIR": ("swir16", 1.665)}
    folder = tmp_path / "p" / product.name
    for key, asset in item["assets"].items():
        assert asset["href"].startswith(f"./{product.name}_") and "/" not in asset["href"][2:]
        path = folder / asset["href"][2:]
        assert asset["file:size"] == path.stat().st_size
        assert asset["file:checksum"] == "1220" + sha256_file(path)
        if key in expected:
            (band,) = asset["eo:bands"]
            assert (band["common_name"], band["center_wavelength"]) == expected[key]
            (rb,) = asset["raster:bands"]
            assert (rb["scale"], rb["nodata"], rb["data_type"]) == (0.0001, -10000, "int16")
    assert item["assets"]["thumbnail"]["roles"][0] == "thumbnail"
    links = {(link["rel"], link["href"]) for link in item["links"]}
    assert links == {("root", "../../catalog.json"), ("parent", "../collection.json"),
                     ("collection", "../collection.json")}
    assert [link["rel"] for link in item["links"]] == sorted(link["rel"] for link in item["links"])


def test_item_is_deterministic(tmp_path):
    a = make_product(tmp_path / "a", ACQ)
    b = make_product(tmp_path / "b", ACQ)
    assert catalog.item_json(a) == catalog.item_json(b)
    c = make_product(tmp_path / "c", ACQ, value=2000)
    assert catalog.item_json(c) != catalog.item_json(a)


@pytest.mark.parametrize("field, value", [
    ("file:checksum", "not-hex"),
    ("raster:bands", [{"data_type": "int17"}]),
    ("eo:bands", [{"name": "XS1", "common_name": "greenish"}]),
])
def test_validation_is_strict(product, field, value):
    item = json.loads(catalog.item_json(product))
    item["assets"]["XS1"][field] = value
    with pytest.raises(STACValidationError):
        validate(item)


def test_view_angle_out_of_range_fails(product):
    product.properties["view:incidence_angle"] = -12.5  # signed INCIDENCE_ANGLE is not a view angle
    with pytest.raises(STACValidationError):
        validate(json.loads(catalog.item_json(product)))


def test_manifest_without_footprint(product):
    del product.properties["geometry"]
    with pytest.raises(catalog.CatalogError, match="properties.geometry"):
        catalog.item_json(product)


def test_collection_and_root_catalog(tmp_path):
    site = site_config(tmp_path)
    items = {}
    for day, instrument in ((3, 1), (28, 2), (13, 2)):
        p = make_product(tmp_path / "p", datetime(2015, 5, day, 10, 0, 0), instrument=instrument, value=day)
        items[f"./{p.name}/{p.name}.json"] = json.loads(catalog.item_json(p))
    col = json.loads(catalog.collection_json(site, items))
    validate(col)
    assert col["id"] == "FrancePornic"
    assert col["license"]
    assert {p["name"] for p in col["providers"]} >= {"CNES"}
    assert col["extent"]["temporal"]["interval"] == [["2015-05-03T10:00:00Z", "2015-05-28T10:00:00Z"]]
    (bbox,) = col["extent"]["spatial"]["bbox"]
    assert bbox == next(iter(items.values()))["bbox"]
    assert col["summaries"]["instruments"] == ["hrg1", "hrg2"]
    assert col["summaries"]["proj:code"] == ["EPSG:32630"]
    hrefs = [link["href"] for link in col["links"] if link["rel"] == "item"]
    assert hrefs == sorted(items)
    assert catalog.item_links(col) == sorted(items)
    assert {(link["rel"], link["href"]) for link in col["links"] if link["rel"] != "item"} == {
        ("root", "../catalog.json"), ("parent", "../catalog.json")}
    assert catalog.collection_json(site, dict(reversed(list(items.items())))) == catalog.collection_json(site, items)

    root = json.loads(catalog.catalog_json(["ZedSite", "FrancePornic", "FrancePornic"]))
    validate(root)
    assert [(link["rel"], link["href"]) for link in root["links"]] == [
        ("child", "./FrancePornic/collection.json"), ("child", "./ZedSite/collection.json"),
        ("root", "./catalog.json")]
    assert catalog.child_sites(root) == ["FrancePornic", "ZedSite"]
    assert not any(link["rel"] == "self" for link in root["links"] + col["links"])
