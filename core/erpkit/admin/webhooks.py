"""The console's webhook pages: subscriptions (secret shown once, rotation with an overlap),
deliveries with their replay (chosen ones, or every event since a time), and the log of
attempts. The forms go through the API's schemas and functions, so both refuse and do
the same."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model.template import EndpointLinkRowAction
from marshmallow import ValidationError as SchemaError
from wtforms import StringField
from wtforms.validators import InputRequired, ValidationError

from erpkit.admin.audited import AuditedModelView
from erpkit.admin.contrib import ModelView
from erpkit.db import db
from erpkit.plugins import current_registry
from erpkit.problems import ValidationFailed
from erpkit.webhook_models import WebhookDelivery, WebhookSubscription
from erpkit.webhooks import _check_events, _target, new_secret, replay, rotate_secret
from erpkit.webhooks_api import ReplayIn, RotateIn


def _deliveries(count: int) -> str:
    return f"{count} delivery" if count == 1 else f"{count} deliveries"


def _refusal(error: SchemaError) -> str:
    """A schema's refusal as one line naming each field."""
    messages = error.normalized_messages()
    return "; ".join(f"{name}: {' '.join(map(str, text if isinstance(text, list) else [text]))}"
                     for name, text in messages.items())


class SubscriptionView(AuditedModelView):
    """Endpoints: URL (checked), events (comma-separated names or ``*``), on or off."""

    audit_entity = "webhook_subscription"
    column_list = ("id", "url", "events", "active", "description", "created_at")
    form_columns = ("url", "event_names", "description", "active")
    form_extra_fields = {"event_names": StringField(
        "Events", validators=[InputRequired()],
        description="Comma-separated event names (order.confirmed, ...), or * for all.")}
    column_default_sort = ("id", True)
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-key", ".rotate_form",
                                                      title="Rotate the secret")]

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

    @expose("/rotate/", methods=("GET", "POST"))
    def rotate_form(self) -> Any:
        """A new secret for one endpoint; the old one also signs for the overlap chosen."""
        subscription = db.session.get(WebhookSubscription, request.args.get("id", type=int))
        if subscription is None:
            abort(404, "no such webhook subscription")
        error = secret = None
        overlap = request.form.get("overlap_hours", "24")
        if request.method == "POST":
            try:
                hours = RotateIn().load({"overlap_hours": overlap})["overlap_hours"]
            except SchemaError as exc:
                error = _refusal(exc)
            else:
                secret = rotate_secret(subscription, timedelta(hours=hours))
                db.session.commit()
        return self.render("erpkit/webhook_rotate.html", subscription=subscription,
                           overlap=overlap, error=error, secret=secret,
                           return_url=self.get_url(".index_view"))

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
    list_template = "erpkit/webhook_deliveries_list.html"

    @expose("/replay-since/", methods=("GET", "POST"))
    def replay_since(self) -> Any:
        """Send again every event since a time (UTC), to every endpoint or one."""
        subscriptions = db.session.scalars(sa.select(WebhookSubscription)
                                           .order_by(WebhookSubscription.id)).all()
        error = None
        since = request.form.get("since", "").strip()
        chosen = request.form.get("subscription_id", "")
        if request.method == "POST":
            # A browser's datetime-local has no zone: the form says it is UTC.
            zoned = since.endswith("Z") or "+" in since[10:] or "-" in since[10:]
            try:
                if not since:
                    raise SchemaError({"since": ["Name a time."]})
                data = ReplayIn().load({"since": since if zoned else since + "+00:00",
                                        "subscription_id": chosen or None})
            except SchemaError as exc:
                error = _refusal(exc)
            else:
                made = replay(db.session, since=data["since"],
                              subscription_id=data.get("subscription_id"))
                db.session.commit()
                flash(f"{_deliveries(len(made))} queued again (every event since "
                      f"{data['since'].astimezone(UTC):%Y-%m-%d %H:%M} UTC)", "success")
                return redirect(self.get_url(".index_view"))
        return self.render("erpkit/webhook_replay.html", subscriptions=subscriptions,
                           since=since, chosen=chosen, error=error,
                           return_url=self.get_url(".index_view"))

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
        flash(f"{_deliveries(made)} queued again", "success")


class AttemptView(ModelView):
    """The log of attempts: status, latency, the receiver's answer."""

    can_create = can_edit = can_delete = False
    simple_list_pager = True
    column_list = ("id", "delivery_id", "number", "at", "ok", "status_code", "latency_ms",
                   "error", "response_excerpt", "worker")
    column_filters = ("delivery_id", "ok", "status_code", "at")
    column_default_sort = ("id", True)
