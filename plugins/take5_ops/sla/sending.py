"""Sending a message: through any sender callable, with retries, never raising.

The Airflow layer passes a sender built on the smtp provider's connection;
:func:`smtp_sender` talks to an SMTP server directly (tests, ``take5`` commands).
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger(__name__)

Sender = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class SendResult:
    ok: bool
    attempts: int
    error: str | None = None


def smtp_sender(host: str, port: int, *, timeout: float = 30.0, starttls: bool = False,
                user: str | None = None, password: str | None = None) -> Sender:
    """A sender that opens one SMTP connection per message."""
    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls()
            if user:
                smtp.login(user, password or "")
            smtp.send_message(message)

    return send


def send_with_retries(message: EmailMessage, send: Sender, *, attempts: int = 4, delay: float = 30.0,
                      backoff: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> SendResult:
    """Send ``message``, retrying ``attempts`` times in all, ``delay`` seconds apart then ``backoff``
    times longer each time. A failure is logged and returned, never raised."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    error = None
    for attempt in range(1, attempts + 1):
        try:
            send(message)
            return SendResult(True, attempt)
        except Exception as exc:  # any SMTP or network error: retry, then report
            error = f"{type(exc).__name__}: {exc}"
            log.warning("sending %r to %s failed (attempt %d/%d): %s", message["Subject"], message["To"],
                        attempt, attempts, error)
        if attempt < attempts:
            sleep(delay * backoff ** (attempt - 1))
    log.error("message %r to %s NOT sent after %d attempts: %s", message["Subject"], message["To"],
              attempts, error)
    return SendResult(False, attempts, error)


@dataclass(frozen=True)
class Mailer:
    """How messages leave: the sender callable, the From address and the retry policy."""

    send: Sender
    sender: str = "take5-sla@localhost"
    attempts: int = 4
    delay: float = 30.0
    backoff: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def deliver(self, message: EmailMessage) -> SendResult:
        return send_with_retries(message, self.send, attempts=self.attempts, delay=self.delay,
                                 backoff=self.backoff, sleep=self.sleep)
