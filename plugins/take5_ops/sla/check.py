"""The SLA check of a site (end of each site run, and the daily monitor) and the weekly digest."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from take5_ops.siteconfig import SiteConfig
from take5_ops.sla.messages import digest_message, site_alert_message
from take5_ops.sla.rules import CAMPAIGN_END
from take5_ops.sla.sending import Mailer, SendResult
from take5_ops.sla.state import (
    DIGEST,
    clear_mail_error,
    digest_sent,
    load_state,
    record_digest,
    record_mail_error,
    record_sent,
)
from take5_ops.sla.status import SiteStatus, site_status
from take5_ops.storage import StoreError

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    """What :func:`check_site` found and did (JSON-able through :meth:`to_dict`)."""

    site_id: str
    counts: dict[str, dict[str, int]]
    missing: list[str]
    new_alerts: list[dict] = field(default_factory=list)  # {"subject", "state"}
    sent: bool = False
    deferred: bool = False  # new alerts, but today's message already went: they go tomorrow
    error: str | None = None  # the message could not be sent, or its record not saved
    state_rebuilt: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    return now.astimezone(UTC)


def check_site(site: SiteConfig, buckets, now: datetime, mailer: Mailer, *, link: str | None = None,
               published: Mapping[str, datetime] | None = None, campaign_end: date | None = CAMPAIGN_END,
               status: SiteStatus | None = None) -> CheckResult:
    """Judge every product of ``site`` at ``now`` and e-mail its contacts the alerts not yet sent.

    ``buckets`` has ``l1a``, ``work`` and ``dist`` stores (:class:`take5_ops.pipeline.Buckets`);
    ``link`` is the DAG run's URL; ``status`` a :func:`site_status` already computed for ``now``.
    At most one message per site and UTC day. A message that cannot be sent after the mailer's
    retries is logged and reported in the result, never raised; only what was sent is recorded.
    """
    now = _utc(now)
    if status is None:
        status = site_status(site, buckets.l1a, buckets.work, buckets.dist, now, published=published,
                             campaign_end=campaign_end)
    state = load_state(buckets.work, site.site_id)
    new = [a for a in status.alerts() if not state.knows(a.subject, a.state)]
    result = CheckResult(site.site_id, status.counts(), [d.isoformat() for d in status.missing],
                         [{"subject": a.subject, "state": a.state} for a in new], state_rebuilt=state.rebuilt)
    if not new:
        return result
    if state.sent_on(now.date()):
        log.info("%s: %d new alert(s), today's message already sent: they go tomorrow", site.site_id, len(new))
        result.deferred = True
        return result
    sent = mailer.deliver(site_alert_message(status, new, sender=mailer.sender, link=link))
    if not sent.ok:
        result.error = f"SLA message not sent after {sent.attempts} attempts: {sent.error}"
        record_mail_error(buckets.work, site.site_id, result.error, now, result.new_alerts)
        return result
    result.sent = True
    clear_mail_error(buckets.work, site.site_id)
    try:
        record_sent(buckets.work, state, result.new_alerts, now)
    except StoreError as exc:
        log.error("%s: SLA message sent but not recorded, it will be sent again: %s", site.site_id, exc)
        result.error = f"message sent but not recorded: {exc}"
    return result


def send_digest(statuses: list[SiteStatus], now: datetime, to: list[str], mailer: Mailer, work) -> SendResult | None:
    """Send the weekly digest of ``statuses`` to ``to`` unless this ISO week's went already (``None``)."""
    now = _utc(now)
    if digest_sent(work, now.date()):
        return None
    sent = mailer.deliver(digest_message(statuses, now, to=to, sender=mailer.sender))
    if sent.ok:
        record_digest(work, now, to)
        clear_mail_error(work, DIGEST)
    else:
        record_mail_error(work, DIGEST, f"weekly digest not sent after {sent.attempts} attempts: {sent.error}",
                          now, [])
    return sent
