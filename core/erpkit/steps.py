"""Step time limits: what is late, and the sweep that acts on each breach exactly once.

A plugin declares the steps it owns through the hook ``erpkit_steps``: a
:class:`StepDeclaration` names the parameter that holds the limit, lists what is late
now (one set-based query on indexed columns, :class:`LateStep` items), locks a late
subject before it is acted on, and may offer actions of its own beside the core's
``remind`` (tell the people who hold the step) and ``escalate`` (alert them and tell a
role, whose members may then act).

:func:`sweep` runs as the core's periodic job ``core.step_sweep`` (every
``core.step_sweep_seconds``) and as ``erpkit sla sweep``. Each breach is handled in a
transaction of its own that starts by inserting a
:class:`~erpkit.service_models.StepBreach` row; its unique constraint is the claim. A
second sweep's insert fails (on PostgreSQL it waits for the first to commit, on SQLite
the first holds the write lock), so it leaves that breach alone. Because the claim
commits together with the action, the hook ``erpkit_step_breached``, the timeline and
the notifications, a breach whose handling failed is not marked handled and the next
sweep tries again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.durations import format_duration
from erpkit.notifications import Recipient, notify, resolve
from erpkit.plugins import setup_items
from erpkit.schemas import MAX_ID
from erpkit.service_models import StepBreach
from erpkit.transitions import atomic

if TYPE_CHECKING:
    from erpkit.jobs import JobContext
    from erpkit.plugins import Registry

log = logging.getLogger(__name__)

CORE_ACTIONS = ("remind", "escalate")


@dataclass(frozen=True)
class LateStep:
    """One running step past its due time, as the plugin that owns it lists it.

    ``subject_id`` and ``round`` identify the breach within its declaration (``round``:
    how many times the subject entered the step). ``step`` is what people call it,
    ``reference`` what they know the subject by (an order number), ``about`` one line
    for messages. ``notify`` are the people alerted (logins or ``role:NAME``),
    ``held_by`` who holds it as people read it. ``data`` goes with the notifications.
    """

    subject_id: int
    step: str
    started_at: datetime
    due_at: datetime
    action: str = "remind"
    round: int = 1
    kind: str = ""
    reference: str = ""
    about: str = ""
    held_by: tuple[str, ...] = ()
    notify: tuple[Recipient, ...] = ()
    escalate_to: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    declaration: str = ""  # filled in by the core

    def overdue_by(self, now: datetime) -> timedelta:
        return now - self.due_at

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        late_by = self.overdue_by(now or utcnow())
        return {"declaration": self.declaration, "kind": self.kind,
                "subject_id": self.subject_id, "step": self.step,
                "reference": self.reference, "round": self.round,
                "started_at": self.started_at.isoformat(), "due_at": self.due_at.isoformat(),
                "overdue_by": format_duration(late_by),
                "overdue_seconds": int(late_by.total_seconds()),
                "held_by": list(self.held_by), "action": self.action,
                "escalate_to": self.escalate_to, **self.data}


@dataclass(frozen=True)
class LateBound:
    """Where a page of one declaration's late steps starts: strictly after
    ``(due_at, subject_id)``, the order a declaration's ``list_late_page`` reads in."""

    due_at: datetime
    subject_id: int

    def after(self, due: Any, subject_id: Any) -> Any:
        """The SQL condition ``(due, subject_id) > (due_at, subject_id)``, spelled out so
        an index on ``due`` serves it on every backend."""
        return sa.or_(due > self.due_at,
                      sa.and_(due == self.due_at, subject_id > self.subject_id))

    def admits(self, late: LateStep) -> bool:
        """Whether ``late`` comes after the bound."""
        return (late.due_at, late.subject_id) > (self.due_at, self.subject_id)

    def shifted(self, by: timedelta) -> LateBound:
        """The bound on a column ``by`` after the due time (``due_at = started + limit``:
        ``bound.shifted(-limit).after(started, id)``)."""
        return LateBound(self.due_at + by, self.subject_id)


#: The cursor of a page of the overdue list: ``<due_at>~<declaration>~<subject id>``,
#: the time in UTC with microseconds and a ``Z`` (no ``+`` to be mangled in a URL).
_CURSOR = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)~([\w.:-]{1,100})~(\d{1,10})",
                     re.ASCII)
_CURSOR_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class OverdueCursor:
    """The last item of a page of the overdue list, where the next page starts. The
    list's order is ``(due_at, declaration, subject_id)``: the longest late first."""

    due_at: datetime
    declaration: str
    subject_id: int

    @classmethod
    def of(cls, late: LateStep) -> OverdueCursor:
        return cls(late.due_at, late.declaration, late.subject_id)

    @classmethod
    def parse(cls, text: str) -> OverdueCursor:
        """The cursor a page gave as ``next``; ``ValueError`` when ``text`` is not one."""
        found = _CURSOR.fullmatch(text)
        if found is None:
            raise ValueError("not a cursor of the overdue list: pass back a page's `next`")
        due = datetime.strptime(found[1], _CURSOR_TIME).replace(tzinfo=UTC)
        subject_id = int(found[3])
        if not 1 <= subject_id <= MAX_ID:
            raise ValueError(f"the subject id must be from 1 to {MAX_ID}")
        return cls(due, found[2], subject_id)

    def __str__(self) -> str:
        due = self.due_at.astimezone(UTC).strftime(_CURSOR_TIME)
        return f"{due}~{self.declaration}~{self.subject_id}"

    def bound_for(self, declaration: str) -> LateBound:
        """What of ``declaration``'s late steps comes after this cursor: those due later,
        and, at the same time, those of a declaration named after it (or, of its own, of
        a greater subject id)."""
        if declaration == self.declaration:
            return LateBound(self.due_at, self.subject_id)
        # ids start at 1: after id 0 is "due at the same time or later"; after the
        # largest id any column holds is "due later".
        return LateBound(self.due_at, 0 if declaration > self.declaration else MAX_ID)


def overdue_order(late: LateStep) -> tuple[datetime, str, int]:
    """The order of the overdue list: the longest late first, ties in a stable order."""
    return late.due_at, late.declaration, late.subject_id


@dataclass(frozen=True)
class StepDeclaration:
    """A step a plugin owns, with a time limit, for the hook ``erpkit_steps``.

    ``list_late(session, now)`` returns the :class:`LateStep`\\ s due before ``now``,
    from a set-based query on indexed columns (the sweep runs every minute over every
    open subject). ``list_late_page(session, now, after, limit)``, when given, returns
    at most ``limit`` of them in ``(due_at, subject_id)`` order, only those after the
    :class:`LateBound` ``after`` (all when ``None``): what a page of the overdue list
    reads (:func:`overdue_page`); without it a page lists the declaration whole.
    ``lock(session, late, now)`` loads the subject for the breach's transaction, locked
    and fresh, and returns it, or ``None`` when it is no longer late (someone acted
    since the listing). ``note(session, subject, message)`` writes the
    subject's timeline. ``actions`` are the plugin's own breach actions, by name; an
    action named ``remind`` or ``escalate`` replaces the core's.
    """

    name: str
    list_late: Callable[[Session, datetime], Iterable[LateStep]]
    lock: Callable[[Session, LateStep, datetime], Any]
    limit_parameter: str | None = None
    note: Callable[[Session, Any, str], None] | None = None
    actions: Mapping[str, Callable[[Breach], None]] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""  # filled in by the core
    list_late_page: Callable[[Session, datetime, LateBound | None, int],
                             Iterable[LateStep]] | None = None


@dataclass
class Breach:
    """A breach being handled: what a breach action works with."""

    session: Session
    registry: Registry
    declaration: StepDeclaration
    late: LateStep
    subject: Any
    now: datetime
    action: str

    @property
    def late_by(self) -> str:
        return format_duration(self.late.overdue_by(self.now))

    def note(self, message: str) -> None:
        """Add ``message`` to the subject's timeline (when its declaration has one)."""
        if self.declaration.note is not None:
            self.declaration.note(self.session, self.subject, message)

    def notify(self, to: Recipient | Iterable[Recipient], *, kind: str, message: str) -> list[str]:
        """Notify people about this breach; returns the logins notified."""
        people = resolve(self.session, to)
        notify(self.session, people, kind=kind, message=message, data=self.late.data)
        return [person.login for person in people]

    def remind(self) -> None:
        """The core's ``remind``: tell the people who hold the step."""
        told = self.notify(self.late.notify, kind="reminder",
                           message=f"Reminder: {self.late.about} ({self.late_by} late)")
        self.note(f"'{self.late.step}' is {self.late_by} late: reminded "
                  f"{', '.join(told) or 'nobody'}")

    def escalate(self, role: str | None = None) -> None:
        """The core's ``escalate``: alert the holders, and tell ``role`` (the late step's
        ``escalate_to``), whose members may then act."""
        role = role or self.late.escalate_to
        told = self.notify(self.late.notify, kind="alert",
                           message=f"{self.late.about}: {self.late_by} late")
        if role:
            self.notify(f"role:{role}", kind="escalation",
                        message=f"Escalated to you: {self.late.about} ({self.late_by} late)")
        alerted = f"alerted {', '.join(told)}; " if told else ""
        self.note(f"'{self.late.step}' is {self.late_by} late: {alerted}"
                  f"escalated to role {role or 'nobody'}")


# --- what is late ----------------------------------------------------------------------


def declarations(registry: Registry) -> list[StepDeclaration]:
    """Every step declared by the enabled plugins (and the core), in plugin order."""
    found: dict[str, StepDeclaration] = {}
    for owner, declaration in setup_items(registry, "erpkit_steps"):
        if declaration.name in found:
            raise ValueError(f"step {declaration.name!r} is declared by both "
                             f"{found[declaration.name].plugin!r} and {owner!r}. Fix: prefix "
                             "step names with the plugin name.")
        found[declaration.name] = replace(declaration, plugin=owner)
    return list(found.values())


def overdue(session: Session, registry: Registry, now: datetime | None = None, *,
            unhandled_only: bool = False) -> list[LateStep]:
    """Everything late now, the latest first, from every declaration.

    ``unhandled_only`` leaves out breaches a sweep has handled already (still late, but
    nothing more to do about them): one indexed look-up per declaration.
    """
    now = now or utcnow()
    found: list[LateStep] = []
    for declaration in declarations(registry):
        late = [replace(item, declaration=declaration.name)
                for item in declaration.list_late(session, now)]
        if unhandled_only and late:
            late = _unhandled(session, declaration.name, late)
        found.extend(late)
    return sorted(found, key=overdue_order)


def overdue_page(session: Session, registry: Registry, now: datetime | None = None, *,
                 limit: int, after: OverdueCursor | None = None) -> list[LateStep]:
    """At most ``limit`` of what is late now, in the order of :func:`overdue`, after the
    page that ended at ``after``. A declaration with ``list_late_page`` reads at most
    ``limit`` rows for it; one without is listed whole and cut (its plugin should give
    one: the work of a page then stays bounded by ``limit``). Ask for one more than the
    page holds to know whether another follows (:func:`erpkit.schemas.one_page`).
    """
    now = now or utcnow()
    found: list[LateStep] = []
    for declaration in declarations(registry):
        bound = after.bound_for(declaration.name) if after is not None else None
        late: Iterable[LateStep]
        if declaration.list_late_page is not None:
            late = declaration.list_late_page(session, now, bound, limit)
        else:
            late = [item for item in declaration.list_late(session, now)
                    if bound is None or bound.admits(item)]
        found.extend(replace(item, declaration=declaration.name) for item in late)
    return sorted(found, key=overdue_order)[:limit]


def _unhandled(session: Session, name: str, late: list[LateStep]) -> list[LateStep]:
    handled: set[tuple[int, int]] = set()
    ids = sorted({item.subject_id for item in late})
    for start in range(0, len(ids), 500):  # bounded IN lists on every backend
        chunk = ids[start:start + 500]
        handled.update((row.subject_id, row.round) for row in session.execute(
            sa.select(StepBreach.subject_id, StepBreach.round)
            .where(StepBreach.declaration == name, StepBreach.subject_id.in_(chunk))))
    return [item for item in late if (item.subject_id, item.round) not in handled]


# --- the sweep -----------------------------------------------------------------------


@dataclass
class SweepReport:
    handled: list[LateStep] = field(default_factory=list)
    taken_by_another: list[LateStep] = field(default_factory=list)
    no_longer_late: list[LateStep] = field(default_factory=list)
    failed: list[tuple[LateStep, str]] = field(default_factory=list)

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {"handled": [late.as_dict(now) for late in self.handled],
                "taken_by_another_sweep": len(self.taken_by_another),
                "no_longer_late": len(self.no_longer_late),
                "failed": [{**late.as_dict(now), "error": error} for late, error in self.failed]}


class _NoLongerLate(Exception):
    """Someone acted between listing and claiming: nothing to do, roll back the claim."""


def sweep(session: Session, registry: Registry, now: datetime | None = None) -> SweepReport:
    """Find what is late and apply each breach's action once; see the module docstring."""
    now = now or utcnow()
    by_name = {d.name: d for d in declarations(registry)}
    found = overdue(session, registry, now, unhandled_only=True)
    session.rollback()  # end the listing's transaction: each claim takes one of its own
    report = SweepReport()
    for late in found:
        try:
            handle(session, registry, by_name[late.declaration], late, now)
        except sa.exc.IntegrityError:
            report.taken_by_another.append(late)
        except _NoLongerLate:
            report.no_longer_late.append(late)
        except Exception as exc:  # one broken breach must not stop the others
            log.exception("handling the breach of %s %s failed", late.declaration,
                          late.subject_id)
            report.failed.append((late, f"{type(exc).__name__}: {exc}"))
        else:
            report.handled.append(late)
    return report


def handle(session: Session, registry: Registry, declaration: StepDeclaration,
           late: LateStep, now: datetime) -> None:
    """Claim the breach and apply its action, in one transaction."""
    with atomic(session):
        claim(session, late, now)
        subject = declaration.lock(session, late, now)
        if subject is None:
            raise _NoLongerLate
        breach = Breach(session, registry, declaration, late, subject, now, late.action)
        act = declaration.actions.get(late.action)
        if act is not None:
            act(breach)
        elif late.action == "escalate":
            breach.escalate()
        else:
            breach.action = "remind"
            breach.remind()
        registry.call("erpkit_step_breached", subject=subject, step=late.step,
                      overdue_by=late.overdue_by(now), action=breach.action, session=session)


def claim(session: Session, late: LateStep, now: datetime) -> StepBreach:
    """Insert the breach's unique row; :class:`IntegrityError` when another sweep has it."""
    breach = StepBreach(declaration=late.declaration, subject_id=late.subject_id,
                        round=late.round, step=late.step[:200], reference=late.reference[:120],
                        action=late.action,
                        overdue_seconds=int(late.overdue_by(now).total_seconds()))
    session.add(breach)
    session.flush()
    return breach


def sweep_job(context: JobContext) -> None:
    """The core's periodic job ``core.step_sweep``: one sweep of every declared step."""
    report = sweep(context.session, context.registry)
    if report.failed:
        log.warning("step sweep: %d breach(es) failed: %s", len(report.failed),
                    "; ".join(error for _late, error in report.failed))
