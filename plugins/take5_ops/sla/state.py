"""What was already told, kept in the work bucket so that it survives restarts.

- ``layout.sla_journal_key``: the journal, one record per
  message sent to the site's contacts (at most one per UTC day), written once
  the SMTP server accepted it: ``{"site_id", "sent_at", "alerts": [{"subject", "state"}]}``.
- ``layout.sla_index_key``: the index, the union of the records with the
  ETag of each record it folds and a SHA-256 of its own content.
- ``layout.sla_digest_key``: the weekly digest of that ISO week was sent.
- ``layout.sla_mail_error_key`` (of the site, or of ``digest``): the last message that could not
  be sent, ``{"site_id", "failed_at", "error", "alerts"}``, removed once one goes (the dashboard shows it).

The index is a cache: when it is missing, unreadable, fails its SHA-256 or
does not fold exactly the records listed, it is rebuilt from the journal.
See docs/sla.md for why this gives "nothing sent twice, nothing missed".
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from take5_ops.storage import Store, StoreError, layout, put_if_changed, read_json
from take5_ops.times import format_time, parse_time

log = logging.getLogger(__name__)

VERSION = 1
DIGEST = "digest"  # the ops list's digest, in place of a site id (its failed sendings)


def _to_json(doc: dict) -> bytes:
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def _checksum(records: dict, notified: dict) -> str:
    return hashlib.sha256(_to_json({"records": records, "notified": notified})).hexdigest()


@dataclass
class NotifiedState:
    """The alerts already sent for a site: ``notified[subject][state] = sent_at``."""

    site_id: str
    notified: dict[str, dict[str, str]] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)  # journal key -> ETag
    rebuilt: bool = False

    def knows(self, subject: str, state: str) -> bool:
        return state in self.notified.get(subject, {})

    def sent_on(self, day: date) -> bool:
        """True when a message already went to the site's contacts on ``day`` (UTC)."""
        start = f"{layout.sla_journal_prefix(self.site_id)}{day.isoformat()}T"
        return any(key.startswith(start) for key in self.records)

    def _add(self, alerts: list[dict], sent_at: str) -> None:
        for a in alerts:
            self.notified.setdefault(a["subject"], {}).setdefault(a["state"], sent_at)


def _valid_index(doc: dict | None, site_id: str, records: dict[str, str]) -> bool:
    if not doc or doc.get("version") != VERSION or doc.get("site_id") != site_id:
        return False
    notified = doc.get("notified")
    if doc.get("records") != records or not isinstance(notified, dict):
        return False
    return doc.get("sha256") == _checksum(records, notified)


def _record_alerts(work: Store, key: str) -> tuple[list[dict], str] | None:
    doc = read_json(work, key)
    alerts = (doc or {}).get("alerts")
    if not isinstance(alerts, list) or not isinstance(doc.get("sent_at"), str) or not all(
            isinstance(a, dict) and isinstance(a.get("subject"), str) and isinstance(a.get("state"), str)
            for a in alerts):
        return None
    return alerts, doc["sent_at"]


def _write_index(work: Store, state: NotifiedState) -> None:
    doc = {"version": VERSION, "site_id": state.site_id, "records": state.records, "notified": state.notified,
           "sha256": _checksum(state.records, state.notified)}
    put_if_changed(work, layout.sla_index_key(state.site_id), _to_json(doc), "application/json")


def load_state(work: Store, site_id: str) -> NotifiedState:
    """The site's state: the index when it folds exactly the journal listed, else rebuilt from the
    journal (and the index rewritten). An unreadable record is logged; its alerts count as not sent."""
    records = {info.key: info.etag for info in work.list(layout.sla_journal_prefix(site_id)) if info.key.endswith(".json")}
    doc = read_json(work, layout.sla_index_key(site_id))
    if _valid_index(doc, site_id, records):
        return NotifiedState(site_id, doc["notified"], records)
    rebuilt = doc is not None or bool(records)  # else the first check of the site
    if rebuilt:
        log.warning("%s: missing, corrupt or behind the journal; rebuilt from %d record(s) of %s",
                    work.href(layout.sla_index_key(site_id)), len(records), work.href(layout.sla_journal_prefix(site_id)))
    state = NotifiedState(site_id, records=records, rebuilt=rebuilt)
    for key in sorted(records):
        found = _record_alerts(work, key)
        if found is None:
            log.error("%s: unreadable journal record; its alerts will be sent again", work.href(key))
            continue
        state._add(*found)
    _write_index(work, state)
    return state


def record_sent(work: Store, state: NotifiedState, alerts: list[dict], sent_at: datetime) -> None:
    """Journal a message accepted by the SMTP server (``alerts``: ``{"subject", "state"}``), then
    update the index."""
    stamp = format_time(sent_at)
    key = layout.sla_journal_key(state.site_id, sent_at)
    info = work.put_bytes(key, _to_json({"site_id": state.site_id, "sent_at": stamp, "alerts": alerts}),
                          "application/json")
    state.records[key] = info.etag
    state._add(alerts, stamp)
    _write_index(work, state)


def record_mail_error(work: Store, site_id: str, error: str, failed_at: datetime, alerts: list[dict]) -> None:
    """Keep the last failed send of ``site_id`` (or ``digest``) for the operators, with the time of its
    first occurrence (the same failure again rewrites nothing); best effort."""
    previous = read_json(work, layout.sla_mail_error_key(site_id)) or {}
    if (previous.get("error"), previous.get("alerts")) == (error, alerts):  # the same failure: since when
        failed_at = parse_time(previous["failed_at"]) if isinstance(previous.get("failed_at"), str) else failed_at
    doc = {"site_id": site_id, "failed_at": format_time(failed_at), "error": error, "alerts": alerts}
    try:
        put_if_changed(work, layout.sla_mail_error_key(site_id), _to_json(doc), "application/json")
    except StoreError as exc:
        log.error("%s: cannot record the failed send: %s", work.href(layout.sla_mail_error_key(site_id)), exc)


def clear_mail_error(work: Store, site_id: str) -> None:
    """Remove the failed-send record of ``site_id`` (a message went); best effort."""
    try:
        if work.exists(layout.sla_mail_error_key(site_id)):
            work.delete(layout.sla_mail_error_key(site_id))
    except StoreError as exc:
        log.error("%s: cannot remove: %s", work.href(layout.sla_mail_error_key(site_id)), exc)


def mail_errors(work: Store) -> list[dict]:
    """Every failed-send record (sites and digest), by key order; unreadable ones are left out."""
    docs = []
    for info in work.list(layout.sla_prefix()):
        if info.key.endswith("/mail_error.json"):
            doc = read_json(work, info.key)
            if isinstance(doc, dict) and isinstance(doc.get("error"), str):
                docs.append(doc)
    return docs


def digest_sent(work: Store, day: date) -> bool:
    """True when the weekly digest of ``day``'s ISO week was already sent."""
    return work.exists(layout.sla_digest_key(day))


def record_digest(work: Store, sent_at: datetime, to: list[str]) -> None:
    work.put_bytes(layout.sla_digest_key(sent_at.date()), _to_json({"sent_at": format_time(sent_at), "to": to}),
                   "application/json")
