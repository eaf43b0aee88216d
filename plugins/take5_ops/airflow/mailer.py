"""E-mail from Airflow: the library's :class:`~take5_ops.sla.Mailer` over the smtp provider's connection.

Host, port, login, password, TLS/SSL and the From address (extra ``from_email``) come from the
connection ``smtp_default`` (``AIRFLOW_CONN_SMTP_DEFAULT``), through the provider's ``SmtpHook``.
Our retry policy comes from two more extras: ``take5_attempts`` (default 4) and
``take5_retry_delay`` (seconds, default 30, doubling). The ops list (weekly digest, failed
tasks) is the Variable ``take5_ops_list``, else ``$TAKE5_OPS_LIST``: addresses separated by commas.
"""

from __future__ import annotations

import os
from email.message import EmailMessage

SMTP_CONN_ID = "smtp_default"
OPS_LIST_VARIABLE = "take5_ops_list"
OPS_LIST_ENV = "TAKE5_OPS_LIST"
DEFAULT_SENDER = "take5-sla@localhost"


def connection_sender(conn_id: str = SMTP_CONN_ID):
    """A sender (``EmailMessage -> None``) opening one connection per message through ``SmtpHook``."""
    def send(message: EmailMessage) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=conn_id) as hook:
            hook._smtp_client.send_message(message)  # the hook's own send builds its own MIME message

    return send


def connection_mailer(conn_id: str = SMTP_CONN_ID):
    """The :class:`~take5_ops.sla.Mailer` of the connection ``conn_id`` (read now, at task run time)."""
    from airflow.sdk import BaseHook

    from take5_ops.sla import Mailer

    extra = BaseHook.get_connection(conn_id).extra_dejson
    return Mailer(connection_sender(conn_id), sender=extra.get("from_email") or DEFAULT_SENDER,
                  attempts=int(extra.get("take5_attempts", 4)), delay=float(extra.get("take5_retry_delay", 30)))


def ops_list() -> list[str]:
    """The ops list: Variable ``take5_ops_list``, else ``$TAKE5_OPS_LIST`` (comma-separated), else empty."""
    from airflow.sdk import Variable

    text = Variable.get(OPS_LIST_VARIABLE, default=os.environ.get(OPS_LIST_ENV, ""))
    return [a.strip() for a in text.split(",") if a.strip()]
