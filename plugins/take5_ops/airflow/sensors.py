"""The deferrable sensor that starts every site run: wait for a pending delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from take5_ops.airflow.triggers import DeliveryTrigger


class DeliverySensor(BaseOperator):
    """Defer to :class:`DeliveryTrigger` until the site has a pending delivery.

    Holds no worker slot while waiting. ``poll_seconds`` and
    ``timeout_seconds`` are templated (by default the DAG params of the same
    names). On timeout the task is skipped, and so are the run's downstream
    tasks; on success it returns the number of pending deliveries.

    It looks once before deferring: a delivery already waiting is taken at
    once. Besides saving a trigger round trip, this avoids deferring into a
    trigger that fires within seconds, which Airflow 3.3 can race into a
    failed task (apache/airflow#72716: the resumed attempt meets the stale
    "success" of the deferring one; 409 "previous_state failed").
    """

    template_fields = ("poll_seconds", "timeout_seconds")
    ui_color = "#e8f4ea"

    def __init__(self, *, site_id: str, poll_seconds: float | str = "{{ params.poll_seconds }}",
                 timeout_seconds: float | str = "{{ params.timeout_seconds }}",
                 aws_conn_id: str = "aws_default", **kwargs):
        super().__init__(**kwargs)
        self.site_id = site_id
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.aws_conn_id = aws_conn_id

    def execute(self, context) -> int:
        deadline = datetime.now(UTC) + timedelta(seconds=float(self.timeout_seconds))
        trigger = DeliveryTrigger(self.site_id, deadline, float(self.poll_seconds), self.aws_conn_id)
        try:
            pending = trigger.pending()
        except Exception as exc:  # the trigger retries its polls: defer and let it
            self.log.warning("site %s: delivery poll failed before deferring: %s", self.site_id, exc)
            pending = 0
        if pending:
            return self._found(pending)
        self.defer(trigger=trigger, method_name="execute_complete")

    def _found(self, pending: int) -> int:
        self.log.info("site %s: %d pending deliveries", self.site_id, pending)
        return int(pending)

    def execute_complete(self, context, event: dict) -> int:
        status = event.get("status")
        if status == "found":
            return self._found(event["pending"])
        if status == "timeout":
            raise AirflowSkipException(f"site {self.site_id}: no pending delivery within "
                                       f"{self.timeout_seconds} s; the run is skipped")
        raise AirflowException(f"site {self.site_id}: waiting for deliveries failed: {event.get('message', event)}")
