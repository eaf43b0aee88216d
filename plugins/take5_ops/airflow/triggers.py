"""The delivery trigger: waits, in the triggerer, for a pending delivery of a site."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from airflow.triggers.base import BaseTrigger, TriggerEvent

MAX_POLL_ERRORS = 3  # consecutive failed polls before the trigger gives up


class DeliveryTrigger(BaseTrigger):
    """Fire when a site has a pending delivery, or when ``deadline`` passes.

    Every ``poll_seconds`` it runs :func:`take5_ops.l1a.intake.scan` in a
    thread (stores from :class:`~take5_ops.airflow.hooks.Take5Hook`). Events:
    ``{"status": "found", "pending": n}``, ``{"status": "timeout"}``, or
    ``{"status": "error", "message": ...}`` after ``MAX_POLL_ERRORS``
    consecutive failed polls. ``deadline`` is absolute, so a restarted
    triggerer keeps the original one.
    """

    def __init__(self, site_id: str, deadline: datetime | str, poll_seconds: float = 300.0,
                 aws_conn_id: str = "aws_default"):
        super().__init__()
        if isinstance(deadline, str):
            deadline = datetime.fromisoformat(deadline)
        if deadline.tzinfo is None:
            raise ValueError(f"DeliveryTrigger deadline {deadline} must be timezone-aware")
        if not poll_seconds > 0:
            raise ValueError(f"DeliveryTrigger poll_seconds must be > 0, got {poll_seconds}")
        self.site_id = site_id
        self.deadline = deadline.astimezone(UTC)
        self.poll_seconds = float(poll_seconds)
        self.aws_conn_id = aws_conn_id
        self._stores = None

    def serialize(self) -> tuple[str, dict]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "site_id": self.site_id,
                "deadline": self.deadline.isoformat(),
                "poll_seconds": self.poll_seconds,
                "aws_conn_id": self.aws_conn_id,
            },
        )

    def pending(self) -> int:
        """Number of pending deliveries (runs in a worker thread: blocking I/O)."""
        from take5_ops.l1a.intake import scan

        if self._stores is None:
            from take5_ops.airflow.hooks import Take5Hook

            hook = Take5Hook(self.aws_conn_id)
            self._stores = hook.store("l1a"), hook.store("work")
        return len(scan(*self._stores, self.site_id).pending)

    async def run(self):
        errors = 0
        while True:
            try:
                pending = await asyncio.to_thread(self.pending)
                errors = 0
            except Exception as exc:
                errors += 1
                self.log.warning("site %s: delivery poll failed (%d/%d): %s",
                                 self.site_id, errors, MAX_POLL_ERRORS, exc)
                if errors >= MAX_POLL_ERRORS:
                    yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
                    return
                pending = 0
            if pending:
                yield TriggerEvent({"status": "found", "pending": pending})
                return
            remaining = (self.deadline - datetime.now(UTC)).total_seconds()
            if remaining <= 0:
                yield TriggerEvent({"status": "timeout"})
                return
            await asyncio.sleep(min(self.poll_seconds, remaining))
