"""The free-text query grammar on the Python side (``take5 search WORDS``): the table the website's query.js
is tested with too (tests/helpers/query_examples.json)."""

from __future__ import annotations

import json

import pytest

from helpers.paths import ROOT
from take5_ops.distribution.search import Query, parse_day, parse_text, text_query

EXAMPLES = json.loads((ROOT / "tests" / "helpers" / "query_examples.json").read_text())["examples"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["query"] or "(empty)" for e in EXAMPLES])
def test_parse_text_follows_the_shared_table(example):
    if "error" in example:
        with pytest.raises(ValueError, match=example["error"]):
            parse_text(example["query"])
    else:
        assert parse_text(example["query"]) == example["parsed"]


def test_text_query_narrows_the_options():
    q = text_query("Pornic L2A 2015-05 cloud<30", start=parse_day("2015-05-10"), max_cloud=40)
    assert q == Query(level="L2A", start=parse_day("2015-05-10"), end=parse_day("2015-05-31", end=True),
                      max_cloud=30, terms=("pornic",))
    with pytest.raises(ValueError, match="give one"):
        text_query("L1C", level="L2A")
    assert text_query("", site="FrancePornic") == Query(site="FrancePornic")
