"""The tables of the outbox and of webhook delivery.

``core_outbox_event`` is written in the transaction of the change it describes, so an
event exists exactly when its change committed. ``core_webhook_delivery`` is the record
of truth of one event going to one subscription (huey only carries "look at this lane");
``core_webhook_attempt`` logs each try.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from erpkit.db import Base, utcnow


def webhook_id_of(event_id: int) -> str:
    """The ``webhook-id`` of event ``event_id``: the same on every attempt and replay."""
    return f"evt_{event_id}"


class OutboxEvent(Base):
    """One event, written with the change it describes."""

    __tablename__ = "core_outbox_event"
    __table_args__ = (sa.Index("ix_core_outbox_event_dispatched_id", "dispatched", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    version: Mapped[int] = mapped_column(default=1)
    # Events of one order are delivered in order; other events each stand alone.
    order_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # False until a dispatcher made its deliveries (one per matching subscription).
    dispatched: Mapped[bool] = mapped_column(default=False)

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` of this event: the same on every attempt and replay."""
        return webhook_id_of(self.id)


class WebhookSubscription(Base):
    """An endpoint an admin registered: where, which events, the secret, on or off."""

    __tablename__ = "core_webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    # Event names, or ["*"] for every event.
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    secret: Mapped[str] = mapped_column(sa.String(200))
    # After a rotation the old secret also signs until previous_secret_until.
    previous_secret: Mapped[str | None] = mapped_column(sa.String(200))
    previous_secret_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def wants(self, event_name: str) -> bool:
        return self.active and ("*" in self.events or event_name in self.events)

    def __str__(self) -> str:
        return f"webhook {self.id} ({self.url})"


class WebhookDelivery(Base):
    """One event going to one subscription: pending, delivering, delivered or dead.

    ``lane`` groups the deliveries that must go one after the other: the events of one
    order to one subscription. A delivery is tried only when no earlier delivery of its
    lane is still pending or delivering.
    """

    __tablename__ = "core_webhook_delivery"
    __table_args__ = (
        sa.Index("ix_core_webhook_delivery_lane_status", "lane", "status", "id"),
        sa.Index("ix_core_webhook_delivery_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("core_webhook_subscription.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("core_outbox_event.id",
                                                        ondelete="CASCADE"), index=True)
    lane: Mapped[str] = mapped_column(sa.String(80))
    # pending | delivering | delivered | dead
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A claim that outlives this time belongs to a worker that died: it may be taken over.
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    replay_of: Mapped[int | None]


class WebhookAttempt(Base):
    """One try of a delivery: when, the answer's status, how long, what it said."""

    __tablename__ = "core_webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("core_webhook_delivery.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(sa.Text)
    response_excerpt: Mapped[str | None] = mapped_column(sa.String(500))
    worker: Mapped[str | None] = mapped_column(sa.String(120))


MODELS = (OutboxEvent, WebhookSubscription, WebhookDelivery, WebhookAttempt)
