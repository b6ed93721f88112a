"""Rules, their immutable versions, approval requests, steps and decisions.

A rule's conditions and steps live in :class:`RuleVersion` as validated JSON data (never
code). An approval request copies what it needs from the versions that matched into its
own steps, so editing or deactivating a rule never changes an order already waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erpkit import setup_cache
from erpkit.db import Base, utcnow
from erpkit_orders.models import Order


class Rule(Base):
    """An approval rule: which orders need whose approval. Its content is versioned."""

    __tablename__ = "approvals_rule"
    # the order of the rules' listing (keyset pages)
    __table_args__ = (sa.Index("ix_approvals_rule_priority", "priority", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Lower numbers are evaluated, and their steps asked, first.
    priority: Mapped[int] = mapped_column(default=100)
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[RuleVersion]] = relationship(
        back_populates="rule", order_by="RuleVersion.version", lazy="select",
        cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.name


class RuleVersion(Base):
    """One immutable version of a rule's definition (match, conditions, steps)."""

    __tablename__ = "approvals_rule_version"
    __table_args__ = (sa.UniqueConstraint("rule_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_rule.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(sa.String(120))

    rule: Mapped[Rule] = relationship(back_populates="versions")

    def __str__(self) -> str:
        return f"{self.definition.get('name', self.rule_id)} v{self.version}"


class ApprovalRequest(Base):
    """An order waiting for approval: the steps of every rule that matched, in order.

    ``gate`` is the transition it guards: ``submit`` (the order waits in
    ``pending_approval``), or a gated move (``confirm``, ``ship``, ...) that waits, the
    order staying in ``from_status``, until the last step passes and makes the move with
    what ``resume`` recorded.
    """

    __tablename__ = "approvals_request"
    __table_args__ = (sa.Index("ix_approvals_request_order_status", "order_id", "status"),
                      sa.Index("ix_approvals_request_document", "document", "document_id",
                               "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # A sales order's request; a plugin's document (``document``, ``document_id``) has none.
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"))
    document: Mapped[str | None] = mapped_column(sa.String(40))
    document_id: Mapped[int | None]
    # What people read of a document (``PO-000012``); an order's is its number.
    document_number: Mapped[str | None] = mapped_column(sa.String(60))
    # open | approved | rejected | superseded | cancelled
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_by: Mapped[str | None] = mapped_column(sa.String(120))
    gate: Mapped[str] = mapped_column(sa.String(48), default="submit", server_default="submit")
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    resume: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    order: Mapped[Order | None] = relationship(lazy="joined")
    matches: Mapped[list[RuleMatch]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RuleMatch.id",
        lazy="selectin")
    steps: Mapped[list[Step]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Step.position",
        lazy="selectin")

    @property
    def reference(self) -> str:
        """What people call the order or document the request is about."""
        return self.order.number if self.order is not None else str(self.document_number)

    @property
    def subject(self) -> str:
        """The order or document as a sentence starts it: ``Order SO-1``,
        ``Purchase order PO-000012``."""
        kind = "order" if self.order_id is not None else str(self.document).replace("_", " ")
        return f"{kind.capitalize()} {self.reference}"

    @property
    def waits_in(self) -> str:
        """The status the order stays in while this request is open."""
        return "pending_approval" if self.gate == "submit" else str(self.from_status)

    @property
    def current_step(self) -> Step | None:
        """The step approvers can act on now, if the request is open."""
        return next((s for s in self.steps if s.status == "active"), None)

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """What the last decision on this request let through but wants known (a
        confirmation a plugin refused after the last approval). Not stored."""
        return list(self.__dict__.get("_erpkit_warnings", ()))

    @warnings.setter
    def warnings(self, value: list[dict[str, Any]]) -> None:
        self.__dict__["_erpkit_warnings"] = list(value)

    def __str__(self) -> str:
        return f"approval request {self.id}"


class RuleMatch(Base):
    """Why a request was opened: a rule version that matched and the facts that made it."""

    __tablename__ = "approvals_rule_match"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("approvals_request.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_rule.id"))
    rule_version_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_rule_version.id"))
    rule_name: Mapped[str] = mapped_column(sa.String(120))
    version: Mapped[int]
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    why: Mapped[str] = mapped_column(sa.Text)

    request: Mapped[ApprovalRequest] = relationship(back_populates="matches")


class Step(Base):
    """One approval step of a request, copied from the rule version that asked for it."""

    __tablename__ = "approvals_step"
    __table_args__ = (sa.Index("ix_approvals_step_status_due", "status", "due_at"),
                      # the inbox's order: active steps by when they started
                      sa.Index("ix_approvals_step_status_started", "status", "started_at",
                               "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("approvals_request.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_rule.id"))
    rule_version_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_rule_version.id"))
    rule_version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str | None] = mapped_column(sa.String(60))
    users: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    required: Mapped[int] = mapped_column(default=1)
    time_limit_seconds: Mapped[int]
    breach_action: Mapped[str] = mapped_column(sa.String(16), default="remind")
    escalate_to: Mapped[str | None] = mapped_column(sa.String(60))
    # The role that may also act since the step was escalated.
    escalated_to: Mapped[str | None] = mapped_column(sa.String(60))
    # waiting | active | approved | rejected | closed
    status: Mapped[str] = mapped_column(sa.String(16), default="waiting")
    started_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    request: Mapped[ApprovalRequest] = relationship(back_populates="steps")
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="step", cascade="all, delete-orphan", order_by="Decision.id",
        lazy="selectin")

    @property
    def time_limit(self) -> timedelta:
        return timedelta(seconds=self.time_limit_seconds)

    @property
    def approvals(self) -> int:
        return sum(1 for d in self.decisions if d.decision == "approve")

    def __str__(self) -> str:
        return self.name


class Decision(Base):
    """One person's approval or rejection of a step (or the sweep's, ``login`` empty).

    The unique constraint is what makes "one person counts once in N of M" hold even
    when the same approver clicks twice at the same moment.
    """

    __tablename__ = "approvals_decision"
    __table_args__ = (sa.UniqueConstraint("step_id", "login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_step.id", ondelete="CASCADE"))
    login: Mapped[str | None] = mapped_column(sa.String(120))
    decision: Mapped[str] = mapped_column(sa.String(16))  # approve | reject
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    automatic: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    step: Mapped[Step] = relationship(back_populates="decisions")


class OrderStep(Base):
    """A named step an order passes while it stays in a status (picked, packed...),
    copied from the rule version (``within`` that status) in force when it entered."""

    __tablename__ = "approvals_order_step"
    __table_args__ = (sa.Index("ix_approvals_order_step_order_state", "order_id", "state"),
                      sa.Index("ix_approvals_order_step_state_due", "state", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(24))
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_rule.id"))
    rule_version_id: Mapped[int] = mapped_column(sa.ForeignKey("approvals_rule_version.id"))
    rule_version: Mapped[int]
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(60))
    time_limit_seconds: Mapped[int]
    breach_action: Mapped[str] = mapped_column(sa.String(16), default="remind")
    escalate_to: Mapped[str | None] = mapped_column(sa.String(60))
    # open | done | closed (the order left the status another way)
    state: Mapped[str] = mapped_column(sa.String(16), default="open")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(sa.String(120))

    order: Mapped[Order] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


MODELS = (Rule, RuleVersion, ApprovalRequest, RuleMatch, Step, Decision, OrderStep)

#: Set-up the processes keep while nobody changes it (:mod:`erpkit.setup_cache`). Declared
#: here, beside the models, so that every process that writes these rows (the console, the
#: API, a command, a worker) replaces the kind's generation: a process that changed them
#: without declaring the kind would leave the others using what it replaced.
RULES = "approvals.rules"
setup_cache.declare(RULES, Rule, RuleVersion)
