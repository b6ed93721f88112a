"""Personal data: export one customer's as JSON, and erase it.

Erasure anonymises the person and keeps the business figures whole: the customer row
and its orders stay (totals, lines, dates, statuses: revenue reports do not move), while
names, e-mail, phone, addresses, contacts, notes, interaction summaries, preferences,
tags and the orders' ship-to fields are cleared or replaced by ``erased-<id>``. Both are
audited in the core's audit log (who, when; never the data itself).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.models import audit
from erpkit_crm import credit, history, profiles
from erpkit_crm.models import Contact, DefaultAddress, Interaction, Note, Tag
from erpkit_orders.models import Address, Order

SHIP_TO = ("ship_to_name", "ship_to_address", "ship_to_city", "ship_to_postal_code",
           "ship_to_region")


def export(session: Session, customer_id: int, *, actor: str | None) -> dict[str, Any]:
    """Everything erpkit holds about the person, JSON-ready; audited."""
    customer = profiles.customer_or_refuse(session, customer_id)
    profile = profiles.profile_of(session, customer_id)
    account = credit.credit_of(session, customer_id)
    data = {
        "customer": {"id": customer.id, "name": customer.name, "email": customer.email,
                     "phone": customer.phone, "code": customer.code,
                     "country": customer.country, "region": customer.region,
                     "city": customer.city, "postal_code": customer.postal_code,
                     "address": customer.address},
        "addresses": profiles.addresses(session, customer),
        "contacts": [{"name": c.name, "role": c.role, "email": c.email, "phone": c.phone}
                     for c in profiles.contacts(session, customer_id)],
        "tags": profiles.tags_of(session, customer_id),
        "preferences": profile.preferences or {},
        "notes": [{"at": n.at.isoformat(), "author": n.author, "text": n.text}
                  for n in profiles.notes(session, customer_id, limit=10_000)],
        "interactions": [{"at": i.at.isoformat(), "kind": i.kind, "actor": i.actor,
                          "summary": i.summary}
                         for i in profiles.interactions(session, customer_id, limit=10_000)],
        "credit": {"limit": None if account.limit is None else str(account.limit),
                   "open_balance": str(account.open_balance)},
        "orders": [{"number": o.number, "ordered_at": o.ordered_at.isoformat(),
                    "status": o.status, "total": str(o.total), "currency": o.currency,
                    **{name: getattr(o, name) for name in SHIP_TO}}
                   for o in history.orders(session, customer_id, limit=100_000)],
        "exported_at": utcnow().isoformat(),
    }
    audit(session, actor=actor, entity="crm_personal_data", entity_id=str(customer_id),
          action="export")
    return data


def erase(session: Session, customer_id: int, *, actor: str | None) -> None:
    """Anonymise the person (see the module docstring); audited. The caller commits."""
    customer = profiles.customer_or_refuse(session, customer_id)
    profile = profiles.profile_of(session, customer_id)
    placeholder = f"erased-{customer_id}"
    customer.name = placeholder
    for name in ("email", "phone", "city", "postal_code", "address", "code"):
        setattr(customer, name, None)
    session.execute(sa.delete(DefaultAddress).where(DefaultAddress.customer_id == customer_id))
    session.execute(sa.delete(Address).where(Address.customer_id == customer_id))
    session.execute(sa.delete(Contact).where(Contact.customer_id == customer_id))
    session.execute(sa.delete(Note).where(Note.customer_id == customer_id))
    session.execute(sa.delete(Tag).where(Tag.customer_id == customer_id))
    session.execute(sa.update(Interaction).where(Interaction.customer_id == customer_id)
                    .values(summary="(erased)"))
    # The orders keep every figure; only where they went, and to whom, goes.
    session.execute(sa.update(Order).where(Order.customer_id == customer_id)
                    .values({**{name: None for name in SHIP_TO}, "note": None,
                             "version": Order.version + 1})
                    .execution_options(synchronize_session=False))
    profile.preferences = {}
    profile.erased_at = utcnow()
    session.expire(customer, ["addresses"])
    audit(session, actor=actor, entity="crm_personal_data", entity_id=str(customer_id),
          action="erase")
