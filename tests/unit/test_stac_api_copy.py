"""The API copy of the static documents (``distribution.stacapi``): hrefs, links, comparison."""

from __future__ import annotations

import copy

from take5_ops.distribution.access import public_urls
from take5_ops.distribution.stacapi import api_collection, api_item, provisional_collection, same_item

URLS = public_urls("https://dist.example.org/take5-dist/")
KEY = "FrancePornic/P1/P1.json"
ITEM = {
    "type": "Feature", "id": "P1", "collection": "FrancePornic", "bbox": [-2.1, 47.0, -2.0, 47.1],
    "geometry": {"type": "Polygon", "coordinates": [[[-2.1, 47.0], [-2.0, 47.0], [-2.0, 47.1], [-2.1, 47.0]]]},
    "properties": {"datetime": "2015-05-03T10:30:00Z", "take5:level": "L1C"},
    "assets": {"XS1": {"href": "./v0123/P1_XS1.tif"}, "ext": {"href": "https://elsewhere.org/x.tif"}},
    "links": [{"rel": "root", "href": "../../catalog.json"}, {"rel": "collection", "href": "../collection.json"}],
}


def test_api_item_has_absolute_hrefs_and_one_link_to_its_static_twin():
    out = api_item(ITEM, KEY, URLS)
    assert out["assets"]["XS1"]["href"] == "https://dist.example.org/take5-dist/FrancePornic/P1/v0123/P1_XS1.tif"
    assert out["assets"]["ext"]["href"] == "https://elsewhere.org/x.tif"
    assert out["links"] == [{"rel": "alternate", "href": "https://dist.example.org/take5-dist/" + KEY,
                             "type": "application/json", "title": "static STAC Item"}]
    assert ITEM["assets"]["XS1"]["href"] == "./v0123/P1_XS1.tif"  # the static document is left alone


def test_api_collection_drops_item_links_and_resolves_metalinks():
    static = {"id": "FrancePornic", "links": [{"rel": "item", "href": "./P1/P1.json"}],
              "assets": {"metalink-L1C": {"href": "./FrancePornic_L1C.meta4"}}}
    out = api_collection(static, "FrancePornic/collection.json", URLS)
    assert [link["rel"] for link in out["links"]] == ["alternate"]
    assert out["assets"]["metalink-L1C"]["href"].endswith("/take5-dist/FrancePornic/FrancePornic_L1C.meta4")


def test_same_item_ignores_float_noise_of_the_geometry_but_not_changes():
    wanted = api_item(ITEM, KEY, URLS)
    stored = copy.deepcopy(wanted)
    stored["geometry"]["coordinates"][0][0][0] = -2.1000000000001  # PostGIS's own float text
    assert same_item(wanted, stored)
    stored["properties"]["eo:cloud_cover"] = 3.0
    assert not same_item(wanted, stored)
    moved = copy.deepcopy(wanted)
    moved["geometry"]["coordinates"][0][0][0] = -2.2
    assert not same_item(wanted, moved)


def test_provisional_collection_spans_its_first_item():
    c = provisional_collection(ITEM)
    assert c["id"] == "FrancePornic" and c["extent"]["spatial"]["bbox"] == [ITEM["bbox"]]
    assert c["extent"]["temporal"]["interval"] == [["2015-05-03T10:30:00Z", "2015-05-03T10:30:00Z"]]
