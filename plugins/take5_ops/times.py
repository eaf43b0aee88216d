"""Times as the chain writes and reads them: ISO 8601 in UTC with a ``Z`` suffix."""

from __future__ import annotations

import re
from datetime import UTC, datetime


def format_time(t: datetime, timespec: str = "auto") -> str:
    """``2015-05-04T02:13:00Z`` for an aware datetime (``timespec`` as :meth:`datetime.isoformat`)."""
    if t.tzinfo is None:
        raise ValueError(f"{t!r} has no time zone")
    return t.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time that carries its offset; return it in UTC (``ValueError`` otherwise)."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})", text):
        raise ValueError(f"{text!r} is not an ISO 8601 time with its UTC offset")
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        raise ValueError(f"{text!r} is out of the range of times") from None
