"""The order timeline: every status change and note, who, when and why."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_orders.models import Order, TimelineEvent


def record_event(
    session: Session,
    order: Order,
    *,
    kind: str,
    message: str,
    actor: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    public: bool = False,
    source: str = "orders",
) -> TimelineEvent:
    """Append an event to ``order``'s timeline in the caller's transaction."""
    event = TimelineEvent(order_id=order.id, kind=kind, message=message, actor=actor,
                          from_status=from_status, to_status=to_status, public=public,
                          source=source)
    session.add(event)
    return event


def events(session: Session, order_id: int, *, public_only: bool = False) -> list[TimelineEvent]:
    query = sa.select(TimelineEvent).where(TimelineEvent.order_id == order_id)
    if public_only:
        query = query.where(TimelineEvent.public.is_(True))
    return list(session.scalars(query.order_by(TimelineEvent.id)))
