"""An S3 presigned URL checked the way S3 checks it (AWS Signature Version 4, query-string
authentication), written from the AWS specification with hashlib/hmac, independently of botocore
that signs: the moto server accepts any presigned URL without checking its signature or expiry.

:func:`verify` recomputes the signature from the URL, the secret key and the request's host, and
refuses an expired URL (``X-Amz-Date`` + ``X-Amz-Expires`` past ``now``) or one valid longer than
7 days, like S3.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MAX_EXPIRES = 7 * 24 * 3600


class Refused(Exception):
    """What S3 would answer 403 for (the message says which check)."""


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _encode(s: str) -> str:
    return quote(s, safe="-_.~")


def verify(url: str, secret_key: str, now: datetime | None = None) -> dict:
    """The URL's signing parameters when S3 would accept it at ``now``; raise :class:`Refused` else."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        raise Refused("not a SigV4 presigned URL")
    for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if name not in params:
            raise Refused(f"{name} missing")
    expires = int(params["X-Amz-Expires"])
    if not 1 <= expires <= MAX_EXPIRES:
        raise Refused(f"X-Amz-Expires {expires}: S3 allows 1 s to 7 days")
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if (now or datetime.now(UTC)) > signed_at + timedelta(seconds=expires):
        raise Refused("Request has expired")
    _key_id, day, region, service, terminal = params["X-Amz-Credential"].split("/")
    if terminal != "aws4_request" or day != params["X-Amz-Date"][:8]:
        raise Refused("bad credential scope")
    signed_headers = params["X-Amz-SignedHeaders"].split(";")
    headers = {"host": parts.netloc}
    if signed_headers != ["host"]:
        raise Refused(f"signed headers {signed_headers}: only host expected")
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query) if k != "X-Amz-Signature")
    canonical = "\n".join([
        "GET", quote(unquote(parts.path), safe="/-_.~"), canonical_query,
        "".join(f"{h}:{headers[h]}\n" for h in signed_headers), params["X-Amz-SignedHeaders"], "UNSIGNED-PAYLOAD"])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise Refused("SignatureDoesNotMatch")
    return {"signed_at": signed_at, "expires": expires, "credential": params["X-Amz-Credential"]}
