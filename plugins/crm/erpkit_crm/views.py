"""Read models shared by the API and the console: a customer's whole profile, and the
customer list filtered by segment, group and tag."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.schemas import one_page
from erpkit_crm import credit, history, preferences, profiles, segments
from erpkit_crm.models import CustomerGroup, CustomerScore, Profile, Tag
from erpkit_orders.models import Customer


def score_body(score: CustomerScore | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {"as_of": score.as_of, "segment": score.segment, "rfm_score": score.rfm_score,
            "r_score": score.r_score, "f_score": score.f_score, "m_score": score.m_score,
            "recency_days": score.recency_days, "order_count": score.order_count,
            "lifetime_revenue": credit.from_cents(score.revenue_cents), "clv": score.clv}


def profile_view(session: Session, customer: Customer) -> dict[str, Any]:
    """Profile, preferences (every defined attribute), contacts, addresses, notes,
    interactions, credit, score and suggestions of one customer."""
    profile = session.get(Profile, customer.id)
    group = session.get(CustomerGroup, profile.group_id) if profile and profile.group_id \
        else None
    found = credit.credit_of(session, customer.id)
    return {
        "customer_id": customer.id, "name": customer.name, "email": customer.email,
        "phone": customer.phone, "group": group.code if group else None,
        "tags": profiles.tags_of(session, customer.id),
        "preferences": preferences.shown(profiles.definitions(session),
                                         (profile.preferences if profile else None) or {}),
        "contacts": profiles.contacts(session, customer.id),
        "addresses": profiles.addresses(session, customer),
        "notes": profiles.notes(session, customer.id),
        "interactions": profiles.interactions(session, customer.id),
        "credit": {"limit": found.limit, "limit_source": found.limit_source,
                   "open_orders": found.open_orders, "open_balance": found.open_balance,
                   "exposure": found.exposure, "available": found.available},
        "score": score_body(segments.score_of(session, customer.id)),
        "suggestions": history.due_for(session, customer.id),
        "erased_at": profile.erased_at if profile else None,
    }


#: The cursor of a customer list: ``<revenue in cents>:<customer id>`` while it walks the
#: scored customers, best revenue first; ``unscored:<customer id>`` once it walks the
#: customers no recompute has scored yet, by id.
UNSCORED = "unscored"


def customer_cursor(row: dict[str, Any]) -> str:
    """The ``next`` a page ending with ``row`` gives."""
    if row["rfm_score"] is None:
        return f"{UNSCORED}:{row['customer_id']}"
    return f"{int(row['lifetime_revenue'] * 100)}:{row['customer_id']}"


def customer_page(session: Session, *, segment: str | None = None, group: str | None = None,
                  tag: str | None = None, limit: int = 100,
                  after: tuple[int | None, int] | None = None) -> dict[str, Any]:
    """A page of customers with their group and segment (see :func:`erpkit.schemas.one_page`):
    scored customers first, best lifetime revenue first (then the newest), then those not
    scored yet, oldest first. ``after`` is a parsed cursor: ``(cents, id)`` of a scored
    customer or ``(None, id)`` of an unscored one.

    Both walks follow an index (``crm_customer_score (revenue_cents, customer_id)``, then
    the customers' primary key), so a page reads about ``limit`` rows however many
    customers there are.
    """
    rows: list[Any] = []
    if after is None or after[0] is not None:
        rows = _scored(session, segment, group, tag, limit + 1, after)
    if len(rows) <= limit and not segment:  # every customer without a score has no segment
        unscored_after = after[1] if after is not None and after[0] is None else 0
        rows += _unscored(session, group, tag, limit + 1 - len(rows), unscored_after)
    return one_page([_row(r) for r in rows], limit, customer_cursor)


def _columns() -> tuple[Any, ...]:
    return (Customer.id, Customer.name, CustomerGroup.code, CustomerScore.segment,
            CustomerScore.r_score, CustomerScore.f_score, CustomerScore.m_score,
            CustomerScore.revenue_cents)


def _filtered(query: Any, group: str | None, tag: str | None) -> Any:
    query = (query.outerjoin(Profile, Profile.customer_id == Customer.id)
             .outerjoin(CustomerGroup, CustomerGroup.id == Profile.group_id))
    if group:
        query = query.where(CustomerGroup.code == group)
    if tag:
        query = query.where(sa.exists().where(Tag.customer_id == Customer.id,
                                              Tag.tag == tag.strip().lower()))
    return query


def _scored(session: Session, segment: str | None, group: str | None, tag: str | None,
            limit: int, after: tuple[int | None, int] | None) -> list[Any]:
    query = _filtered(sa.select(*_columns()).select_from(CustomerScore)
                      .join(Customer, Customer.id == CustomerScore.customer_id), group, tag)
    if segment:
        query = query.where(CustomerScore.segment == segment)
    if after is not None:
        query = query.where(sa.tuple_(CustomerScore.revenue_cents, CustomerScore.customer_id)
                            < sa.tuple_(after[0], after[1]))
    return list(session.execute(query.order_by(CustomerScore.revenue_cents.desc(),
                                               CustomerScore.customer_id.desc())
                                .limit(limit)))


def _unscored(session: Session, group: str | None, tag: str | None, limit: int,
              after: int) -> list[Any]:
    query = _filtered(sa.select(*_columns()).select_from(Customer)
                      .outerjoin(CustomerScore, CustomerScore.customer_id == Customer.id),
                      group, tag)
    query = query.where(CustomerScore.customer_id.is_(None), Customer.id > after)
    return list(session.execute(query.order_by(Customer.id).limit(limit)))


def _row(r: Any) -> dict[str, Any]:
    return {"customer_id": r.id, "name": r.name, "group": r.code, "segment": r.segment,
            "rfm_score": (100 * r.r_score + 10 * r.f_score + r.m_score)
            if r.r_score is not None else None,
            "lifetime_revenue": credit.from_cents(r.revenue_cents)
            if r.revenue_cents is not None else Decimal("0.00")}
