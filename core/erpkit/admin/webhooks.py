"""The console's webhook pages: subscriptions (secret shown once, rotation), deliveries
with their replay, and the log of attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import flash
from flask_admin.actions import action
from wtforms import StringField
from wtforms.validators import InputRequired, ValidationError

from erpkit.admin.audited import AuditedModelView
from erpkit.admin.contrib import ModelView
from erpkit.db import db
from erpkit.plugins import current_registry
from erpkit.problems import ValidationFailed
from erpkit.webhook_models import WebhookDelivery, WebhookSubscription
from erpkit.webhooks import _check_events, _target, new_secret, replay, rotate_secret


class SubscriptionView(AuditedModelView):
    """Endpoints: URL (checked), events (comma-separated names or ``*``), on or off."""

    audit_entity = "webhook_subscription"
    column_list = ("id", "url", "events", "active", "description", "created_at")
    form_columns = ("url", "event_names", "description", "active")
    form_extra_fields = {"event_names": StringField(
        "Events", validators=[InputRequired()],
        description="Comma-separated event names (order.confirmed, ...), or * for all.")}
    column_default_sort = ("id", True)

    def audit_snapshot(self, model: Any) -> dict[str, Any]:
        return {"url": model.url, "events": list(model.events or []), "active": model.active,
                "description": model.description}

    def on_form_prefill(self, form: Any, id: Any) -> None:
        model = db.session.get(WebhookSubscription, int(id))
        if model is not None:
            form.event_names.data = ", ".join(model.events or [])

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        registry = current_registry()
        try:
            _target(db.session, registry, model.url)
            names = [n.strip() for n in (form.event_names.data or "").split(",") if n.strip()]
            model.events = _check_events(registry, names)
        except ValidationFailed as exc:
            raise ValidationError("; ".join(p.message for p in exc.problems)) from None
        model.description = model.description or ""
        if is_created:
            model.secret = new_secret()
            flash(f"Secret of this endpoint (shown once): {model.secret}", "info")
        super().on_model_change(form, model, is_created)

    @action("rotate", "Rotate secret (old one signs 24 h more)")
    def rotate(self, ids: list[str]) -> None:
        for subscription in db.session.scalars(sa.select(WebhookSubscription).where(
                WebhookSubscription.id.in_([int(i) for i in ids]))):
            secret = rotate_secret(subscription, timedelta(hours=24))
            flash(f"New secret of webhook {subscription.id} (shown once): {secret}", "info")
        db.session.commit()


class DeliveryView(ModelView):
    """Every delivery of an event to an endpoint; replay selected ones."""

    can_create = can_edit = can_delete = False
    can_view_details = True
    simple_list_pager = True  # no COUNT(*) over a table that only grows
    column_list = ("id", "subscription_id", "event_id", "status", "attempts",
                   "last_status_code", "last_error", "next_attempt_at", "created_at",
                   "finished_at", "replay_of")
    column_filters = ("status", "subscription_id", "event_id", "created_at")
    column_default_sort = ("id", True)

    @action("replay", "Send again")
    def replay_selected(self, ids: list[str]) -> None:
        chosen = db.session.execute(sa.select(WebhookDelivery.event_id,
                                              WebhookDelivery.subscription_id)
                                    .where(WebhookDelivery.id.in_([int(i) for i in ids]))).all()
        made = 0
        for event_id, subscription_id in chosen:
            made += len(replay(db.session, event_ids=[event_id],
                               subscription_id=subscription_id))
        db.session.commit()
        flash(f"{made} deliveries queued again", "success")


class AttemptView(ModelView):
    """The log of attempts: status, latency, the receiver's answer."""

    can_create = can_edit = can_delete = False
    simple_list_pager = True
    column_list = ("id", "delivery_id", "number", "at", "ok", "status_code", "latency_ms",
                   "error", "response_excerpt", "worker")
    column_filters = ("delivery_id", "ok", "status_code", "at")
    column_default_sort = ("id", True)
