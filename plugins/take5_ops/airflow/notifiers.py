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


def alert_message(subject: str, intro: str, rows: list[tuple[str, str]], link: str, to: list[str],
                  sender: str) -> EmailMessage:
    """An alert: ``subject``, a sentence, a table of ``rows`` and the DAG run link, as text and HTML."""
    from datetime import datetime

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg.set_content(intro + "\n\n" + "\n".join(f"{k}: {v}" for k, v in [*rows, ("DAG run", link)]) + "\n")
    cells = "".join(f"<tr><th align=\"left\">{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    msg.add_alternative(f"<html><body><p>{escape(intro)}</p><table border=\"1\" cellpadding=\"4\" "
                        f"cellspacing=\"0\">{cells}</table><p><a href=\"{escape(link)}\">{escape(link)}</a></p>"
                        "</body></html>\n", subtype="html")
    return msg


def _run_link(ti) -> str:
    from take5_ops.sla import run_url, ui_base_url

    return run_url(ui_base_url(), ti.dag_id, ti.run_id)


def failure_message(context, to: list[str], sender: str) -> EmailMessage:
    """Subject ``[take5] <dag_id>.<task_id> failed``; the reason, the run and its link, text and HTML."""
    ti = context["ti"]
    task = ti.task_id + (f"[{ti.map_index}]" if getattr(ti, "map_index", -1) >= 0 else "")
    reason = str(context.get("exception") or "unknown (see the task log)")
    rows = [("DAG", ti.dag_id), ("task", task), ("run", ti.run_id), ("try", str(getattr(ti, "try_number", "?"))),
            ("reason", reason)]
    subject = f"[take5] {ti.dag_id}.{task} failed: {reason.splitlines()[0][:120] if reason else ''}"
    return alert_message(subject, "A take5 task failed.", rows, _run_link(ti), to, sender)


def _deliver(contacts, what: str, build) -> bool:
    """Send ``build(to, sender)`` to ``contacts`` and the ops list over ``smtp_default`` (with the
    mailer's retries); never raises; True when sent."""
    from take5_ops.airflow.mailer import connection_mailer, ops_list

    try:
        to = sorted(set(contacts) | set(ops_list()))
        if not to:
            log.warning("%s not e-mailed: no contacts and no ops list", what)
            return False
        mailer = connection_mailer()
        sent = mailer.deliver(build(to, mailer.sender))
    except Exception as exc:  # an alert must never fail its task
        log.warning("%s not e-mailed: %s: %s", what, type(exc).__name__, exc)
        return False
    if not sent.ok:
        log.warning("%s not e-mailed after %d attempts: %s", what, sent.attempts, sent.error)
    return sent.ok


def send_alert(contacts, subject: str, intro: str, rows: list[tuple[str, str]], ti) -> bool:
    """E-mail an alert about the running task ``ti`` to ``contacts`` and the ops list; True when sent."""
    return _deliver(contacts, subject, lambda to, sender: alert_message(subject, intro, rows, _run_link(ti), to,
                                                                         sender))


class TaskFailureNotifier(BaseNotifier):
    """E-mail ``contacts`` and the ops list that a task failed, and why."""

    template_fields = ()

    def __init__(self, contacts: tuple[str, ...] = ()):
        super().__init__()
        self.contacts = tuple(contacts)

    def notify(self, context) -> None:
        from take5_ops.airflow.errors import EarlierFailures

        if isinstance(context.get("exception"), EarlierFailures):
            log.info("not e-mailed: %s", context["exception"])
            return
        _deliver(self.contacts, "task failure", lambda to, sender: failure_message(context, to, sender))
