"""``take5 search`` and its filters over a published catalog (local distribution tree)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from helpers.fake_products import footprint, site_config
from helpers.published import publish_all
from take5_ops.cli import main
from take5_ops.distribution.search import Query, parse_bbox, parse_day, search
from take5_ops.storage import Buckets

SITE = "FrancePornic"
# (acquired, level, cloud, value): A L1C alone; B+C an L1C and its L2A (12.5 %); D+E (80 %)
SPECS = [(datetime(2015, 5, 3, 10), "L1C", None, 1000),
         (datetime(2015, 5, 8, 10), "L1C", None, 1100), (datetime(2015, 5, 8, 10), "L2A", 12.5, 1200),
         (datetime(2015, 5, 13, 10), "L1C", None, 1300), (datetime(2015, 5, 13, 10), "L2A", 80.0, 1400)]


class Reads:
    """Counts the objects a search reads."""

    def __init__(self, store):
        self.store, self.keys = store, []
        self.real = store.get_bytes

    def __call__(self, key):
        self.keys.append(key)
        return self.real(key)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    buckets = Buckets.local(*(tmp / d for d in ("l1a", "aux", "work", "dist")))
    products, _ = publish_all(buckets, site_config(tmp), tmp / "src", SPECS)
    return buckets.dist, tmp / "dist", {letter: p.name for letter, p in zip("ABCDE", products)}


def names(dist, **query) -> set[str]:
    return {f.name for f in search(dist, Query(**query))}


@pytest.mark.parametrize("query, expected", [
    ({}, "ABCDE"),
    ({"site": SITE}, "ABCDE"),
    ({"site": "Belgium"}, ""),
    ({"level": "L1C"}, "ABD"),
    ({"level": "L2A"}, "CE"),
    ({"start": parse_day("2015-05-08"), "end": parse_day("2015-05-08", end=True)}, "BC"),
    ({"start": parse_day("2015-05-04")}, "BCDE"),
    ({"end": parse_day("2015-05-07", end=True)}, "A"),
    ({"max_cloud": 30}, "BC"),  # B borrows its L2A's 12.5 %; A (no L2A) is unknown: excluded
    ({"max_cloud": 80, "level": "L1C"}, "BD"),
    ({"max_cloud": 79.9, "level": "L2A"}, "C"),
])
def test_filters(published, query, expected):
    dist, _, letter = published
    assert names(dist, **query) == {letter[x] for x in expected}


def test_bbox_intersection(published):
    dist, _, letter = published
    w, s, e, n = footprint()[1]
    corner = (e - 0.001, n - 0.001, e + 1, n + 1)  # overlaps the north-east corner only
    assert names(dist, bbox=corner) == set(letter.values())
    assert names(dist, bbox=(e + 0.001, s, e + 1, n)) == set()  # just east of the footprint
    assert names(dist, bbox=(w - 1, s - 1, w + 0.0001, s + 0.0001), level="L2A") == {letter["C"], letter["E"]}


def test_search_reads_only_the_items_that_can_match(published, monkeypatch):
    dist, _, letter = published
    reads = Reads(dist)
    monkeypatch.setattr(dist, "get_bytes", reads)
    found = search(dist, Query(level="L2A", start=parse_day("2015-05-10")))
    assert [f.name for f in found] == [letter["E"]] and found[0].cloud_cover == 80.0
    assert reads.keys == ["catalog.json", f"{SITE}/collection.json", f"{SITE}/{letter['E']}/{letter['E']}.json"]


def test_search_command(published, capsys):
    _, folder, letter = published
    assert main(["search", "--dist", str(folder), "--json", "--max-cloud", "50", "--to", "2015-05-10"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert sorted(i["id"] for i in items) == sorted([letter["B"], letter["C"]])
    assert main(["search", "--dist", str(folder), "--level", "L1C", "--bbox=" + ",".join(map(str, footprint()[1]))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "3 product(s)" and letter["B"] in out[1] and "cloud  12.5" in out[1]


def test_search_command_free_text(published, capsys):
    """The words are the website's query syntax, narrowed by the options; a site word matches name or country."""
    _, folder, letter = published
    assert main(["search", "--dist", str(folder), "--json", "pornic", "2015-05-08..", "cloud<50"]) == 0
    assert sorted(i["id"] for i in json.loads(capsys.readouterr().out)) == sorted([letter["B"], letter["C"]])
    assert main(["search", "--dist", str(folder), "--json", "France L2A", "--to", "2015-05-10"]) == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == [letter["C"]]
    assert main(["search", "--dist", str(folder), "Belgium"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 product(s)"


@pytest.mark.parametrize("call, message", [
    (lambda: parse_bbox("1,2,3"), "W,S,E,N"),
    (lambda: Query(bbox=(10, 0, 5, 1)), "west <= east"),
    (lambda: parse_day("2015-13-01"), "YYYY-MM-DD"),
    (lambda: Query(max_cloud=150), "0 to 100"),
    (lambda: Query(level="L3"), "L1C, L2A"),
])
def test_invalid_filters(call, message):
    with pytest.raises(ValueError, match=message):
        call()
