"""Carrier webhooks, signed the Standard Webhooks way (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``), one secret per carrier.

Verification is the ``standardwebhooks`` package's (HMAC-SHA256 over id, timestamp and
body; timestamps more than five minutes off refused): a request it does not accept is
refused with 401 before anything is read or stored.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from erpkit.problems import Problem, ValidationFailed
from erpkit_logistics.models import Carrier
from erpkit_logistics.schemas import CarrierEventInSchema, WebhookBodySchema
from erpkit_logistics.tracking import CarrierEvent


class SignatureRefused(Exception):
    """The request is not signed with the carrier's secret (or is too old, or malformed)."""


def verified_body(session: Session, carrier_code: str, body: bytes,
                  headers: Mapping[str, str]) -> tuple[Carrier, Any]:
    """The carrier and its parsed JSON body, when the signature is its own."""
    carrier = session.scalar(sa.select(Carrier).where(Carrier.code == carrier_code,
                                                      Carrier.active.is_(True)))
    # An unknown carrier and a wrong signature look the same to the caller.
    if carrier is None or not carrier.webhook_secret:
        raise SignatureRefused("unknown carrier or no webhook secret")
    try:
        return carrier, Webhook(carrier.webhook_secret).verify(body, dict(headers))
    except (WebhookVerificationError, ValueError, binascii.Error, TypeError) as exc:
        raise SignatureRefused(str(exc)) from None


def parse_events(payload: Any, *, default_id: str | None = None) -> list[CarrierEvent]:
    """Events from a body ``{"events": [...]}`` or a single event object; bad fields are
    refused with each one named (422)."""
    if isinstance(payload, dict) and "events" not in payload:
        payload = {"events": [{"id": default_id, **payload} if default_id and "id" not in
                              payload else payload]}
    try:
        data = WebhookBodySchema().load(payload)
    except ValidationError as exc:
        raise ValidationFailed(_problems(exc.messages)) from None
    return [to_event(item) for item in data["events"]]


def to_event(item: Mapping[str, Any]) -> CarrierEvent:
    return CarrierEvent(event_id=item["id"], tracking=item["tracking"], code=item["code"],
                        occurred_at=item["occurred_at"], place=item.get("place"),
                        eta=item.get("eta"), message=item.get("message") or "")


def load_event(row: Mapping[str, Any], line: int) -> CarrierEvent:
    """One event from an import file's row; problems name the file line."""
    try:
        return to_event(CarrierEventInSchema().load(
            {k: v for k, v in row.items() if v not in ("", None)}))
    except ValidationError as exc:
        raise ValidationFailed([Problem(field=p.field, message=p.message, line=line)
                                for p in _problems(exc.messages)]) from None


def _problems(messages: Any, prefix: str = "") -> list[Problem]:
    found: list[Problem] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            found.extend(_problems(value, f"{prefix}{key}." if prefix or key else ""))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found.append(Problem(field=prefix.rstrip(".") or "_schema", message="; ".join(messages)))
    elif isinstance(messages, list):
        for message in messages:
            found.extend(_problems(message, prefix))
    else:
        found.append(Problem(field=prefix.rstrip(".") or "_schema", message=str(messages)))
    return found
