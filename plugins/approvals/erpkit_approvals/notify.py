"""Notifications: a list per user in the app, and e-mail once the transaction commits.

A notification row is written in the caller's transaction, so it exists exactly when the
change it announces does. E-mail is sent after the commit (never for a change that rolled
back), through SMTP when the app's ``SMTP_HOST`` is set; a failed send is logged, never
undoes the change, and leaves the in-app notification in place.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from erpkit.models import Role, User
from erpkit.transitions import after_commit
from erpkit_approvals.models import Notification, Step

log = logging.getLogger(__name__)


def users_in_role(session: Session, role: str) -> list[User]:
    return list(session.scalars(sa.select(User).where(
        User.active.is_(True), User.roles.any(Role.name == role)).order_by(User.login)))


def users_named(session: Session, logins: Iterable[str]) -> list[User]:
    logins = list(logins)
    if not logins:
        return []
    return list(session.scalars(sa.select(User).where(
        User.active.is_(True), User.login.in_(logins)).order_by(User.login)))


def may_act(user: Any, step: Step) -> bool:
    """Whether ``user`` is one of the people a step asks (its role, its users, or the role
    it was escalated to). Whether they may decide also depends on self-approval."""
    roles = {role.name for role in getattr(user, "roles", ())}
    return (user.login in (step.users or []) or (step.role is not None and step.role in roles)
            or (step.escalated_to is not None and step.escalated_to in roles))


def holders(session: Session, step: Step) -> list[User]:
    """The people who may still act on ``step``: asked, and not decided yet."""
    decided = {d.login for d in step.decisions}
    people: dict[str, User] = {}
    for role in filter(None, (step.role, step.escalated_to)):
        people.update({u.login: u for u in users_in_role(session, role)})
    people.update({u.login: u for u in users_named(session, step.users or [])})
    return [u for login, u in sorted(people.items()) if login not in decided]


def describe_holders(step: Step) -> list[str]:
    """Who holds a step, as people read it: ``role approver``, ``ann``."""
    held = [f"role {step.role}"] if step.role else []
    held += list(step.users or [])
    if step.escalated_to:
        held.append(f"role {step.escalated_to} (escalated)")
    return held


def notify(session: Session, users: Iterable[User], *, kind: str, message: str,
           order_id: int | None = None, request_id: int | None = None,
           subject: str | None = None) -> list[Notification]:
    """Write one notification per user (each user once) and queue their e-mails."""
    made: list[Notification] = []
    recipients: list[str] = []
    seen: set[int] = set()
    for user in users:
        if user.id in seen:
            continue
        seen.add(user.id)
        note = Notification(user_id=user.id, kind=kind, message=message, order_id=order_id,
                            request_id=request_id)
        session.add(note)
        made.append(note)
        if user.email:
            recipients.append(user.email)
    if recipients:
        _queue_mail(session, recipients, subject or message.split(":")[0], message)
    return made


def _queue_mail(session: Session, recipients: list[str], subject: str, body: str) -> None:
    if not has_app_context() or not current_app.config.get("SMTP_HOST"):
        return
    config = current_app.config
    host, port = str(config["SMTP_HOST"]), int(config.get("SMTP_PORT") or 25)
    sender = str(config.get("MAIL_FROM") or "erpkit@localhost")

    def send() -> None:
        send_mail(host, port, sender, recipients, subject, body)

    after_commit(session, send)


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
