"""Customer profiles: group, tags, preferences, contacts, default addresses, notes and the
interaction log, all keyed by orders' customer id. The caller commits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import ValidationFailed
from erpkit.parameters import get_value
from erpkit_crm import preferences
from erpkit_crm.models import (
    Contact,
    CustomerGroup,
    DefaultAddress,
    Interaction,
    Note,
    Profile,
    Tag,
)
from erpkit_orders.models import Address, Customer


def customer_or_refuse(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise ValidationFailed.single("customer_id", f"unknown customer {customer_id}",
                                      code="not_found")
    return customer


def profile_of(session: Session, customer_id: int) -> Profile:
    """The customer's profile, made empty on first use."""
    profile = session.get(Profile, customer_id)
    if profile is None:
        customer_or_refuse(session, customer_id)
        profile = Profile(customer_id=customer_id, preferences={})
        session.add(profile)
        session.flush()
    return profile


def definitions(session: Session) -> list[Mapping[str, Any]]:
    return list(get_value(session, "crm.preference_attributes") or [])


def set_preferences(session: Session, customer_id: int, values: Mapping[str, Any]) -> Profile:
    """Validate and store preference values (``None`` removes one)."""
    cleaned = preferences.validate_preferences(definitions(session), values)
    profile = profile_of(session, customer_id)
    profile.preferences = preferences.merge(profile.preferences or {}, cleaned)
    return profile


def group_by_code(session: Session, code: str) -> CustomerGroup:
    group = session.scalar(sa.select(CustomerGroup).where(CustomerGroup.code == code))
    if group is None:
        raise ValidationFailed.single("group", f"unknown customer group {code!r}",
                                      code="not_found")
    return group


def set_group(session: Session, customer_id: int, code: str | None) -> Profile:
    profile = profile_of(session, customer_id)
    profile.group_id = group_by_code(session, code).id if code else None
    return profile


def tags_of(session: Session, customer_id: int) -> list[str]:
    return list(session.scalars(sa.select(Tag.tag).where(Tag.customer_id == customer_id)
                                .order_by(Tag.tag)))


def set_tags(session: Session, customer_id: int, tags: list[str]) -> list[str]:
    profile_of(session, customer_id)
    wanted = sorted({t.strip().lower() for t in tags if t.strip()})
    session.execute(sa.delete(Tag).where(Tag.customer_id == customer_id))
    session.add_all(Tag(customer_id=customer_id, tag=t) for t in wanted)
    session.flush()
    return wanted


def add_contact(session: Session, customer_id: int, data: Mapping[str, Any]) -> Contact:
    customer_or_refuse(session, customer_id)
    contact = Contact(customer_id=customer_id, **data)
    session.add(contact)
    session.flush()
    return contact


def add_note(session: Session, customer_id: int, text: str, *, author: str | None) -> Note:
    customer_or_refuse(session, customer_id)
    note = Note(customer_id=customer_id, text=text, author=author)
    session.add(note)
    session.flush()
    return note


def log_interaction(session: Session, customer_id: int, data: Mapping[str, Any], *,
                    actor: str | None) -> Interaction:
    customer_or_refuse(session, customer_id)
    entry = Interaction(customer_id=customer_id, actor=data.get("actor") or actor,
                        kind=data["kind"], summary=data["summary"])
    if data.get("at"):
        entry.at = data["at"]
    session.add(entry)
    session.flush()
    return entry


def set_default_address(session: Session, customer_id: int, kind: str,
                        address_id: int) -> DefaultAddress:
    address = session.get(Address, address_id)
    if address is None or address.customer_id != customer_id:
        raise ValidationFailed.single("address_id", f"customer {customer_id} has no address "
                                      f"{address_id}", code="not_found")
    row = session.get(DefaultAddress, (customer_id, kind))
    if row is None:
        row = DefaultAddress(customer_id=customer_id, kind=kind, address_id=address_id)
        session.add(row)
    row.address_id = address_id
    session.flush()
    return row


def addresses(session: Session, customer: Customer) -> list[dict[str, Any]]:
    """The customer's addresses, each saying whether it is the default for its kind."""
    defaults = {row.address_id: row.kind for row in session.scalars(
        sa.select(DefaultAddress).where(DefaultAddress.customer_id == customer.id))}
    return [{"id": a.id, "kind": a.kind, "line1": a.line1, "line2": a.line2, "city": a.city,
             "postcode": a.postcode, "country": a.country,
             "default": defaults.get(a.id) == a.kind} for a in customer.addresses]


def contacts(session: Session, customer_id: int) -> list[Contact]:
    return list(session.scalars(sa.select(Contact).where(Contact.customer_id == customer_id)
                                .order_by(Contact.id)))


def notes(session: Session, customer_id: int, limit: int = 50) -> list[Note]:
    return list(session.scalars(sa.select(Note).where(Note.customer_id == customer_id)
                                .order_by(Note.at.desc(), Note.id.desc()).limit(limit)))


def interactions(session: Session, customer_id: int, limit: int = 50) -> list[Interaction]:
    return list(session.scalars(
        sa.select(Interaction).where(Interaction.customer_id == customer_id)
        .order_by(Interaction.at.desc(), Interaction.id.desc()).limit(limit)))
