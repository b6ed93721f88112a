"""Notifications: a list per user in the app, and e-mail sent by a job after the commit.

One function serves every plugin: :func:`notify`. It writes one row per person in the
caller's transaction, so a notification exists exactly when the change it announces
does. When SMTP is configured (``ERPKIT_SMTP_HOST``), it also asks for the job
``core.send_mail``: the job run is recorded in the same transaction and handed to a
worker after the commit, which sends it and tries again with backoff when the server
does not answer. A failed send never undoes the change.

Mail that is not a notification (a purchase order to a supplier, a scheduled report)
goes through :func:`queue_mail`, which also carries files (:class:`Attachment`).
"""

from __future__ import annotations

import base64
import logging
import re
import smtplib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.jobs import Job, JobContext, enqueue
from erpkit.models import Role, User, user_roles
from erpkit.service_models import Notification

log = logging.getLogger(__name__)

#: Who a notification is for: a :class:`~erpkit.models.User`, a login, or ``"role:NAME"``
#: (every active member of the role).
Recipient = User | str

MAIL_JOB = "core.send_mail"
#: The most bytes of attachments one message may carry: they are kept in the job run's
#: arguments until the mail is sent.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_MIME_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")


@dataclass(frozen=True)
class Person:
    """Who a notification goes to: a user's id, login and e-mail address."""

    id: int
    login: str
    email: str | None


def resolve(session: Session, to: Recipient | Iterable[Recipient]) -> list[Person]:
    """The active people ``to`` names, each once, in login order.

    Read as plain rows (no user objects, no roles loaded): a sweep resolves a role for
    every breach it handles.
    """
    items: Iterable[Recipient] = [to] if isinstance(to, User | str) else to
    logins: set[str] = set()
    roles: set[str] = set()
    people: dict[int, Person] = {}
    for item in items:
        if isinstance(item, User):
            if item.active:
                people[item.id] = Person(item.id, item.login, item.email)
        elif item.startswith("role:"):
            roles.add(item.removeprefix("role:"))
        elif item:
            logins.add(item)
    conditions: list[sa.ColumnElement[bool]] = []
    if logins:
        conditions.append(User.login.in_(logins))
    if roles:
        conditions.append(User.id.in_(
            sa.select(user_roles.c.user_id).join(Role, Role.id == user_roles.c.role_id)
            .where(Role.name.in_(roles))))
    if conditions:
        for user_id, login, email in session.execute(
                sa.select(User.id, User.login, User.email)
                .where(User.active.is_(True), sa.or_(*conditions))):
            people[user_id] = Person(user_id, login, email)
    return sorted(people.values(), key=lambda person: person.login)


def notify(session: Session, to: Recipient | Iterable[Recipient] | Iterable[Person], *,
           message: str,
           subject: str | None = None, kind: str = "info", link: str | None = None,
           data: Mapping[str, Any] | None = None) -> list[Notification]:
    """Notify people, in the app and by e-mail, as part of ``session``'s transaction.

    ``to`` is a user, a login, ``"role:NAME"`` or an iterable of them; each person is
    notified once. ``subject`` defaults to the message up to its first colon. ``link``
    is where to act (a console or API URL); ``data`` holds references for clients
    (``{"order_id": 12}``). E-mail goes to the people with an address when SMTP is
    configured, after the commit, sent by a job with retries. Returns the rows written.
    """
    subject = subject or message.split(":")[0]
    people = _people(session, to)
    made: list[Notification] = []
    for user in people:
        note = Notification(user_id=user.id, kind=kind, subject=subject[:200], message=message,
                            link=link, data=dict(data) if data else None)
        session.add(note)
        made.append(note)
    body = message + (f"\n\n{link}" if link else "")
    queue_mail(session, (user.email for user in people if user.email), subject=subject,
               body=body)
    return made


def _people(session: Session, to: Any) -> list[Person]:
    if isinstance(to, list | tuple) and to and all(isinstance(p, Person) for p in to):
        return list(to)  # resolved already
    return resolve(session, to)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail: its bytes, the name the reader sees, its MIME type."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        if not isinstance(self.content, bytes):
            raise TypeError(f"attachment {self.filename!r}: content must be bytes. Fix: "
                            "encode text first (text.encode())")
        if not _MIME_TYPE.match(self.mime_type):
            raise ValueError(f"attachment {self.filename!r}: {self.mime_type!r} is not a "
                             "MIME type. Fix: give one like application/pdf")
        # No folders, no line breaks: the name goes into a mail header.
        clean = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", self.filename).strip(" .")
        object.__setattr__(self, "filename", clean[:200] or "attachment")

    def as_job_argument(self) -> dict[str, str]:
        """JSON for the job run's arguments (the bytes as base64)."""
        return {"filename": self.filename, "mime_type": self.mime_type,
                "content_base64": base64.b64encode(self.content).decode("ascii")}

    @classmethod
    def from_job_argument(cls, data: Mapping[str, str]) -> Attachment:
        return cls(filename=data["filename"], mime_type=data["mime_type"],
                   content=base64.b64decode(data["content_base64"], validate=True))


def queue_mail(session: Session, to: Iterable[str], *, subject: str, body: str,
               attachments: Iterable[Attachment] = ()) -> bool:
    """Ask for one e-mail to each address in ``to``, sent by the job ``core.send_mail``
    after ``session`` commits (and tried again while the server does not answer).

    ``attachments`` travel with the job run (base64 in its arguments, at most
    :data:`MAX_ATTACHMENT_BYTES` in all). Returns whether a mail was queued: not when
    SMTP is not configured or ``to`` is empty.
    """
    addresses = sorted({address for address in to if address})
    files = list(attachments)
    size = sum(len(file.content) for file in files)
    if size > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"attachments of {size} bytes are more than one mail may carry "
                         f"({MAX_ATTACHMENT_BYTES}). Fix: send a link instead")
    if not addresses or not mail_configured():
        return False
    extra: dict[str, Any] = (
        {"attachments": [file.as_job_argument() for file in files]} if files else {})
    enqueue(session, MAIL_JOB, to=addresses, subject=subject, body=body, **extra)
    return True


def mail_configured() -> bool:
    """Whether e-mail is on: the app's ``SMTP_HOST`` (``ERPKIT_SMTP_HOST``) is set."""
    from flask import current_app, has_app_context

    return has_app_context() and bool(current_app.config.get("SMTP_HOST"))


def send_mail_job(context: JobContext, to: list[str], subject: str, body: str,
                  attachments: list[dict[str, str]] | None = None) -> None:
    """The job ``core.send_mail``: one plain-text message, with its attachments, to each
    address."""
    mail_now(context.config, to, subject, body,
             [Attachment.from_job_argument(item) for item in attachments or ()])


def mail_now(config: Mapping[str, Any], to: list[str], subject: str, body: str,
             attachments: Iterable[Attachment] = ()) -> None:
    """Send now, through the app's mail settings (``SMTP_HOST``, ``SMTP_PORT``,
    ``MAIL_FROM``): for a job that records its own sending (a scheduled report), where
    :func:`queue_mail` would add a second job. Raises when SMTP is not configured."""
    host = str(config.get("SMTP_HOST") or "")
    if not host:
        raise RuntimeError("SMTP_HOST is not set in this worker. Fix: export "
                           "ERPKIT_SMTP_HOST (and ERPKIT_SMTP_PORT) for the workers too")
    send_mail(host, int(config.get("SMTP_PORT") or 25),
              str(config.get("MAIL_FROM") or "erpkit@localhost"), to, subject, body,
              attachments)


def send_mail(host: str, port: int, sender: str, recipients: list[str], subject: str,
              body: str, attachments: Iterable[Attachment] = ()) -> None:
    """Send one plain-text message (with ``attachments``) to each recipient through SMTP
    at ``host:port``."""
    files = list(attachments)
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        for recipient in recipients:
            message = EmailMessage()
            message["From"], message["To"] = sender, recipient
            message["Subject"] = f"[erpkit] {subject}"
            message.set_content(body)
            for file in files:
                maintype, subtype = file.mime_type.split("/", 1)
                message.add_attachment(file.content, maintype=maintype, subtype=subtype,
                                       filename=file.filename)
            smtp.send_message(message)
    log.info("sent %r to %d recipient(s)", subject, len(recipients))


def unread_count(session: Session, user_id: int) -> int:
    """How many notifications ``user_id`` has not read (the console's bell)."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


MAIL = Job(name=MAIL_JOB, run=send_mail_job, retries=5, retry_delay=30.0,
           description="Send a notification by e-mail (SMTP).")
