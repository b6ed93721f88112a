"""Read models shared by the API and the console: a customer's whole profile, and the
customer list filtered by segment, group and tag."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

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


def customer_rows(session: Session, *, segment: str | None = None, group: str | None = None,
                  tag: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Customers with their group and segment, best lifetime revenue first."""
    query = (sa.select(Customer.id, Customer.name, CustomerGroup.code, CustomerScore.segment,
                       CustomerScore.r_score, CustomerScore.f_score, CustomerScore.m_score,
                       CustomerScore.revenue_cents)
             .outerjoin(Profile, Profile.customer_id == Customer.id)
             .outerjoin(CustomerGroup, CustomerGroup.id == Profile.group_id)
             .outerjoin(CustomerScore, CustomerScore.customer_id == Customer.id)
             .order_by(sa.func.coalesce(CustomerScore.revenue_cents, 0).desc(), Customer.id)
             .limit(limit))
    if segment:
        query = query.where(CustomerScore.segment == segment)
    if group:
        query = query.where(CustomerGroup.code == group)
    if tag:
        query = query.where(sa.exists().where(Tag.customer_id == Customer.id,
                                              Tag.tag == tag.strip().lower()))
    return [{"customer_id": r.id, "name": r.name, "group": r.code, "segment": r.segment,
             "rfm_score": (100 * r.r_score + 10 * r.f_score + r.m_score)
             if r.r_score is not None else None,
             "lifetime_revenue": credit.from_cents(r.revenue_cents or 0)
             if r.revenue_cents is not None else Decimal("0.00")}
            for r in session.execute(query)]
