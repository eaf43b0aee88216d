"""Hypothesis profiles and strategies of the parser fuzzers (tests/unit/test_fuzz_parsers.py).

:data:`budget` is the profile ``quick`` (a bounded budget within ``make test``) or, when ``TAKE5_FUZZ``
is set, ``fuzz`` (``make fuzz``: ``TAKE5_FUZZ_EXAMPLES`` inputs per parser, 100 000 unless told).
Inputs are arbitrary bytes, mutations of a valid document (fields replaced by arbitrary JSON or
text, elements removed or repeated, bytes flipped, cut short) and edge values (extreme times, deep
nesting).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from helpers.l1a_builder import REAL_ORDER, make_metadata
from take5_ops.l1a.metadata import write_dimap

QUICK_EXAMPLES = 150
settings.register_profile("quick", max_examples=QUICK_EXAMPLES, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=int(os.environ.get("TAKE5_FUZZ_EXAMPLES", "100000")),
                          deadline=None, database=None, suppress_health_check=list(HealthCheck))


budget = settings.get_profile("fuzz" if os.environ.get("TAKE5_FUZZ") else "quick")  # a test decorator


SITE = "AustraliaLitchfield"
PRODUCT_ID = f"SPOT5-HRG2-XS_20150428-103235_L1A_{SITE}"
SHA = "ab" * 32

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
iso_times = st.builds(
    lambda t, zone: t.isoformat().replace("+00:00", zone) if zone else t.isoformat(),
    st.datetimes(timezones=st.timezones() | st.none()), st.sampled_from(["", "Z", "+00:00", "-23:59", "+14:00"]),
) | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]) | st.text(
    alphabet="0123456789-T:.Z+ ", max_size=32)
file_entries = st.fixed_dictionaries({
    "name": st.sampled_from(["METADATA.DIM", "IMAGERY.TIF", "PREVIEW.JPG", "DELIVERY.OK", "../x", ""]) | st.text(max_size=20),
    "size": st.integers() | json_values,
    "sha256": st.sampled_from([SHA, SHA.upper(), SHA[:63], "g" * 64]) | json_values,
})


def _valid_marker() -> dict:
    return {"product_id": PRODUCT_ID, "site_id": SITE, "delivered_at": "2015-05-04T02:13:00Z",
            "files": [{"name": n, "size": 1, "sha256": SHA} for n in ("METADATA.DIM", "IMAGERY.TIF")]}


@st.composite
def _mutated_marker(draw) -> bytes:
    doc = _valid_marker()
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([*doc, "extra"]))
        doc[key] = draw({"delivered_at": iso_times, "files": st.lists(file_entries, max_size=4)}.get(key, json_values)
                        | json_values)
    if draw(st.booleans()):
        doc.pop(draw(st.sampled_from(sorted(doc))))
    return json.dumps(doc).encode()  # NaN and Infinity included: the parser must refuse them


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _mutated_bytes(valid: bytes):
    """``valid`` with a byte range replaced, cut short, or with bytes inserted."""
    @st.composite
    def mutate(draw) -> bytes:
        data = bytearray(valid)
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 16)))
        data[i:j] = draw(st.binary(max_size=16))
        return bytes(data)
    return mutate()


delivery_ok_inputs = st.one_of(
    st.binary(max_size=512),
    _mutated_marker(),
    _mutated_bytes(json.dumps(_valid_marker()).encode()),
    st.integers(1, 200_000).map(_nested),
)
product_ids = st.sampled_from([PRODUCT_ID, f"SPOT5-HRG2-XS_20150431-103235_L1A_{SITE}",
                               "SPOT5-HRG2-XS_20150428-103235_L1A_FrancePornic", ""]) | st.text(max_size=60)

VALID_DIM = write_dimap(make_metadata(), REAL_ORDER)
_ELEMENTS = sorted({el.tag for el in ET.fromstring(VALID_DIM).iter()})


@st.composite
def _mutated_dimap(draw) -> bytes:
    root = ET.fromstring(VALID_DIM)
    for _ in range(draw(st.integers(1, 3))):
        tag = draw(st.sampled_from(_ELEMENTS))
        found = [(parent, child) for parent in root.iter() for child in parent if child.tag == tag]
        if not found:
            continue
        parent, child = draw(st.sampled_from(found))
        action = draw(st.sampled_from(["text", "drop", "repeat", "attribute"]))
        if action == "text":
            child.text = draw(st.sampled_from(["", "nan", "inf", "-1", "0", "1e400", "9" * 5000, "2015-02-30",
                                               "25:61:61", "XS1", "SPOT"]) | st.text(max_size=20))
        elif action == "drop":
            parent.remove(child)
        elif action == "repeat":
            parent.append(child)
        else:
            child.set(draw(st.sampled_from(["version", "href"])), draw(st.text(max_size=8)))
    return ET.tostring(root)


metadata_inputs = st.one_of(
    st.binary(max_size=512),
    _mutated_dimap(),
    _mutated_bytes(VALID_DIM),
    st.sampled_from([b'<!DOCTYPE x [<!ENTITY a "b">]><Dimap_Document>&a;</Dimap_Document>',
                     b"<" + b"a><" * 50_000, b"<Dimap_Document/>",
                     b'<?xml version="1.0" encoding="cp932"?><Dimap_Document/>',
                     b'<?xml version="1.0" encoding="bogus"?><Dimap_Document/>']),
)
