"""Who is acting, and what they may do: sessions, API tokens and permissions.

Every JSON endpoint and console view checks permissions on the server through
:func:`permission_required` (or ``user.can``); hiding a button is never the check.
Clients authenticate with the console's login session or with ``Authorization: Bearer
<token>`` (tokens made by ``erpkit users token``).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Response, after_this_request, g, has_request_context, request, session
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import Forbidden, Unauthorized
from werkzeug.security import check_password_hash, generate_password_hash

from erpkit.db import db, utcnow
from erpkit.models import ApiToken, DefaultGrant, Role, User, audit

F = TypeVar("F", bound=Callable[..., Any])

#: The roles every installation starts with. Plugins grant them permissions through
#: ``Permission.default_roles``.
BUILTIN_ROLES = {
    "admin": "Configures erpkit: parameters, rules, users and roles.",
    "sales": "Creates and submits orders for customers.",
    "approver": "Approves or rejects orders that rules hold.",
    "warehouse": "Receives, picks and ships stock.",
    "logistics": "Plans carriers and deliveries.",
    "purchasing": "Buys from suppliers: suppliers, purchase orders, branch supply plans.",
    "analyst": "Reads reports.",
}


@dataclass(frozen=True)
class Permission:
    """A named right checked by views and actions (see ``erpkit_permissions``)."""

    name: str
    description: str
    default_roles: tuple[str, ...] = ("admin",)


def hash_password(password: str) -> str:
    """Hash with werkzeug's current default (scrypt), salted."""
    return generate_password_hash(password)


def verify_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash or "", password)


_UNKNOWN_USER_HASH: list[str] = []


def authenticate(db_session: sa.orm.Session, login: str, password: str) -> User | None:
    """The active user with this login and password, or ``None``.

    An unknown login costs the same hashing time as a wrong password, so response times
    do not tell which logins exist.
    """
    user = db_session.scalar(sa.select(User).where(User.login == login))
    if user is None or not user.password_hash:
        if not _UNKNOWN_USER_HASH:
            _UNKNOWN_USER_HASH.append(hash_password(secrets.token_hex(16)))
        check_password_hash(_UNKNOWN_USER_HASH[0], password)
        return None
    if not verify_password(user, password) or not user.active:
        return None
    return user


def user_snapshot(user: User) -> dict[str, Any]:
    """What the audit log records of a user: never the password hash, only whether one is set."""
    return {
        "login": user.login,
        "name": user.name,
        "email": user.email,
        "active": bool(user.active),
        "roles": sorted(role.name for role in user.roles),
        "has_password": bool(user.password_hash),
    }


def role_snapshot(role: Role) -> dict[str, Any]:
    """What the audit log records of a role."""
    return {
        "name": role.name,
        "description": role.description,
        "permissions": sorted(role.permissions or []),
    }


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db_session: sa.orm.Session, user: User, name: str, *,
                expires_at: datetime | None = None) -> str:
    """Create an API token for ``user``, valid until ``expires_at`` (``None``: until it is
    revoked); the clear text is returned once, never stored."""
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware UTC")
    token = "erpk_" + secrets.token_urlsafe(32)
    db_session.add(ApiToken(user=user, name=name, token_hash=_token_digest(token),
                            expires_at=expires_at))
    return token


#: How often a token's ``last_used_at`` is written at most: once a minute is precise
#: enough to see which tokens are in use, and spares every request a write.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


#: Built once (every bearer request runs it): the token of ``:digest`` with its user and
#: the user's roles.
_TOKEN_WITH_USER = (sa.select(ApiToken).where(ApiToken.token_hash == sa.bindparam("digest"))
                    .options(joinedload(ApiToken.user).joinedload(User.roles)))


def user_for_token(db_session: sa.orm.Session, token: str) -> User | None:
    """The active user whose unexpired token this is, or ``None``: one query (token,
    user, roles).

    ``last_used_at`` is not written here, in the request's transaction, where the row
    would stay locked until the request ends (and a GET rolls it back anyway): when it is
    older than :data:`TOKEN_TOUCH_EVERY`, :func:`touch_token` writes it after the
    response, in a transaction of its own.
    """
    row = db_session.scalars(_TOKEN_WITH_USER,
                             {"digest": _token_digest(token)}).unique().one_or_none()
    if row is None or not row.user.active:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    last_used = row.last_used_at
    if last_used is None or utcnow() - last_used >= TOKEN_TOUCH_EVERY:
        _touch_after_response(row.id)
    return row.user


def touch_token(engine: sa.Engine, token_id: int) -> None:
    """Set the token's ``last_used_at`` to now, unless another request did in the last
    :data:`TOKEN_TOUCH_EVERY` (so several workers write it once a minute at most)."""
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token_id,
                   sa.or_(ApiToken.last_used_at.is_(None),
                          ApiToken.last_used_at <= now - TOKEN_TOUCH_EVERY))
            .values(last_used_at=now))


def _touch_after_response(token_id: int) -> None:
    if not has_request_context():
        return
    engine = db.engine

    @after_this_request
    def touch_when_closed(response: Response) -> Response:
        # After the request's session has ended: its locks are released by then.
        response.call_on_close(lambda: touch_token(engine, token_id))
        return response


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password and end every session they have (the caller audits
    and commits)."""
    user.password_hash = hash_password(password)
    end_all_sessions(user)


def end_all_sessions(user: User) -> None:
    """Make every login session of ``user`` invalid, on every device (the caller commits).

    Sessions live in signed cookies that the server cannot delete, so each one carries
    the user's session version from the moment of login; raising it refuses them all.
    """
    user.session_version = (user.session_version or 0) + 1


def sent_bearer_token() -> bool:
    """Whether this request authenticates with ``Authorization: Bearer ...``.

    Such a request ignores the login session, so it needs no CSRF token: a browser never
    adds that header to a cross-site request by itself.
    """
    return request.headers.get("Authorization", "").startswith("Bearer ")


def current_user() -> User | None:
    """The user of this request: from a bearer token, else from the login session."""
    if "erpkit_user" in g:
        return cast(User | None, g.erpkit_user)
    user: User | None = None
    if sent_bearer_token():
        token = request.headers["Authorization"].removeprefix("Bearer ").strip()
        user = user_for_token(db.session, token)
    elif session.get("user_id") is not None:
        user = db.session.get(User, session["user_id"])
        if user is not None and not _session_is_current(user):
            session.clear()
            user = None
    g.erpkit_user = user
    return user


def _session_is_current(user: User) -> bool:
    """Whether this login session still stands: the user is active, has not logged out
    or changed password since (session version), and the session has not expired."""
    if not user.active or session.get("session_version") != (user.session_version or 0):
        return False
    from flask import current_app

    logged_in_at = session.get("logged_in_at")
    max_age = current_app.extensions["erpkit"].parameters.get(db.session,
                                                              "core.session_max_age_minutes")
    return isinstance(logged_in_at, int | float) and (
        utcnow().timestamp() - logged_in_at < max_age * 60)


def login_user(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session["session_version"] = user.session_version or 0
    session["logged_in_at"] = int(utcnow().timestamp())
    g.erpkit_user = user


def logout_user() -> None:
    """End this session and every other session of the same user (the caller commits)."""
    user = current_user()
    if user is not None and not sent_bearer_token():
        end_all_sessions(user)
    session.clear()
    g.pop("erpkit_user", None)


def require_user() -> User:
    user = current_user()
    if user is None:
        raise Unauthorized("log in, or send an API token as 'Authorization: Bearer <token>'")
    return user


class Access(enum.Enum):
    """Who may call a view when no permission is named."""

    #: Anyone, logged in or not (declared explicitly: see :class:`erpkit.api.Blueprint`).
    PUBLIC = "public"
    #: Any logged-in user, whatever their roles.
    LOGGED_IN = "logged in"


#: What a view requires: a permission name, or an :class:`Access`.
Requirement = str | Access
#: The attribute a guard leaves on the view it wraps, so an API blueprint sees that the
#: route already said who may call it (see :class:`erpkit.api.Blueprint`).
GUARD_ATTRIBUTE = "erpkit_guard"


def check_access(requirement: Requirement) -> None:
    """Raise 401 (nobody logged in) or 403 (lacking the permission) unless ``requirement``
    is met by the user of this request."""
    if requirement is Access.PUBLIC:
        return
    user = require_user()
    if requirement is not Access.LOGGED_IN and not user.can(requirement):
        raise Forbidden(f"your roles do not grant the permission {requirement!r}")


def guarded(requirement: Requirement) -> Callable[[F], F]:
    """A decorator checking ``requirement`` before the view runs (and before it reads
    any input: an unauthorised client learns nothing from a 422)."""

    def decorator(view: F) -> F:
        if requirement is Access.PUBLIC:
            setattr(view, GUARD_ATTRIBUTE, requirement)
            return view

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_access(requirement)
            return view(*args, **kwargs)

        setattr(wrapper, GUARD_ATTRIBUTE, requirement)
        return cast(F, wrapper)

    return decorator


def permission_required(permission: str) -> Callable[[F], F]:
    """Refuse the view with 401 (nobody logged in) or 403 (lacking ``permission``).

    On a route of an :class:`erpkit.api.Blueprint` it replaces the blueprint's permission.
    """
    return guarded(permission)


def login_required(view: F) -> F:
    """Refuse the view with 401 unless someone is logged in (any roles)."""
    return guarded(Access.LOGGED_IN)(view)


def ensure_builtin_roles(db_session: sa.orm.Session, permissions: list[Permission]) -> None:
    """Create the built-in roles and give roles the permissions plugins grant by default.

    Idempotent. Each default grant is given once and recorded (:class:`DefaultGrant`):
    a plugin enabled after ``erpkit init`` gets its grants at the next ``erpkit db
    upgrade``, and a grant an admin removed later is never given back.
    """
    existing = {r.name: r for r in db_session.scalars(sa.select(Role))}
    for name, description in BUILTIN_ROLES.items():
        if name not in existing:
            existing[name] = Role(name=name, description=description,
                                  permissions=["*"] if name == "admin" else [])
            db_session.add(existing[name])
    db_session.flush()
    apply_default_grants(db_session, permissions, existing)


def apply_default_grants(db_session: sa.orm.Session, permissions: list[Permission],
                         roles: dict[str, Role]) -> list[tuple[str, str]]:
    """Give each role the default grants it was never given; returns (role, permission)
    pairs granted now. Roles holding ``*`` have everything already: only recorded."""
    applied: set[tuple[int, str]] = {
        (role_id, name) for role_id, name
        in db_session.execute(sa.select(DefaultGrant.role_id, DefaultGrant.permission))}
    granted = []
    for permission in permissions:
        for role_name in permission.default_roles:
            role = roles.get(role_name)
            if role is None or (role.id, permission.name) in applied:
                continue
            db_session.add(DefaultGrant(role_id=role.id, permission=permission.name))
            applied.add((role.id, permission.name))
            if "*" not in role.permissions and permission.name not in role.permissions:
                # A new list: the JSON column sees a change only on assignment.
                role.permissions = sorted([*role.permissions, permission.name])
                granted.append((role_name, permission.name))
    db_session.flush()
    return granted


def create_user(
    db_session: sa.orm.Session,
    login: str,
    password: str,
    roles: list[str],
    *,
    name: str = "",
    email: str | None = None,
    actor: str | None = None,
) -> User:
    """Create a user with hashed password and roles; audited. The caller commits."""
    found = {r.name: r for r in db_session.scalars(sa.select(Role).where(Role.name.in_(roles)))}
    missing = sorted(set(roles) - set(found))
    if missing:
        from erpkit.problems import ValidationFailed

        raise ValidationFailed.single("roles", f"unknown roles: {', '.join(missing)}")
    user = User(login=login, name=name or login, email=email, password_hash=hash_password(password),
                roles=[found[r] for r in roles])
    db_session.add(user)
    db_session.flush()
    audit(db_session, actor=actor, entity="user", entity_id=login, action="create",
          after=user_snapshot(user))
    return user
