"""The e-mail of a failed task (a rejected delivery, a processor failure...) with its reason.

:class:`TaskFailureNotifier` is the site DAGs' task-level ``on_failure_callback``: it writes to the
site's ``sla.contacts`` and the ops list, over the ``smtp_default`` connection, with the
mailer's retries; an e-mail that cannot be sent is logged, never raised.
"""

from __future__ import annotations

import logging
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


def failure_message(context, to: list[str], sender: str) -> EmailMessage:
    """Subject ``[take5] <dag_id>.<task_id> failed``; the reason, the run and its link, text and HTML."""
    from datetime import datetime

    from take5_ops.sla import run_url, ui_base_url

    ti = context["ti"]
    dag_id, run_id = ti.dag_id, ti.run_id
    task = ti.task_id + (f"[{ti.map_index}]" if getattr(ti, "map_index", -1) >= 0 else "")
    reason = str(context.get("exception") or "unknown (see the task log)")
    link = run_url(ui_base_url(), dag_id, run_id)
    rows = [("DAG", dag_id), ("task", task), ("run", run_id), ("try", str(getattr(ti, "try_number", "?"))),
            ("reason", reason), ("DAG run", link)]
    msg = EmailMessage()
    msg["Subject"] = f"[take5] {dag_id}.{task} failed: {reason.splitlines()[0][:120] if reason else ''}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg.set_content("\n".join(f"{k}: {v}" for k, v in rows) + "\n")
    cells = "".join(f"<tr><th align=\"left\">{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows[:-1])
    msg.add_alternative(f"<html><body><p>A take5 task failed.</p><table border=\"1\" cellpadding=\"4\" "
                        f"cellspacing=\"0\">{cells}</table><p><a href=\"{escape(link)}\">{escape(link)}</a></p>"
                        "</body></html>\n", subtype="html")
    return msg


class TaskFailureNotifier(BaseNotifier):
    """E-mail ``contacts`` and the ops list that a task failed, and why."""

    template_fields = ()

    def __init__(self, contacts: tuple[str, ...] = ()):
        super().__init__()
        self.contacts = tuple(contacts)

    def notify(self, context) -> None:
        from take5_ops.airflow.mailer import connection_mailer, ops_list
        from take5_ops.airflow.tasks import EarlierFailures

        if isinstance(context.get("exception"), EarlierFailures):
            log.info("not e-mailed: %s", context["exception"])
            return
        try:
            to = sorted(set(self.contacts) | set(ops_list()))
            if not to:
                log.warning("task failure not e-mailed: no contacts and no ops list")
                return
            mailer = connection_mailer()
            sent = mailer.deliver(failure_message(context, to, mailer.sender))
        except Exception as exc:  # a callback must never raise
            log.warning("task failure not e-mailed: %s: %s", type(exc).__name__, exc)
            return
        if not sent.ok:
            log.warning("task failure not e-mailed after %d attempts: %s", sent.attempts, sent.error)
