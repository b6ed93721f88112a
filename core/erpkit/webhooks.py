"""Webhooks: subscriptions, and delivery of the outbox's events by the job service.

The path of an event: a transition writes it to the outbox (:mod:`erpkit.outbox`) ->
after the commit the job ``core.webhooks_dispatch`` makes one delivery per subscription
that wants it -> ``core.webhooks_deliver`` sends the deliveries of one *lane* (one
subscription and one order) one after the other, so a receiver sees an order's events in
the order they happened. A delivery is claimed with a conditional UPDATE before it is
sent, so two workers never send one attempt at the same time. A failed attempt is tried
again after the delays of ``core.webhooks_retry_schedule`` (with +-20 % jitter; about a
day in all) and then dead-lettered; the lane goes on with its next event. Each attempt
is logged in ``core_webhook_attempt``. The periodic task ``core.webhooks_sweep`` finds
what a lost wake-up or a killed worker left behind.

Every request is signed with the Standard Webhooks scheme (``webhook-id`` is the event's,
the same on every attempt and replay).
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import random
import secrets as random_secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.jobs import WORKER_NAME, Job, JobContext, PeriodicTask, jobs_of
from erpkit.problems import ValidationFailed
from erpkit.transitions import after_commit
from erpkit.webhook_models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    webhook_id_of,
)
from erpkit.webhook_sender import Answer, post
from erpkit.webhook_targets import Target, check_target

if TYPE_CHECKING:
    from erpkit.plugins import Registry

log = logging.getLogger(__name__)

DISPATCH = "core.webhooks_dispatch"
DELIVER = "core.webhooks_deliver"
SWEEP = "core.webhooks_sweep"
#: Events claimed by one dispatch statement.
DISPATCH_BATCH = 500
#: Besides the timeout, how long a claim holds before another worker may take it over.
CLAIM_MARGIN = timedelta(seconds=30)
# A constant key for PostgreSQL's advisory lock that serialises dispatching (so the
# deliveries of a lane are made in event order).
_DISPATCH_LOCK = 0x6572706B69740001


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format (``whsec_`` + base64)."""
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode()


def _target(session: Session, registry: Registry, url: str) -> Target:
    parameters = registry.parameters
    return check_target(
        url, allow_http=bool(parameters.get(session, "core.webhooks_allow_http")),
        allowed_networks=parameters.get(session, "core.webhooks_allowed_networks"))


# --- subscriptions ------------------------------------------------------------------------


def _check_events(registry: Registry, events: Sequence[str]) -> list[str]:
    from erpkit.events import catalogue

    known = catalogue(registry)
    unknown = [e for e in events if e != "*" and e not in known]
    if unknown or not events:
        raise ValidationFailed.single(
            "events", f"unknown events: {', '.join(unknown)}; known: "
                      f"{', '.join(sorted(known))}, or '*'" if unknown else
                      "name at least one event, or '*' for all")
    return list(dict.fromkeys(events))


def subscribe(session: Session, registry: Registry, *, url: str, events: Sequence[str],
              description: str = "", active: bool = True,
              secret: str | None = None) -> WebhookSubscription:
    """Register an endpoint (the URL is checked now and at every delivery)."""
    _target(session, registry, url)
    subscription = WebhookSubscription(url=url, events=_check_events(registry, events),
                                       description=description, active=active,
                                       secret=secret or new_secret())
    session.add(subscription)
    session.flush()
    return subscription


def change(session: Session, registry: Registry, subscription: WebhookSubscription,
           changes: dict[str, Any]) -> WebhookSubscription:
    if "url" in changes:
        _target(session, registry, changes["url"])
        subscription.url = changes["url"]
    if "events" in changes:
        subscription.events = _check_events(registry, changes["events"])
    for name in ("description", "active"):
        if name in changes:
            setattr(subscription, name, changes[name])
    return subscription


def rotate_secret(subscription: WebhookSubscription, overlap: timedelta) -> str:
    """Give ``subscription`` a new secret; the old one also signs for ``overlap``."""
    if overlap > timedelta(0):
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_until = utcnow() + overlap
    else:
        subscription.previous_secret = subscription.previous_secret_until = None
    subscription.secret = new_secret()
    return subscription.secret


def signing_secrets(subscription: Any, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous during its overlap."""
    found = [subscription.secret]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and now < until:
        found.append(subscription.previous_secret)
    return found


# --- dispatching: events -> deliveries ------------------------------------------------------


def lane_of(subscription_id: int, event: OutboxEvent) -> str:
    key = f"o{event.order_id}" if event.order_id is not None else f"e{event.id}"
    return f"{subscription_id}:{key}"


def dispatch(session: Session) -> set[str]:
    """Make the deliveries of events not yet dispatched; commit; the lanes to wake."""
    lanes: set[str] = set()
    while True:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(_DISPATCH_LOCK)))
        waiting = (sa.select(OutboxEvent.id).where(OutboxEvent.dispatched.is_(False))
                   .order_by(OutboxEvent.id).limit(DISPATCH_BATCH))
        # The condition is checked again on the row: a dispatcher that waited for the
        # lock never claims an event another already took.
        claimed = session.execute(
            sa.update(OutboxEvent)
            .where(OutboxEvent.id.in_(waiting.scalar_subquery()),
                   OutboxEvent.dispatched.is_(False))
            .values(dispatched=True)
            .returning(OutboxEvent.id, OutboxEvent.name, OutboxEvent.order_id)
        ).all()
        if not claimed:
            session.commit()
            return lanes
        subscriptions = session.scalars(sa.select(WebhookSubscription).where(
            WebhookSubscription.active.is_(True))).all()
        rows = []
        for event_id, name, order_id in sorted(claimed):
            event = OutboxEvent(id=event_id, name=name, order_id=order_id)
            for subscription in subscriptions:
                if subscription.wants(name):
                    lane = lane_of(subscription.id, event)
                    lanes.add(lane)
                    rows.append({"subscription_id": subscription.id, "event_id": event_id,
                                 "lane": lane, "status": "pending", "attempts": 0,
                                 "next_attempt_at": utcnow(), "created_at": utcnow()})
        if rows:
            session.execute(sa.insert(WebhookDelivery), rows)
        session.commit()
        if len(claimed) < DISPATCH_BATCH:
            return lanes


# --- delivering: one lane, its deliveries one after the other ------------------------------

#: Deliveries of one lane claimed together (one claim, one write of the outcomes), sent
#: one after the other.
LANE_BATCH = 100
#: No send of a claimed batch starts later than this after the claim; a claim holds this
#: much longer than one attempt's timeout and ``CLAIM_MARGIN``.
BATCH_WINDOW = timedelta(seconds=5)
_OPEN = ("pending", "delivering")
# The delivery path uses Core statements on the tables: the ORM's paths cost more CPU
# than the database's work for these small statements.
_ATTEMPTS = cast(sa.Table, WebhookAttempt.__table__)
_DELIVERIES = cast(sa.Table, WebhookDelivery.__table__)
_EVENTS = cast(sa.Table, OutboxEvent.__table__)
_SUBSCRIPTIONS = cast(sa.Table, WebhookSubscription.__table__)


@dataclass(frozen=True)
class DeliverySettings:
    """The parameters a delivery job reads once (one query, not one per attempt)."""

    timeout: float
    schedule: tuple[int, ...]
    allow_http: bool
    allowed_networks: tuple[str, ...]

    @classmethod
    def read(cls, session: Session, registry: Registry) -> DeliverySettings:
        get = registry.parameters.get
        return cls(timeout=float(get(session, "core.webhooks_timeout_seconds")),
                   schedule=tuple(get(session, "core.webhooks_retry_schedule")),
                   allow_http=bool(get(session, "core.webhooks_allow_http")),
                   allowed_networks=tuple(get(session, "core.webhooks_allowed_networks")))

    @property
    def hold(self) -> timedelta:
        return timedelta(seconds=self.timeout) + CLAIM_MARGIN + BATCH_WINDOW


@dataclass(frozen=True)
class _Claimed:
    delivery_id: int
    attempts: int
    # The event's (name, version, occurred_at, payload, event_id) and the subscription's
    # (subscription_id, url, secret, previous_secret, previous_secret_until, active) columns.
    row: Any


def _due(now: datetime) -> Any:
    D = _DELIVERIES.c
    return sa.or_(sa.and_(D.status == "pending", D.next_attempt_at <= now),
                  sa.and_(D.status == "delivering", D.claimed_until < now))


def _is_due(row: Any, now: datetime) -> bool:
    if row.status == "pending":
        return bool(row.next_attempt_at <= now)
    return row.claimed_until is not None and row.claimed_until < now


def _claim_batch(session: Session, lane: str, now: datetime,
                 hold: timedelta) -> tuple[list[_Claimed], datetime | None]:
    """Claim the lane's head and the due deliveries right after it; commit (with whatever
    the transaction wrote before: the previous batch's outcomes).

    Only a worker holding the head claims the deliveries after it, so the claimed ones
    are the lane's next, in order, and no other worker sends them meanwhile. Also says
    when the head waits for a retry (nothing is claimed then).
    """
    D, E, S = _DELIVERIES.c, _EVENTS.c, _SUBSCRIPTIONS.c
    open_rows = session.execute(
        sa.select(D.id, D.status, D.next_attempt_at, D.claimed_until)
        .where(D.lane == lane, D.status.in_(_OPEN)).order_by(D.id).limit(LANE_BATCH)).all()
    ids = [row.id for row in itertools.takewhile(lambda r: _is_due(r, now), open_rows)]
    if not ids:
        session.commit()
        head = open_rows[0] if open_rows else None
        return [], head.next_attempt_at if head is not None and head.status == "pending" else None
    claimed = session.execute(
        sa.update(_DELIVERIES).where(D.id.in_(ids), _due(now))
        .values(status="delivering", claimed_until=now + hold, claimed_by=WORKER_NAME,
                attempts=D.attempts + 1)
        .returning(D.id)).scalars().all()
    if sorted(claimed) != ids:
        # Another worker took the head meanwhile (and goes on with the lane): give back
        # what came with it.
        _release(session, claimed)
        session.commit()
        return [], None
    rows = session.execute(
        sa.select(D.id, D.attempts, E.id.label("event_id"), E.name, E.version,
                  E.occurred_at, E.payload, S.id.label("subscription_id"), S.url, S.secret,
                  S.previous_secret, S.previous_secret_until, S.active)
        .select_from(_DELIVERIES.join(_EVENTS, E.id == D.event_id)
                     .join(_SUBSCRIPTIONS, S.id == D.subscription_id))
        .where(D.id.in_(ids)).order_by(D.id)).all()
    session.commit()
    return [_Claimed(row.id, row.attempts, row) for row in rows], None


def _release(session: Session, delivery_ids: Sequence[int]) -> None:
    """Give claimed deliveries back to their lane, untried and not counted."""
    if delivery_ids:
        D = _DELIVERIES.c
        session.execute(sa.update(_DELIVERIES).where(D.id.in_(delivery_ids))
                        .values(status="pending", claimed_until=None, claimed_by=None,
                                attempts=D.attempts - 1))


def body_of(event: Any) -> str:
    """The JSON text sent for ``event`` (the Standard Webhooks envelope)."""
    return json.dumps({"type": event.name, "version": event.version,
                       "timestamp": event.occurred_at.isoformat(), "data": event.payload},
                      separators=(",", ":"), default=str)


def retry_delay(schedule: Sequence[int], attempts: int) -> float | None:
    """Seconds before the next attempt after ``attempts`` failed ones (None: give up)."""
    if attempts > len(schedule):
        return None
    base = float(schedule[attempts - 1])
    return base * random.uniform(0.8, 1.2)


def deliver_lane(session: Session, registry: Registry, lane: str,
                 wake: Any = None, settings: DeliverySettings | None = None) -> int:
    """Send the due deliveries of ``lane`` in order; the number sent successfully.

    Claims them in batches (:func:`_claim_batch`) and sends a batch's one after the
    other; a batch's outcomes are written in the transaction that claims the next. Stops
    at a delivery that must wait (its retry is due later: ``wake(delay)`` asks to be
    woken then) or that another worker holds.
    """
    if settings is None:
        settings = DeliverySettings.read(session, registry)
    sent = 0
    outcomes: _Outcomes | None = None
    # Always one more claim after a batch: deliveries dispatched while it was sent were
    # woken for a job that found the lane held, and would otherwise wait for the sweep.
    while True:
        now = utcnow()
        if outcomes is not None:
            outcomes.write(session)
        batch, retry_at = _claim_batch(session, lane, now, settings.hold)
        if not batch:
            if retry_at is not None and wake:
                wake((retry_at - now).total_seconds())
            return sent
        outcomes = _send_batch(settings, batch, stop_sending=now + BATCH_WINDOW)
        sent += outcomes.delivered


@dataclass
class _Outcomes:
    """What a batch's sends came to, to be written in one go."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    finished: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(1 for row in self.finished if row["status"] == "delivered")

    def write(self, session: Session) -> None:
        if self.attempts:
            session.execute(sa.insert(_ATTEMPTS), self.attempts)
        for rows in (self.finished, self.failed):
            if rows:
                session.execute(_update_by_id(rows[0]), rows)
        _release(session, self.unsent)


def _update_by_id(example: dict[str, Any]) -> Any:
    """An UPDATE of the columns named in ``example`` for the row whose id is ``delivery``."""
    columns = _DELIVERIES.c
    return (sa.update(_DELIVERIES).where(columns.id == sa.bindparam("delivery"))
            .values({name: sa.bindparam(name) for name in example if name != "delivery"}))


def _send_batch(settings: DeliverySettings, batch: list[_Claimed],
                stop_sending: datetime) -> _Outcomes:
    """Send ``batch`` in order until one fails and must be tried again later; what was
    not sent by then (or by ``stop_sending``) goes back to the lane."""
    targets: dict[int, Target | str] = {}
    outcomes = _Outcomes()
    for claimed in batch:
        if utcnow() > stop_sending or outcomes.failed:
            outcomes.unsent.append(claimed.delivery_id)
            continue
        at = utcnow()
        answer = _send(settings, claimed, targets, at)
        outcomes.attempts.append({
            "delivery_id": claimed.delivery_id, "number": claimed.attempts, "at": at,
            "status_code": answer.status_code, "latency_ms": answer.latency_ms,
            "ok": answer.ok, "error": answer.error, "response_excerpt": answer.excerpt,
            "worker": WORKER_NAME})
        outcome = {"delivery": claimed.delivery_id, "claimed_until": None,
                   "last_status_code": answer.status_code, "last_error": answer.error}
        delay = None if answer.ok else retry_delay(settings.schedule, claimed.attempts)
        if answer.ok or delay is None or not claimed.row.active:
            # delivered, or dead-lettered: either way the lane goes on with its next event
            outcomes.finished.append({**outcome, "finished_at": utcnow(),
                                      "status": "delivered" if answer.ok else "dead"})
        else:
            outcomes.failed.append({**outcome, "status": "pending",
                                    "next_attempt_at": utcnow() + timedelta(seconds=delay)})
    return outcomes


def _send(settings: DeliverySettings, claimed: _Claimed, targets: dict[int, Target | str],
          now: datetime) -> Answer:
    row = claimed.row
    if not row.active:  # switched off since: nothing is sent, the lane goes on
        return Answer(False, None, 0, None, "the subscription is switched off")
    # The URL's address is checked again once a batch (not once a send).
    target = targets.get(row.subscription_id)
    if target is None:
        try:
            target = check_target(row.url, allow_http=settings.allow_http,
                                  allowed_networks=settings.allowed_networks)
        except ValidationFailed as exc:
            target = exc.problems[0].message
        targets[row.subscription_id] = target
    if isinstance(target, str):
        return Answer(False, None, 0, None, target)
    return post(target, message_id=webhook_id_of(row.event_id), timestamp=now, body=body_of(row),
                secrets=signing_secrets(row, now), timeout=settings.timeout)


# --- replay ---------------------------------------------------------------------------------


def replay(session: Session, *, event_ids: Iterable[int] = (), since: datetime | None = None,
           subscription_id: int | None = None) -> list[WebhookDelivery]:
    """Send events again: the ones named, or every event since ``since``, to every active
    subscription that wants it (or only ``subscription_id``). New deliveries, sent after
    the commit, each after what its lane still has to send."""
    query = sa.select(OutboxEvent).order_by(OutboxEvent.id)
    ids = list(event_ids)
    if ids:
        query = query.where(OutboxEvent.id.in_(ids))
    elif since is not None:
        query = query.where(OutboxEvent.occurred_at >= since)
    else:
        raise ValidationFailed.single("since", "name events to replay, or a time since when")
    subscriptions = session.scalars(sa.select(WebhookSubscription).where(
        WebhookSubscription.active.is_(True),
        *([WebhookSubscription.id == subscription_id] if subscription_id else []))).all()
    made = []
    for event in session.scalars(query):
        for subscription in subscriptions:
            if subscription.wants(event.name):
                made.append(WebhookDelivery(subscription_id=subscription.id, event_id=event.id,
                                            lane=lane_of(subscription.id, event),
                                            status="pending", attempts=0,
                                            next_attempt_at=utcnow(), replay_of=event.id))
    session.add_all(made)
    session.flush()
    lanes = {d.lane for d in made}
    after_commit(session, lambda: _wake_lanes(lanes))
    return made


#: Lanes of one subscription handed to one delivery job (one queue message, one read of
#: the parameters), so a slow endpoint holds up only its own lanes.
LANES_PER_JOB = 10


def _wake_lanes(lanes: Iterable[str]) -> None:
    from flask import current_app, has_app_context

    if not has_app_context():
        return
    service = jobs_of(current_app._get_current_object())  # type: ignore[attr-defined]
    by_subscription: dict[str, list[str]] = {}
    for lane in sorted(lanes):
        by_subscription.setdefault(lane.split(":", 1)[0], []).append(lane)
    for group in by_subscription.values():
        for start in range(0, len(group), LANES_PER_JOB):
            service.wake(DELIVER, lanes=group[start:start + LANES_PER_JOB])


# --- the jobs -----------------------------------------------------------------------------


def dispatch_job(context: JobContext) -> None:
    lanes = dispatch(context.session)
    _wake_lanes(lanes)


def deliver_job(context: JobContext, lanes: Sequence[str] = (), lane: str | None = None) -> None:
    from flask import current_app

    service = jobs_of(current_app._get_current_object())  # type: ignore[attr-defined]
    session = context.session
    # read in the transaction of the first lane's claim
    settings = DeliverySettings.read(session, context.registry)
    for one in [*lanes, *([lane] if lane else [])]:
        def wake_later(delay: float, one: str = one) -> None:
            service.wake(DELIVER, delay=max(delay, 0.05), lanes=[one])

        try:
            deliver_lane(session, context.registry, one, wake=wake_later, settings=settings)
        except Exception:  # one lane's failure leaves the others to go on; the sweep retries
            session.rollback()
            log.exception("delivering webhook lane %s failed", one)


def sweep_job(context: JobContext) -> None:
    """Dispatch what is left, and wake every lane with a delivery due (a lost wake-up, a
    worker killed in the middle of an attempt)."""
    session = context.session
    lanes = dispatch(session)
    now = utcnow()
    due = session.scalars(
        sa.select(WebhookDelivery.lane).where(sa.or_(
            sa.and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
            sa.and_(WebhookDelivery.status == "delivering",
                    WebhookDelivery.claimed_until < now))).distinct().limit(1000)).all()
    session.commit()
    _wake_lanes({*lanes, *due})


JOBS = [
    Job(DISPATCH, dispatch_job, retries=0,
        description="Make the webhook deliveries of new outbox events."),
    Job(DELIVER, deliver_job, retries=0,
        description="Send the webhook deliveries of some lanes, each lane in order."),
    PeriodicTask(SWEEP, sweep_job, every_parameter="core.webhooks_sweep_seconds",
                 description="Dispatch left-over events; wake lanes with deliveries due."),
]
