"""Idempotency keys bound to the request they came with.

A client that retries a create with the same ``Idempotency-Key`` gets the first result;
a client that sends the same key with a *different* body made a mistake (or two clients
share a key), and gets a 422 instead of the other request's result. The row of
``core_idempotency_key`` is written in the transaction that creates the record, so a
key is bound exactly when its record exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from erpkit.db import Base, utcnow
from erpkit.problems import ValidationFailed


class IdempotencyKey(Base):
    """A used key (scoped by its caller: ``api:<user id>:<key>``) and its body's hash."""

    __tablename__ = "core_idempotency_key"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def fingerprint(body: Mapping[str, Any]) -> str:
    """A hash of a request body as loaded (key order and spacing do not matter)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_same_request(session: Session, key: str, body_fingerprint: str) -> None:
    """422 on ``Idempotency-Key`` when ``key`` was used with another body."""
    used = session.get(IdempotencyKey, key)
    if used is not None and used.fingerprint != body_fingerprint:
        raise ValidationFailed.single(
            "Idempotency-Key", "this key was already used with a different request body. "
            "Fix: send a new key for a new request; resend the same body to retry.",
            code="idempotency_mismatch")


def bind(session: Session, key: str, body_fingerprint: str) -> None:
    """Record ``key`` with its body, in the transaction creating the record."""
    session.add(IdempotencyKey(key=key, fingerprint=body_fingerprint))
