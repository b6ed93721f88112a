"""The core's own tables: parameters, users and roles, default grants applied, API tokens,
audit, sequences, set-up cache generations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erpkit.db import Base, TimestampMixin, utcnow


class ParameterValue(Base):
    """The stored value of a parameter whose value differs from its declared default."""

    __tablename__ = "core_parameter"

    name: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(sa.String(120))


user_roles = sa.Table(
    "core_user_role",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("core_role.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Base):
    """A named set of permissions (``admin``, ``sales``, ``approver``...)."""

    __tablename__ = "core_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    description: Mapped[str] = mapped_column(sa.String(255), default="")
    # Permission names, e.g. ["orders.view", "approvals.decide"]; "*" grants all.
    permissions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    def __str__(self) -> str:
        return self.name


class DefaultGrant(Base):
    """A permission a plugin grants a role by default, once given to that role.

    Recorded so that a plugin enabled later gets its grants on ``erpkit db upgrade``,
    while a grant an admin removed afterwards is never given back.
    """

    __tablename__ = "core_default_grant"

    role_id: Mapped[int] = mapped_column(
        sa.ForeignKey("core_role.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(TimestampMixin, Base):
    """A person (or an integration) who acts in erpkit."""

    __tablename__ = "core_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    #: Raised by a logout and by a password change: every login session made before
    #: carries the old number and is refused from then on.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    @property
    def permissions(self) -> set[str]:
        return {perm for role in self.roles for perm in role.permissions}

    def can(self, permission: str) -> bool:
        """Whether one of the user's roles grants ``permission`` (or everything, ``*``)."""
        granted = self.permissions
        return "*" in granted or permission in granted

    def __str__(self) -> str:
        return self.login


class ApiToken(TimestampMixin, Base):
    """A bearer token for an integration; only its hash is stored."""

    __tablename__ = "core_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_user.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    last_used_at: Mapped[datetime | None]
    #: After this moment the token is refused; ``None``: it never expires.
    expires_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """Who changed what configuration, when, with the values before and after."""

    __tablename__ = "core_audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(sa.String(120))
    entity: Mapped[str] = mapped_column(sa.String(60))
    entity_id: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(20))
    before: Mapped[Any | None] = mapped_column(sa.JSON)
    after: Mapped[Any | None] = mapped_column(sa.JSON)


class Sequence(Base):
    """Gap-tolerant counters for human-readable numbers (order numbers per year)."""

    __tablename__ = "core_sequence"

    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    next_value: Mapped[int] = mapped_column(default=1)


class CacheGeneration(Base):
    """The current generation of a kind of set-up cached by the processes
    (:mod:`erpkit.setup_cache`): a random token replaced by every change of the kind."""

    __tablename__ = "core_cache_generation"

    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    generation: Mapped[str] = mapped_column(sa.String(32))


def audit(
    session: sa.orm.Session,
    *,
    actor: str | None,
    entity: str,
    entity_id: str,
    action: str,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Record a configuration change in the audit log, in the caller's transaction."""
    entry = AuditEntry(
        actor=actor, entity=entity, entity_id=entity_id, action=action, before=before, after=after
    )
    session.add(entry)
    return entry


#: Built once (see :func:`next_in_sequence`): one statement per order created.
_SEQUENCES: sa.Table = Sequence.__table__  # type: ignore[assignment]
_ADVANCE_SEQUENCE = (  # on the table: a Core UPDATE skips the ORM's bulk-update steps
    sa.update(_SEQUENCES)
    .where(_SEQUENCES.c.name == sa.bindparam("sequence_name"))
    .values(next_value=_SEQUENCES.c.next_value + 1)
    .returning(_SEQUENCES.c.next_value)
)


def next_in_sequence(session: sa.orm.Session, name: str) -> int:
    """Take the next number of sequence ``name``, atomically, in the caller's transaction.

    The row is created on first use. Concurrent callers each get a distinct number: the
    UPDATE locks the row until the transaction ends (on SQLite the whole database is
    locked by ``BEGIN IMMEDIATE`` already).
    """
    for _attempt in range(2):
        taken = session.execute(_ADVANCE_SEQUENCE, {"sequence_name": name}).scalar_one_or_none()
        if taken is not None:
            return int(taken) - 1
        try:
            with session.begin_nested():
                session.execute(sa.insert(Sequence).values(name=name, next_value=1))
        except sa.exc.IntegrityError:
            continue  # another transaction created it first; take a number from it
    raise RuntimeError(f"sequence {name!r} could not be advanced")


# The shared services' tables (jobs, notifications, step breaches) and the outbox and
# webhook tables are core tables too.
from erpkit import idempotency, service_models, webhook_models  # noqa: E402, F401
