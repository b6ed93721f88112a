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
import json
import logging
import random
import secrets as random_secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.jobs import WORKER_NAME, Job, JobContext, PeriodicTask, jobs_of
from erpkit.problems import ValidationFailed
from erpkit.transitions import after_commit
from erpkit.webhook_models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from erpkit.webhook_sender import post
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


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
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


# --- delivering: one lane, one delivery after the other --------------------------------------


def _head(session: Session, lane: str) -> WebhookDelivery | None:
    return session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.lane == lane,
               WebhookDelivery.status.in_(("pending", "delivering")))
        .order_by(WebhookDelivery.id).limit(1)).first()


def _claim(session: Session, delivery_id: int, now: datetime, hold: timedelta) -> bool:
    claimed = session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id,
               sa.or_(sa.and_(WebhookDelivery.status == "pending",
                              WebhookDelivery.next_attempt_at <= now),
                      sa.and_(WebhookDelivery.status == "delivering",
                              WebhookDelivery.claimed_until < now)))
        .values(status="delivering", claimed_until=now + hold, claimed_by=WORKER_NAME,
                attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False))
    session.commit()
    return getattr(claimed, "rowcount", 0) == 1


def body_of(event: OutboxEvent) -> str:
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
                 wake: Any = None) -> int:
    """Send the due deliveries of ``lane`` in order; the number sent successfully.

    Stops at a delivery that must wait (its retry is due later: ``wake(delay)`` asks to
    be woken then) or that another worker holds.
    """
    parameters = registry.parameters
    sent = 0
    while True:
        head = _head(session, lane)
        if head is None:
            session.commit()
            return sent
        now = utcnow()
        timeout = float(parameters.get(session, "core.webhooks_timeout_seconds"))
        schedule = list(parameters.get(session, "core.webhooks_retry_schedule"))
        if head.status == "pending" and head.next_attempt_at > now:
            if wake:
                wake((head.next_attempt_at - now).total_seconds())
            session.commit()
            return sent
        delivery_id = head.id
        if not _claim(session, delivery_id, now, timedelta(seconds=timeout) + CLAIM_MARGIN):
            return sent  # another worker has it; it goes on with the lane
        delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
        assert delivery is not None
        event = session.get(OutboxEvent, delivery.event_id)
        subscription = session.get(WebhookSubscription, delivery.subscription_id)
        assert event is not None and subscription is not None
        outcome = _attempt(session, registry, delivery, event, subscription, timeout)
        if outcome.ok:
            delivery.status, delivery.finished_at = "delivered", utcnow()
            sent += 1
        else:
            delay = retry_delay(schedule, delivery.attempts)
            if delay is None or not subscription.active:
                delivery.status, delivery.finished_at = "dead", utcnow()
            else:
                delivery.status = "pending"
                delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
        delivery.claimed_until = None
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        session.commit()


def _attempt(session: Session, registry: Registry, delivery: WebhookDelivery,
             event: OutboxEvent, subscription: WebhookSubscription, timeout: float) -> Any:
    now = utcnow()
    answer = _send(session, registry, event, subscription, now, timeout)
    session.add(WebhookAttempt(delivery_id=delivery.id, number=delivery.attempts, at=now,
                               status_code=answer.status_code, latency_ms=answer.latency_ms,
                               ok=answer.ok, error=answer.error,
                               response_excerpt=answer.excerpt, worker=WORKER_NAME))
    return answer


def _send(session: Session, registry: Registry, event: OutboxEvent,
          subscription: WebhookSubscription, now: datetime, timeout: float) -> Any:
    from erpkit.webhook_sender import Answer

    if not subscription.active:  # switched off since: nothing is sent, the lane goes on
        return Answer(False, None, 0, None, "the subscription is switched off")
    try:
        target = _target(session, registry, subscription.url)
    except ValidationFailed as exc:
        return Answer(False, None, 0, None, exc.problems[0].message)
    return post(target, message_id=event.webhook_id, timestamp=now, body=body_of(event),
                secrets=signing_secrets(subscription, now), timeout=timeout)


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


def _wake_lanes(lanes: Iterable[str]) -> None:
    from flask import current_app, has_app_context

    if not has_app_context():
        return
    service = jobs_of(current_app._get_current_object())  # type: ignore[attr-defined]
    for lane in lanes:
        service.wake(DELIVER, lane=lane)


# --- the jobs -----------------------------------------------------------------------------


def dispatch_job(context: JobContext) -> None:
    lanes = dispatch(context.session)
    _wake_lanes(sorted(lanes))


def deliver_job(context: JobContext, lane: str) -> None:
    def wake_later(delay: float) -> None:
        from flask import current_app

        jobs_of(current_app._get_current_object()).wake(  # type: ignore[attr-defined]
            DELIVER, delay=max(delay, 0.05), lane=lane)

    deliver_lane(context.session, context.registry, lane, wake=wake_later)


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
    _wake_lanes(sorted({*lanes, *due}))


JOBS = [
    Job(DISPATCH, dispatch_job, retries=0,
        description="Make the webhook deliveries of new outbox events."),
    Job(DELIVER, deliver_job, retries=0,
        description="Send one lane's webhook deliveries in order."),
    PeriodicTask(SWEEP, sweep_job, every_parameter="core.webhooks_sweep_seconds",
                 description="Dispatch left-over events; wake lanes with deliveries due."),
]
