"""Fuzzing the parsers of untrusted delivery files: every input is accepted, or rejected with the
parser's own error and a reason naming the file; nothing else escapes (helpers/fuzz.py: ``make fuzz``
runs 100 000 inputs per parser)."""

from __future__ import annotations

from hypothesis import event, given

from helpers.fuzz import SITE, budget, delivery_ok_inputs, metadata_inputs, product_ids
from take5_ops.errors import DeliveryError, MetadataError
from take5_ops.l1a.delivery import delivery_ok_bytes, parse_delivery_ok
from take5_ops.l1a.metadata import read_dimap

SOURCE = "s3://take5-l1a/AustraliaLitchfield/x/DELIVERY.OK"
DIM = "s3://take5-l1a/AustraliaLitchfield/x/METADATA.DIM"


def outcome(error: type[Exception], parse, *args, **kwargs):
    """``(result, None)``, or ``(None, reason)`` when ``parse`` raises ``error``; any other exception escapes."""
    try:
        result = parse(*args, **kwargs)
    except error as exc:
        event("rejected")
        return None, str(exc)
    event("accepted")
    return result, None


@budget
@given(data=delivery_ok_inputs, product_id=product_ids)
def test_delivery_ok_is_accepted_or_rejected_with_a_reason(data, product_id):
    manifest, reason = outcome(DeliveryError, parse_delivery_ok, data, site_id=SITE, product_id=product_id,
                               source=SOURCE)
    if reason is not None:
        assert reason.startswith(f"{SOURCE}: ") and len(reason) > len(SOURCE) + 5
        return
    again = parse_delivery_ok(delivery_ok_bytes(manifest), site_id=SITE, product_id=product_id, source=SOURCE)
    assert again == manifest


@budget
@given(data=metadata_inputs)
def test_metadata_dim_is_accepted_or_rejected_with_a_reason(data):
    meta, reason = outcome(MetadataError, read_dimap, data, source=DIM)
    if reason is not None:
        assert reason.startswith(f"{DIM}: ") and len(reason) > len(DIM) + 5
        return
    assert meta.ncols > 0 and meta.nrows > 0 and set(meta.bands) == {"XS1", "XS2", "XS3", "SWIR"}
