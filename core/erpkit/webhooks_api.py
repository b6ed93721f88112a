"""``/api/webhooks``: the event catalogue, subscriptions, deliveries and their attempts,
replay and secret rotation (admins: permission ``core.webhooks``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from marshmallow import Schema, fields, validate

from erpkit.api import Blueprint
from erpkit.db import db
from erpkit.events import catalogue
from erpkit.plugins import current_registry
from erpkit.schemas import Cursor, Identifier, PageSize, one_page, page_schema
from erpkit.transitions import get_or_404
from erpkit.webhook_models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from erpkit.webhooks import change, replay, rotate_secret, subscribe


class _Strict(Schema):
    class Meta:
        unknown = "raise"


class EventTypeOut(Schema):
    name = fields.String()
    version = fields.Integer()
    description = fields.String()
    schema = fields.String(metadata={"description": "The payload's schema in the OpenAPI "
                                                    "document's components."})


class SubscriptionIn(_Strict):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.Length(min=1, max=120)),
                         required=True, metadata={"description": "Event names, or ['*']."})
    description = fields.String(load_default="", validate=validate.Length(max=200))
    active = fields.Boolean(load_default=True)


class SubscriptionChange(_Strict):
    url = fields.String(validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.Length(min=1, max=120)))
    description = fields.String(validate=validate.Length(max=200))
    active = fields.Boolean()


class SubscriptionOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    previous_secret_until = fields.DateTime(allow_none=True)


class SubscriptionWithSecret(SubscriptionOut):
    secret = fields.String(metadata={"description": "Shown once: keep it to verify "
                                                    "signatures (Standard Webhooks)."})


class RotateIn(_Strict):
    overlap_hours = fields.Integer(load_default=24, validate=validate.Range(min=0, max=720),
                                   metadata={"description": "How long the old secret "
                                                            "also signs."})


class PageQuery(_Strict):
    after = Cursor(metadata={"description": "The `next` of the previous page."})
    limit = PageSize()


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(
        ["pending", "delivering", "delivered", "dead"]))


class DeliveryOut(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    event_id = fields.Integer()
    event = fields.String()
    webhook_id = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    replay_of = fields.Integer(allow_none=True)


class DeliveryPage(Schema):
    items = fields.List(fields.Nested(DeliveryOut))
    next = fields.Integer(allow_none=True, metadata={
        "description": "Pass as `after` for the next page; null on the last page. No "
                       "total is counted."})


SubscriptionPage = page_schema("SubscriptionPage", SubscriptionOut, fields.Integer)


class AttemptOut(Schema):
    id = fields.Integer()
    number = fields.Integer()
    at = fields.DateTime()
    ok = fields.Boolean()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer()
    error = fields.String(allow_none=True)
    response_excerpt = fields.String(allow_none=True)
    worker = fields.String(allow_none=True)


AttemptPage = page_schema("AttemptPage", AttemptOut, fields.Integer)


class ReplayIn(_Strict):
    event_ids = fields.List(Identifier(), validate=validate.Length(max=1000))
    since = fields.AwareDateTime(metadata={"description": "Every event since (ISO 8601 "
                                                          "with a zone)."})
    subscription_id = Identifier(allow_none=True)


class ReplayOut(Schema):
    deliveries = fields.Integer()


def _delivery_out(delivery: WebhookDelivery, event: OutboxEvent) -> dict[str, Any]:
    return {**{c: getattr(delivery, c) for c in DeliveryOut._declared_fields
               if hasattr(delivery, c)}, "event": event.name, "webhook_id": event.webhook_id}


def webhooks_blueprint() -> Blueprint:
    blp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks",
                    description="Webhooks: the event catalogue, subscriptions, deliveries, "
                                "replay.", permission="core.webhooks")

    def _subscription(subscription_id: int) -> WebhookSubscription:
        return get_or_404(db.session, WebhookSubscription, subscription_id,
                          what="webhook subscription", field="subscription")

    @blp.get("/events")
    @blp.response(200, EventTypeOut(many=True))
    def events() -> Any:
        """The event catalogue: every event this installation can send (the OpenAPI
        document's ``webhooks`` describe each payload)."""
        # A list, not a page: the installed plugins' declarations bound it, not the data.
        name_of = current_app.extensions["erpkit.api"].ma_plugin.schema_name_resolver
        return [{"name": e.name, "version": e.version, "description": e.description,
                 "schema": name_of(e.schema)}
                for e in catalogue(current_registry()).values()]

    @blp.get("/subscriptions")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, SubscriptionPage)
    def list_subscriptions(query: dict[str, Any]) -> Any:
        """The endpoints, oldest first, a page at a time."""
        select = (sa.select(WebhookSubscription).order_by(WebhookSubscription.id)
                  .limit(query["limit"] + 1))
        if "after" in query:
            select = select.where(WebhookSubscription.id > query["after"])
        return one_page(db.session.scalars(select).all(), query["limit"], lambda s: s.id)

    @blp.post("/subscriptions")
    @blp.arguments(SubscriptionIn)
    @blp.response(201, SubscriptionWithSecret)
    def create_subscription(data: dict[str, Any]) -> Any:
        """Register an endpoint; the answer shows its secret (once)."""
        made = subscribe(db.session, current_registry(), **data)
        db.session.commit()
        return made

    @blp.get("/subscriptions/<int:subscription_id>")
    @blp.response(200, SubscriptionOut)
    def fetch_subscription(subscription_id: int) -> Any:
        return _subscription(subscription_id)

    @blp.patch("/subscriptions/<int:subscription_id>")
    @blp.arguments(SubscriptionChange)
    @blp.response(200, SubscriptionOut)
    def change_subscription(data: dict[str, Any], subscription_id: int) -> Any:
        changed = change(db.session, current_registry(), _subscription(subscription_id), data)
        db.session.commit()
        return changed

    @blp.delete("/subscriptions/<int:subscription_id>")
    @blp.response(204)
    def delete_subscription(subscription_id: int) -> Any:
        db.session.delete(_subscription(subscription_id))
        db.session.commit()

    @blp.post("/subscriptions/<int:subscription_id>/rotate-secret")
    @blp.arguments(RotateIn)
    @blp.response(200, SubscriptionWithSecret)
    def rotate(data: dict[str, Any], subscription_id: int) -> Any:
        """A new secret; the old one also signs for ``overlap_hours``."""
        subscription = _subscription(subscription_id)
        rotate_secret(subscription, timedelta(hours=data["overlap_hours"]))
        db.session.commit()
        return subscription

    @blp.get("/subscriptions/<int:subscription_id>/deliveries")
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliveryPage)
    def deliveries(query: dict[str, Any], subscription_id: int) -> Any:
        """This endpoint's deliveries, newest first, one page (keyset, no count)."""
        _subscription(subscription_id)
        select = (sa.select(WebhookDelivery, OutboxEvent)
                  .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                  .where(WebhookDelivery.subscription_id == subscription_id)
                  .order_by(WebhookDelivery.id.desc()).limit(query["limit"] + 1))
        if "after" in query:
            select = select.where(WebhookDelivery.id < query["after"])
        if "status" in query:
            select = select.where(WebhookDelivery.status == query["status"])
        rows = db.session.execute(select).all()
        items = [_delivery_out(d, e) for d, e in rows[:query["limit"]]]
        more = len(rows) > query["limit"]
        return {"items": items, "next": items[-1]["id"] if more else None}

    @blp.get("/deliveries/<int:delivery_id>/attempts")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, AttemptPage)
    def attempts(query: dict[str, Any], delivery_id: int) -> Any:
        """Each attempt of a delivery, first first, a page at a time: status, latency,
        what the receiver answered."""
        get_or_404(db.session, WebhookDelivery, delivery_id, what="delivery", field="delivery")
        # Attempts are made one after another, so id order is attempt-number order; the
        # delivery_id index finds them.
        select = (sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                  .order_by(WebhookAttempt.id).limit(query["limit"] + 1))
        if "after" in query:
            select = select.where(WebhookAttempt.id > query["after"])
        return one_page(db.session.scalars(select).all(), query["limit"], lambda a: a.id)

    @blp.post("/replay")
    @blp.arguments(ReplayIn)
    @blp.response(202, ReplayOut)
    def replay_events(data: dict[str, Any]) -> Any:
        """Send events again (``event_ids``, or every event ``since``), to every active
        subscription that wants them, or to ``subscription_id`` only."""
        made = replay(db.session, event_ids=data.get("event_ids") or (),
                      since=data.get("since"), subscription_id=data.get("subscription_id"))
        db.session.commit()
        return {"deliveries": len(made)}

    return blp
