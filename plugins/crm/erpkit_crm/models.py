"""The crm tables. They extend orders' customer (``orders_customer.id``) without a column
added to orders: profiles, contacts, tags, notes, interactions, credit and scores.

Money that is summed or compared in the database (credit exposure) is kept in integer
cents: SQLite stores ``Numeric`` as binary floats, and a credit check must not be off by
float noise.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from erpkit.db import Base, Money, utcnow

CUSTOMER_FK = "orders_customer.id"
INTERACTION_KINDS = ("call", "email", "visit", "complaint")
ADDRESS_KINDS = ("billing", "shipping")


class CustomerGroup(Base):
    """A group of customers (``wholesale``, ``retail``): lists filter by it, and its credit
    limit applies to members without a limit of their own."""

    __tablename__ = "crm_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)
    """Credit limit of members without one of their own; ``None``: the company default."""

    def __str__(self) -> str:
        return self.name


class Profile(Base):
    """What crm knows of a customer beyond orders' record: group, preferences, erasure."""

    __tablename__ = "crm_profile"
    __table_args__ = (sa.Index("ix_crm_profile_group", "group_id"),)

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_group.id"))
    preferences: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    """Values of the attributes the parameter ``crm.preference_attributes`` defines,
    validated on the way in (decimals kept as exact strings)."""
    erased_at: Mapped[datetime | None]
    """When the person's data was erased (anonymised); orders and their figures stay."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Contact(Base):
    """A person to speak to at the customer."""

    __tablename__ = "crm_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str | None] = mapped_column(sa.String(80))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))


class DefaultAddress(Base):
    """Which of the customer's addresses (orders' ``orders_address``) is the default one
    for billing, and for shipping."""

    __tablename__ = "crm_default_address"

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    address_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_address.id", ondelete="CASCADE"))


class Tag(Base):
    """A free label on a customer (``vip``, ``prefers-phone``)."""

    __tablename__ = "crm_tag"
    __table_args__ = (sa.Index("ix_crm_tag_tag", "tag"),)

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(60), primary_key=True)


class Note(Base):
    """A note about the customer, who wrote it and when."""

    __tablename__ = "crm_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str | None] = mapped_column(sa.String(120))
    text: Mapped[str] = mapped_column(sa.Text)


class Interaction(Base):
    """One contact with the customer: a call, an e-mail, a visit, a complaint."""

    __tablename__ = "crm_interaction"
    __table_args__ = (sa.Index("ix_crm_interaction_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(sa.String(120))
    """Who had the contact (a login)."""
    summary: Mapped[str] = mapped_column(sa.Text)
    """What it was about."""


class CreditAccount(Base):
    """A customer's credit: its own limit, and the two parts of its exposure in cents.

    The row is the customer's credit lock: a confirmation adds its order's value to
    ``open_orders_cents`` with one conditional ``UPDATE`` that holds only while the
    exposure stays within the limit (see ``erpkit_crm.credit``).
    """

    __tablename__ = "crm_credit_account"
    __table_args__ = (
        sa.CheckConstraint("open_orders_cents >= 0", name="open_orders_not_negative"),
    )

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"), primary_key=True)
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)
    """This customer's limit; ``None``: the group's, else ``crm.default_credit_limit``."""
    open_orders_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    """Value of the confirmed orders not yet delivered, closed or cancelled."""
    open_balance_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    """Invoiced and unpaid, as accounting last set it."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CreditHold(Base):
    """The exposure one open order holds on its customer's credit: what to give back when
    it is delivered, cancelled or returned."""

    __tablename__ = "crm_credit_hold"

    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey(CUSTOMER_FK), index=True)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger)
    over_limit: Mapped[bool] = mapped_column(default=False)
    """Confirmed beyond the limit, by an approval or an override."""
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditCheck(Base):
    """The credit facts of an order when it last asked for approval: whether it was over
    the limit, and whether an approval rule about credit held it."""

    __tablename__ = "crm_credit_check"

    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), primary_key=True)
    over_limit: Mapped[bool] = mapped_column(default=False)
    held_for_credit: Mapped[bool] = mapped_column(default=False)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def rfm_score(r_score: int, f_score: int, m_score: int) -> int:
    """The three RFM scores as one number: ``100 * R + 10 * F + M`` (``545``)."""
    return 100 * r_score + 10 * f_score + m_score


class CustomerScore(Base):
    """A customer's figures and RFM scores, as of ``as_of`` (see ``erpkit_crm.segments``)."""

    __tablename__ = "crm_customer_score"
    __table_args__ = (
        sa.Index("ix_crm_customer_score_segment", "segment"),
        # the customer list, best revenue first, a page at a time
        sa.Index("ix_crm_customer_score_revenue", "revenue_cents", "customer_id"),
    )

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey(CUSTOMER_FK, ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date]
    order_count: Mapped[int]
    revenue_cents: Mapped[int] = mapped_column(sa.BigInteger)
    first_order_on: Mapped[date]
    last_order_on: Mapped[date]
    recency_days: Mapped[int]
    r_score: Mapped[int]
    f_score: Mapped[int]
    m_score: Mapped[int]
    segment: Mapped[str | None] = mapped_column(sa.String(40))
    clv: Mapped[Decimal] = mapped_column(Money)
    """Historical customer lifetime value (formula in ``erpkit_crm.segments``)."""

    @property
    def rfm_score(self) -> int:
        """The three scores as one number: ``100 * R + 10 * F + M`` (``545``)."""
        return rfm_score(self.r_score, self.f_score, self.m_score)


class ReturnedOrder(Base):
    """An order that came back: its revenue no longer counts, even once it is closed."""

    __tablename__ = "crm_returned_order"

    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), primary_key=True)


class SegmentRule(Base):
    """One row of the editable table of named segments: score ranges, first match wins."""

    __tablename__ = "crm_segment_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]
    """Rows are tried in this order; the first whose three ranges hold names the segment."""
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    r_min: Mapped[int] = mapped_column(default=1)
    r_max: Mapped[int] = mapped_column(default=5)
    f_min: Mapped[int] = mapped_column(default=1)
    f_max: Mapped[int] = mapped_column(default=5)
    m_min: Mapped[int] = mapped_column(default=1)
    m_max: Mapped[int] = mapped_column(default=5)


MODELS = (CustomerGroup, Profile, Contact, DefaultAddress, Tag, Note, Interaction,
          CreditAccount, CreditHold, CreditCheck, CustomerScore, ReturnedOrder, SegmentRule)
