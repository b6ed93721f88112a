"""Notifications: a list per user in the app, and e-mail sent by a job after the commit.

One function serves every plugin: :func:`notify`. It writes one row per person in the
caller's transaction, so a notification exists exactly when the change it announces
does. When SMTP is configured (``ERPKIT_SMTP_HOST``), it also asks for the job
``core.send_mail``: the job run is recorded in the same transaction and handed to a
worker after the commit, which sends it and tries again with backoff when the server
does not answer. A failed send never undoes the change.
"""

from __future__ import annotations

import logging
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
    addresses = sorted({user.email for user in people if user.email})
    if addresses and mail_configured():
        body = message + (f"\n\n{link}" if link else "")
        enqueue(session, MAIL_JOB, to=addresses, subject=subject, body=body)
    return made


def _people(session: Session, to: Any) -> list[Person]:
    if isinstance(to, list | tuple) and to and all(isinstance(p, Person) for p in to):
        return list(to)  # resolved already
    return resolve(session, to)


def mail_configured() -> bool:
    """Whether e-mail is on: the app's ``SMTP_HOST`` (``ERPKIT_SMTP_HOST``) is set."""
    from flask import current_app, has_app_context

    return has_app_context() and bool(current_app.config.get("SMTP_HOST"))


def send_mail_job(context: JobContext, to: list[str], subject: str, body: str) -> None:
    """The job ``core.send_mail``: one plain-text message to each address."""
    config = context.config
    host = str(config.get("SMTP_HOST") or "")
    if not host:
        raise RuntimeError("SMTP_HOST is not set in this worker. Fix: export "
                           "ERPKIT_SMTP_HOST (and ERPKIT_SMTP_PORT) for the workers too")
    send_mail(host, int(config.get("SMTP_PORT") or 25),
              str(config.get("MAIL_FROM") or "erpkit@localhost"), to, subject, body)


def send_mail(host: str, port: int, sender: str, recipients: list[str], subject: str,
              body: str) -> None:
    """Send one plain-text message to each recipient through SMTP at ``host:port``."""
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        for recipient in recipients:
            message = EmailMessage()
            message["From"], message["To"] = sender, recipient
            message["Subject"] = f"[erpkit] {subject}"
            message.set_content(body)
            smtp.send_message(message)
    log.info("sent %r to %d recipient(s)", subject, len(recipients))


def unread_count(session: Session, user_id: int) -> int:
    """How many notifications ``user_id`` has not read (the console's bell)."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


MAIL = Job(name=MAIL_JOB, run=send_mail_job, retries=5, retry_delay=30.0,
           description="Send a notification by e-mail (SMTP).")
