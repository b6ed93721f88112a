"""Who an approval step asks, and telling them: the people of a step, and a notify
that goes through the core's notifications (in the app, and e-mail after the commit)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.models import Role, User
from erpkit.notifications import notify as core_notify
from erpkit.service_models import Notification
from erpkit_approvals.models import Step


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
    """Notify ``users`` (each once) about an order's approval, through the core's
    :func:`erpkit.notifications.notify` (in the app, and by e-mail after the commit)."""
    data = {key: value for key, value in (("order_id", order_id), ("request_id", request_id))
            if value is not None}
    return core_notify(session, list(users), kind=kind, message=message, subject=subject,
                       data=data)
