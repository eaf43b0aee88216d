"""Product-level SLA: deadlines, statuses, alert e-mails and their deduplication (docs/sla.md).

:func:`site_status` judges a site's products at a moment; :func:`check_site`
e-mails the alerts not yet sent; :func:`send_digest` the weekly digest.
"""

from take5_ops.sla.check import CheckResult, check_site, send_digest
from take5_ops.sla.messages import (
    digest_message,
    run_url,
    site_alert_message,
    ui_base_url,
)
from take5_ops.sla.rules import LEVELS, Deadline, Status, deadline, status_at
from take5_ops.sla.sending import Mailer, SendResult, send_with_retries, smtp_sender
from take5_ops.sla.state import NotifiedState, load_state
from take5_ops.sla.status import Alert, ProductLevel, SiteStatus, site_status

__all__ = [
    "LEVELS", "Alert", "CheckResult", "Deadline", "Mailer", "NotifiedState", "ProductLevel", "SendResult",
    "SiteStatus", "Status", "check_site", "deadline", "digest_message", "load_state", "run_url",
    "send_digest", "send_with_retries", "site_alert_message", "site_status", "smtp_sender", "status_at",
    "ui_base_url",
]
