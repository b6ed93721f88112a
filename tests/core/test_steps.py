"""Step time limits in the core: a plugin that knows nothing of approvals declares a step
with a limit (a parameter of its own); the core's sweep escalates its breach exactly
once, notifies a role, writes the subject's timeline and fires ``erpkit_step_breached``."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from erpkit import Parameter, steps
from erpkit.cli import main
from erpkit.db import db, utcnow
from erpkit.durations import Duration
from erpkit.models import User
from erpkit.plugins import current_registry
from erpkit.service_models import Notification, StepBreach
from erpkit.steps import LateStep, StepDeclaration
from erpkit.testing import make_plugin


class Parcels:
    """The test plugin's business: parcels waiting to be picked, each since some time."""

    def __init__(self) -> None:
        self.waiting: dict[int, datetime] = {}
        self.timeline: list[tuple[int, str]] = []
        self.breached: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def list_late(self, session, now):
        limit = current_registry().parameters.get(session, "parcels.pick_limit")
        return [LateStep(subject_id=parcel, step="pick", kind="parcel",
                         reference=f"P-{parcel}", started_at=since, due_at=since + limit,
                         action="escalate", escalate_to="warehouse",
                         about=f"Parcel P-{parcel} waits to be picked",
                         held_by=("role logistics",), notify=("role:logistics",),
                         data={"parcel": parcel})
                for parcel, since in sorted(self.waiting.items()) if since + limit < now]

    def lock_parcel(self, session, late, now):
        return late.subject_id if late.subject_id in self.waiting else None

    def note(self, session, parcel, message):
        with self.lock:
            self.timeline.append((parcel, message))

    def plugin(self) -> Any:
        def step_breached(subject, step, overdue_by, action, session):
            self.breached.append({"subject": subject, "step": step, "action": action,
                                  "overdue_by": overdue_by})

        return make_plugin(
            "parcels",
            erpkit_parameters=lambda: [Parameter(
                name="parcels.pick_limit", type=Duration(), default=timedelta(hours=2),
                description="Time to pick a parcel.")],
            erpkit_steps=lambda: [StepDeclaration(
                name="parcels.pick", list_late=self.list_late, lock=self.lock_parcel,
                limit_parameter="parcels.pick_limit", note=self.note,
                description="From a parcel's arrival to its picking.")],
            erpkit_step_breached=step_breached,
        )


def _sweep(app, hours: float):
    with app.app_context():
        return steps.sweep(db.session, current_registry(), utcnow() + timedelta(hours=hours))


def _kinds(app, login: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(Notification.kind).join(User, User.id == Notification.user_id)
            .where(User.login == login).order_by(Notification.id)))


def test_hook_erpkit_steps(make_app):
    parcels = Parcels()
    app = make_app(parcels.plugin())

    with app.app_context():
        declared = {d.name: d for d in steps.declarations(current_registry())}

    assert declared["parcels.pick"].plugin == "parcels"
    assert declared["parcels.pick"].limit_parameter == "parcels.pick_limit"
    # the installed modules declare theirs the same way
    assert {"orders.confirmed_to_shipped", "approvals.approval_step"} <= set(declared)


def test_a_plugin_without_approvals_declares_a_step_and_its_breach_notifies_a_role(
        make_app, users):
    parcels = Parcels()
    app = make_app(parcels.plugin())
    users.create("lou", "logistics")
    users.create("wes", "warehouse")
    users.create("wil", "warehouse")
    parcels.waiting[7] = utcnow()

    assert _sweep(app, 1).handled == []  # within its two hours
    report = _sweep(app, 3)

    [late] = report.handled
    assert (late.declaration, late.subject_id, late.action) == ("parcels.pick", 7, "escalate")
    assert _kinds(app, "wes") == _kinds(app, "wil") == ["escalation"]
    assert _kinds(app, "lou") == ["alert"]
    [(parcel, message)] = parcels.timeline
    assert parcel == 7 and "escalated to role warehouse" in message and "lou" in message
    [breached] = parcels.breached
    assert (breached["subject"], breached["step"], breached["action"]) == (7, "pick", "escalate")
    assert timedelta(minutes=59) < breached["overdue_by"] <= timedelta(hours=1, minutes=1)
    assert _sweep(app, 4).handled == []  # once per breach


def test_the_limit_is_the_plugins_parameter(make_app, users):
    parcels = Parcels()
    app = make_app(parcels.plugin())
    parcels.waiting[1] = utcnow()
    with app.app_context():
        current_registry().parameters.set(db.session, "parcels.pick_limit", "30m", actor="t")
        db.session.commit()

    assert [late.subject_id for late in _sweep(app, 1).handled] == [1]


def test_two_sweeps_at_once_escalate_a_breach_exactly_once(make_app, users, monkeypatch):
    parcels = Parcels()
    app = make_app(parcels.plugin())
    users.create("wes", "warehouse")
    parcels.waiting[3] = utcnow()
    meeting = threading.Barrier(2, timeout=10)
    claim = steps.claim

    def claim_together(session, late, now):
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait()
        return claim(session, late, now)

    monkeypatch.setattr(steps, "claim", claim_together)
    reports: list[Any] = []
    threads = [threading.Thread(target=lambda: reports.append(_sweep(app, 3)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted((len(r.handled), len(r.taken_by_another)) for r in reports) == [(0, 1), (1, 0)]
    assert _kinds(app, "wes") == ["escalation"]
    assert len(parcels.timeline) == len(parcels.breached) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StepBreach)) == 1


def test_a_subject_that_is_no_longer_late_keeps_no_claim(make_app, monkeypatch):
    parcels = Parcels()
    app = make_app(parcels.plugin())
    parcels.waiting[5] = utcnow()
    claim = steps.claim

    def picked_meanwhile(session, late, now):
        parcels.waiting.pop(5)  # picked between the listing and the claim
        return claim(session, late, now)

    monkeypatch.setattr(steps, "claim", picked_meanwhile)
    report = _sweep(app, 3)

    assert [late.subject_id for late in report.no_longer_late] == [5]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StepBreach)) == 0


def test_erpkit_sla_lists_and_sweeps_every_declared_step(make_app):
    parcels = Parcels()
    app = make_app(parcels.plugin())
    parcels.waiting[9] = utcnow() - timedelta(hours=3)

    listed = CliRunner().invoke(main, ["sla", "overdue"], obj={"app": app})
    swept = CliRunner().invoke(main, ["sla", "sweep"], obj={"app": app})
    again = CliRunner().invoke(main, ["sla", "sweep", "--json"], obj={"app": app})

    assert listed.exit_code == 0 and "P-9" in listed.output and "held by role logistics" \
        in listed.output, listed.output
    assert swept.exit_code == 0 and "P-9: pick 1h" in swept.output, swept.output
    assert "-> escalate to warehouse" in swept.output
    assert again.exit_code == 0 and '"handled": []' in again.output
