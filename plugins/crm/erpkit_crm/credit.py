"""Credit control: limits, exposure, the facts rules test, and the check at confirmation.

* **Limit:** the customer's own (``crm_credit_account.credit_limit``), else its group's,
  else the parameter ``crm.default_credit_limit``; none of them set means no limit.
* **Exposure** = open orders + open balance. An order is open from its confirmation until
  it is delivered, cancelled or returned (closing follows delivery); its value is
  ``total + shipping_charge``. Accounting sets the open balance through the API.
* **Why two confirmations can never both pass.** Confirming adds the order's value to
  ``open_orders_cents`` with one conditional ``UPDATE ... WHERE open_orders + open_balance
  + amount <= limit``. The database evaluates the condition on the row as it is when the
  update takes its lock: on PostgreSQL a second transaction waits for the first and
  re-checks the condition against the committed row; SQLite serialises writers (``BEGIN
  IMMEDIATE``). Nothing is computed from a value read earlier (``SELECT ... FOR UPDATE`` is
  ignored by SQLite, so it is not relied on), exactly like inventory's stock levels.
* **Beyond the limit** only when an approval granted it (an approval rule testing a
  ``crm.*credit*`` fact held the order, and the order is unchanged since it was approved)
  or someone with ``crm.credit_override`` confirms it through the override (audited).
  Otherwise the confirmation is refused and the order stays exactly as it was.

Functions here work in the caller's transaction and never commit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from erpkit import TransitionRefused
from erpkit.db import flushing_only, utcnow
from erpkit.models import audit
from erpkit.parameters import get_value
from erpkit.transaction_cache import transaction_cache
from erpkit_crm.models import CreditAccount, CreditCheck, CreditHold, CustomerGroup, Profile
from erpkit_orders.models import Order
from erpkit_orders.pricing import material_fingerprint

ACCOUNT = cast(sa.Table, CreditAccount.__table__)
CENT = Decimal("0.01")
#: ``session.info`` key through which the override endpoint tells the confirmation hook
#: which order is confirmed beyond the limit, by whom and why.
OVERRIDE_KEY = "erpkit_crm.credit_override"
OVERRIDE_PERMISSION = "crm.credit_override"


def to_cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(CENT)


def order_value(order: Order) -> int:
    """What an open order adds to the exposure, in cents."""
    return to_cents(Decimal(order.total) + Decimal(order.shipping_charge or 0))


@dataclass(frozen=True)
class Credit:
    """A customer's credit as it stands: amounts in Decimal, ``limit`` ``None`` for none."""

    limit: Decimal | None
    limit_source: str  # customer | group | default | none
    open_orders: Decimal
    open_balance: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.open_orders + self.open_balance

    @property
    def available(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.exposure

    def would_exceed(self, amount: Decimal) -> bool:
        return self.limit is not None and self.exposure + amount > self.limit


#: The transaction cache of what was read of a customer's credit, by customer id.
_READ = "erpkit_crm.credit_read"

_CUSTOMER = sa.select(sa.bindparam("customer_id", type_=sa.Integer).label("id")).subquery()
_GROUPS = cast(sa.Table, CustomerGroup.__table__)
_PROFILES = cast(sa.Table, Profile.__table__)
#: Built once: the customer's credit row (if any) and its group's limit, in one query; on
#: the tables' columns (a Core statement costs half an ORM one).
_ACCOUNT_AND_GROUP = (
    sa.select(ACCOUNT.c.customer_id.label("account"), ACCOUNT.c.credit_limit,
              ACCOUNT.c.open_orders_cents, ACCOUNT.c.open_balance_cents,
              sa.select(_GROUPS.c.credit_limit)
              .join(_PROFILES, _PROFILES.c.group_id == _GROUPS.c.id)
              .where(_PROFILES.c.customer_id == _CUSTOMER.c.id)
              .scalar_subquery().label("group_limit"))
    .select_from(_CUSTOMER.outerjoin(ACCOUNT, ACCOUNT.c.customer_id == _CUSTOMER.c.id))
)


@dataclass
class _Read:
    """A customer's credit row and group limit as this transaction read (and wrote) them."""

    account_exists: bool
    own_limit: Decimal | None
    group_limit: Decimal | None
    open_orders_cents: int
    open_balance_cents: int


def _read(session: Session, customer_id: int) -> _Read:
    """The customer's credit row and group limit, read once per transaction.

    The confirmation never relies on it (its conditional UPDATE checks the limit against
    the row as it is); the facts and messages do, and within one transaction they now
    agree with each other. What this module writes keeps it up to date or forgets it.
    """
    cache = transaction_cache(session, _READ)
    found = cache.get(customer_id)
    if found is None:
        with session.no_autoflush:  # nothing pending in the session changes these rows
            row = session.execute(_ACCOUNT_AND_GROUP, {"customer_id": customer_id}).one()
        found = cache[customer_id] = _Read(
            account_exists=row.account is not None,
            own_limit=None if row.credit_limit is None else Decimal(row.credit_limit),
            group_limit=None if row.group_limit is None else Decimal(row.group_limit),
            open_orders_cents=int(row.open_orders_cents or 0),
            open_balance_cents=int(row.open_balance_cents or 0))
    return found


def _forget(session: Session, customer_id: int) -> None:
    transaction_cache(session, _READ).pop(customer_id, None)


@functools.cache
def _create_account(dialect: str) -> Any:
    # Built once per dialect, on the table: a Core statement costs half an ORM one.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(ACCOUNT).values(
        customer_id=sa.bindparam("customer_id"), open_orders_cents=0, open_balance_cents=0,
        updated_at=sa.bindparam("updated_at")).on_conflict_do_nothing(
            index_elements=["customer_id"])


def ensure_account(session: Session, customer_id: int) -> None:
    """Create the customer's credit row if it does not exist (a concurrent creation of the
    same row is not an error)."""
    if _read(session, customer_id).account_exists:
        return
    with session.no_autoflush:  # the order's pending changes have nothing to do with it
        made = cast(sa.CursorResult[Any], session.execute(
            _create_account(session.get_bind().dialect.name),
            {"customer_id": customer_id, "updated_at": utcnow()}))
    read = _read(session, customer_id)
    if made.rowcount == 1:  # the row as written: no limit of its own, nothing open
        read.account_exists = True
    else:  # a concurrent creation wrote it first: read it again when asked
        _forget(session, customer_id)


def resolve_limit(session: Session, customer_id: int) -> tuple[Decimal | None, str]:
    """The limit that applies to the customer and where it comes from."""
    read = _read(session, customer_id)
    if read.own_limit is not None:
        return read.own_limit.quantize(CENT), "customer"
    if read.group_limit is not None:
        return read.group_limit.quantize(CENT), "group"
    default = get_value(session, "crm.default_credit_limit")
    if default is not None:
        return Decimal(default).quantize(CENT), "default"
    return None, "none"


def credit_of(session: Session, customer_id: int) -> Credit:
    """The customer's limit and exposure, as this transaction read them (not locked)."""
    limit, source = resolve_limit(session, customer_id)
    read = _read(session, customer_id)
    return Credit(limit, source, from_cents(read.open_orders_cents),
                  from_cents(read.open_balance_cents))


def order_facts(session: Session, order: Order) -> dict[str, Any]:
    """``crm.credit_limit``, ``crm.credit_exposure``, ``crm.credit_available`` (before this
    order) and ``crm.over_credit_limit`` (would this order take exposure over the limit)."""
    credit = credit_of(session, order.customer_id)
    amount = from_cents(order_value(order))
    return {
        "crm.credit_limit": credit.limit,
        "crm.credit_exposure": credit.exposure,
        "crm.credit_available": credit.available,
        "crm.over_credit_limit": credit.would_exceed(amount),
    }


# --- approvals: whether an approval granted going beyond the limit ------------------------


def _held_for_credit(request: Any) -> bool:
    """Whether an approval request was opened because of the credit facts.

    A request that says why (approvals' ``matches``, each with the ``facts`` of a rule
    that matched) counts only when a matching rule tested a credit fact; one that does
    not say counts as granting it.
    """
    matches = getattr(request, "matches", None)
    if matches is None:
        return True
    return any(name.startswith("crm.") and ("credit" in name)
               for match in matches for name in (getattr(match, "facts", None) or {}))


#: The transaction cache of the credit checks this transaction read or made, by order id.
_CHECKS = "erpkit_crm.credit_checks"


def _check_of(session: Session, order: Order) -> CreditCheck:
    """The order's credit check, made when it has none: one lookup per transaction, which
    does not flush the order's pending changes first (a check made in this transaction is
    remembered here, not looked up)."""
    checks = transaction_cache(session, _CHECKS)
    check = checks.get(order.id)
    if check is None:
        with session.no_autoflush:
            check = session.get(CreditCheck, order.id)
        if check is None:
            check = CreditCheck(order_id=order.id)
            session.add(check)
        checks[order.id] = check
    return check


def record_submission(session: Session, order: Order) -> None:
    """A (re-)submitted order starts without any credit approval: it is checked again."""
    check = _check_of(session, order)
    check.over_limit = bool(order_facts(session, order)["crm.over_credit_limit"])
    check.held_for_credit = False
    check.fingerprint = material_fingerprint(order)
    check.at = utcnow()


def record_approval_request(session: Session, order: Order, request: Any) -> None:
    """The order now waits for approval: remember whether the wait is about its credit."""
    check = _check_of(session, order)
    check.over_limit = bool(order_facts(session, order)["crm.over_credit_limit"])
    check.held_for_credit = check.over_limit and _held_for_credit(request)
    check.fingerprint = material_fingerprint(order)
    check.at = utcnow()


def approval_granted(session: Session, order: Order) -> bool:
    """An approval asked about this order's credit approved it, and the order is unchanged
    since (same lines, quantities, prices and discounts)."""
    check = session.get(CreditCheck, order.id)
    if check is None or not check.held_for_credit:
        return False
    current = material_fingerprint(order)
    return check.fingerprint == current and order.approved_fingerprint == current


# --- the check at confirmation, and the release -------------------------------------------


_AMOUNT = sa.bindparam("amount", type_=sa.BigInteger)
#: Built once (the confirmation runs one): add the amount to the open orders, and the
#: same only while the exposure stays within the limit.
_ADD_EXPOSURE = (sa.update(ACCOUNT)
                 .where(ACCOUNT.c.customer_id == sa.bindparam("the_customer"))
                 .values(open_orders_cents=ACCOUNT.c.open_orders_cents + _AMOUNT,
                         updated_at=sa.bindparam("now"))
                 .returning(ACCOUNT.c.open_orders_cents))
_ADD_WITHIN_LIMIT = _ADD_EXPOSURE.where(
    ACCOUNT.c.open_orders_cents + ACCOUNT.c.open_balance_cents + _AMOUNT
    <= sa.bindparam("limit_cents", type_=sa.BigInteger))


def _add_exposure(session: Session, customer_id: int, amount: int,
                  limit_cents: int | None) -> bool:
    """Add ``amount`` cents to the customer's open orders; with ``limit_cents``, only if
    the exposure stays within it. One statement: the database checks and writes at once."""
    statement = _ADD_WITHIN_LIMIT if limit_cents is not None else _ADD_EXPOSURE
    with flushing_only(session, CreditAccount):
        added = session.execute(statement, {"the_customer": customer_id, "amount": amount,
                                            "limit_cents": limit_cents,
                                            "now": utcnow()}).first()
    if added is None:
        _forget(session, customer_id)  # read it again: someone else changed the row
        return False
    _read(session, customer_id).open_orders_cents = int(added.open_orders_cents)
    return True


def hold_credit(session: Session, order: Order, *, actor: Any,
                note: Any = None) -> None:
    """Add ``order``'s value to its customer's exposure, or refuse the confirmation.

    Beyond the limit only with an approval that granted it or an override (see the
    module's docstring); the override is audited and both are written to the timeline
    through ``note(message)``.
    """
    # Already counted (a confirmation run again within one transition)? A hold made in
    # this transaction and not flushed yet is pending; looking it up must not flush the
    # order's pending changes first.
    if any(isinstance(pending, CreditHold) and pending.order_id == order.id
           for pending in session.new):
        return
    # A hold of an earlier transaction would be an earlier confirmation's, and an order
    # is confirmed once (nothing leads back to approved): it is looked for only in the
    # session, without a query. Were the rule broken, the hold's key (the order) would
    # refuse a second one, never count the order twice.
    if session.identity_map.get(identity_key(CreditHold, order.id)) is not None:
        return
    amount = order_value(order)
    ensure_account(session, order.customer_id)
    limit, source = resolve_limit(session, order.customer_id)
    limit_cents = None if limit is None else to_cents(limit)
    over_limit = False
    if not _add_exposure(session, order.customer_id, amount, limit_cents):
        credit = credit_of(session, order.customer_id)
        excess = credit.exposure + from_cents(amount) - (limit or Decimal(0))
        why = (f"credit limit {limit} ({source}) of {order.customer.name} exceeded by "
               f"{excess}: exposure {credit.exposure} + this order {from_cents(amount)}")
        override = session.info.get(OVERRIDE_KEY, {}).get(order.id)
        if override is not None:
            _audit_override(session, order, actor, override, credit, from_cents(amount))
            if note:
                note(f"credit override by {_login(actor)}: {why}; reason: {override}")
        elif approval_granted(session, order):
            if note:
                note(f"beyond the credit limit, as approved: {why}")
        else:
            action = get_value(session, "crm.over_limit_action")
            hint = ("; it waits for someone with crm.credit_override"
                    if action == "hold" else "")
            raise TransitionRefused(
                f"{why}; available {credit.available}{hint}",
                field="customer_id",
                code="credit_hold" if action == "hold" else "credit_limit_exceeded")
        _add_exposure(session, order.customer_id, amount, None)
        over_limit = True
    session.add(CreditHold(order_id=order.id, customer_id=order.customer_id,
                           amount_cents=amount, over_limit=over_limit))


def release_credit(session: Session, order: Order) -> None:
    """Give back what ``order`` holds of its customer's exposure (nothing if it holds none)."""
    hold = session.get(CreditHold, order.id)
    if hold is None:
        return
    session.execute(sa.update(ACCOUNT).where(ACCOUNT.c.customer_id == hold.customer_id)
                    .values(open_orders_cents=ACCOUNT.c.open_orders_cents - hold.amount_cents,
                            updated_at=utcnow()))
    _forget(session, hold.customer_id)
    session.delete(hold)
    session.flush()


def _login(actor: Any) -> str | None:
    return getattr(actor, "login", None) or (str(actor) if actor else None)


def _audit_override(session: Session, order: Order, actor: Any, reason: str, credit: Credit,
                    amount: Decimal) -> None:
    if not (hasattr(actor, "can") and actor.can(OVERRIDE_PERMISSION)):
        raise TransitionRefused(f"overriding the credit limit needs the permission "
                                f"{OVERRIDE_PERMISSION!r}", code="forbidden")
    audit(session, actor=_login(actor), entity="crm_credit_override", entity_id=order.number,
          action="override",
          before={"limit": str(credit.limit), "exposure": str(credit.exposure)},
          after={"exposure": str(credit.exposure + amount), "order_value": str(amount),
                 "reason": reason})


def set_open_balance(session: Session, customer_id: int, amount: Decimal, *,
                     actor: str | None) -> Credit:
    """Set what the customer owes on invoices (accounting's figure); audited."""
    ensure_account(session, customer_id)
    before = credit_of(session, customer_id)
    session.execute(sa.update(ACCOUNT).where(ACCOUNT.c.customer_id == customer_id)
                    .values(open_balance_cents=to_cents(amount), updated_at=utcnow()))
    _forget(session, customer_id)
    audit(session, actor=actor, entity="crm_open_balance", entity_id=str(customer_id),
          action="update", before={"open_balance": str(before.open_balance)},
          after={"open_balance": str(Decimal(amount).quantize(CENT))})
    return credit_of(session, customer_id)


def set_credit_limit(session: Session, customer_id: int, limit: Decimal | None, *,
                     actor: str | None) -> Credit:
    """Set (or, with ``None``, remove) the customer's own limit; audited."""
    ensure_account(session, customer_id)
    before = credit_of(session, customer_id)
    session.execute(sa.update(ACCOUNT).where(ACCOUNT.c.customer_id == customer_id)
                    .values(credit_limit=limit, updated_at=utcnow()))
    _forget(session, customer_id)
    audit(session, actor=actor, entity="crm_credit_limit", entity_id=str(customer_id),
          action="update", before={"limit": str(before.limit), "source": before.limit_source},
          after={"limit": None if limit is None else str(limit)})
    return credit_of(session, customer_id)
