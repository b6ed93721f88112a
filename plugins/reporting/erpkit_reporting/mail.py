"""Sending a scheduled report by e-mail, with its files attached.

TO BE REPLACED AT MERGE: the core's :func:`erpkit.notifications.send_mail` takes no
attachments yet; the purchasing work adds them. Until then this private helper sends
through the core's mail settings (``SMTP_HOST``, ``SMTP_PORT``, ``MAIL_FROM``: the
``ERPKIT_SMTP_*`` environment) the way the core does. Once the core's function accepts
attachments, :func:`send_report_mail` should call it and :func:`_send_with_attachments`
goes (docs/modules/reporting.md, "Scheduled reports", says the same).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str  # "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send_report_mail(config: Mapping[str, Any], recipients: Sequence[str], subject: str,
                     body: str, attachments: Sequence[Attachment]) -> None:
    """Send one message with ``attachments`` to each recipient, through the app's SMTP
    settings; raises when SMTP is not configured (the job then fails and says so)."""
    host = str(config.get("SMTP_HOST") or "")
    if not host:
        raise RuntimeError("SMTP_HOST is not set in this worker. Fix: export "
                           "ERPKIT_SMTP_HOST (and ERPKIT_SMTP_PORT) for the workers too")
    _send_with_attachments(host, int(config.get("SMTP_PORT") or 25),
                           str(config.get("MAIL_FROM") or "erpkit@localhost"),
                           list(recipients), subject, body, attachments)


def _send_with_attachments(host: str, port: int, sender: str, recipients: list[str],
                           subject: str, body: str, attachments: Sequence[Attachment]) -> None:
    # TODO(merge): replace with erpkit.notifications.send_mail(..., attachments=...) once
    # the core has it; this mirrors the core's message (sender, "[erpkit]" subject).
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        for recipient in recipients:
            message = EmailMessage()
            message["From"], message["To"] = sender, recipient
            message["Subject"] = f"[erpkit] {subject}"
            message.set_content(body)
            for item in attachments:
                maintype, _, subtype = item.mimetype.partition("/")
                message.add_attachment(item.content, maintype=maintype, subtype=subtype,
                                       filename=item.filename)
            smtp.send_message(message)
    log.info("sent report %r to %d recipient(s)", subject, len(recipients))
