"""Order intake from every channel: create, update and validate, one path for all.

The JSON API, the CSV import, the console and the demo all call :func:`create_order`
and :func:`update_order`; input is a plain mapping (already typed by a marshmallow
schema). Every problem is collected, the module's and the plugins' (hook
``erpkit_order_validate``), and reported together with the line and field named.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from erpkit import Problem, ValidationFailed
from erpkit.db import utcnow
from erpkit.models import next_in_sequence
from erpkit.plugins import Registry, registry_of
from erpkit.problems import errors_only
from erpkit.transitions import Transition, atomic
from erpkit_orders.lifecycle import Status, perform, request_approval_or_approve
from erpkit_orders.models import Customer, Order, OrderLine, Product
from erpkit_orders.pricing import material_fingerprint, recompute_totals
from erpkit_orders.timeline import record_event

log = logging.getLogger(__name__)

#: Statuses in which lines, quantities, prices and discounts may still change.
EDITABLE = {Status.DRAFT, Status.PENDING_APPROVAL, Status.APPROVED}
#: Problems that leave no order for the plugins to check (no customer, no lines built).
#: Other problems (a quantity, a price) are reported together with the plugins' own.
UNCHECKABLE = {"unknown_customer", "inactive_customer", "unknown_product", "inactive_product",
               "empty_order", "required"}


@dataclass
class Intake:
    """The result of :func:`create_order`: the order, and whether this call created it
    (``False`` when an idempotency key returned an earlier order)."""

    order: Order
    created: bool
    warnings: list[Problem]


#: How an order ships: taken as sent on create and update (see ``_DeliveryFields``).
DELIVERY_FIELDS = ("carrier", "ship_to_name", "ship_to_address", "ship_to_city",
                   "ship_to_postal_code", "ship_to_region", "ship_to_country")


def _parameter(session: Session, name: str, registry: Registry | None = None) -> Any:
    return (registry or registry_of(session)).parameters.get(session, name)


def _resolve_products(session: Session, lines: list[Mapping[str, Any]]) -> tuple[
        dict[int, Product], list[Problem]]:
    """Find each line's product by ``product_id`` or ``sku``; unknown ones are problems."""
    skus = {str(line["sku"]) for line in lines if line.get("sku")}
    ids = {int(line["product_id"]) for line in lines if line.get("product_id")}
    found = list(session.scalars(sa.select(Product).where(
        sa.or_(Product.sku.in_(skus), Product.id.in_(ids)))))
    by_sku = {p.sku: p for p in found}
    by_id = {p.id: p for p in found}
    resolved: dict[int, Product] = {}
    problems: list[Problem] = []
    for index, line in enumerate(lines):
        product = (by_id.get(int(line["product_id"])) if line.get("product_id")
                   else by_sku.get(str(line.get("sku") or "")))
        field = "sku" if line.get("sku") else "product_id"
        if product is None:
            wanted = line.get("sku") or line.get("product_id")
            problems.append(Problem(field=f"lines.{index}.{field}", line=index + 1,
                                    code="unknown_product", message=f"unknown product {wanted!r}"))
        elif not product.active:
            problems.append(Problem(field=f"lines.{index}.{field}", line=index + 1,
                                    code="inactive_product",
                                    message=f"product {product.sku} is no longer sold"))
        else:
            resolved[index] = product
    return resolved, problems


def _plain(number: Decimal) -> str:
    """A number as people write it in a message: ``30``, not ``3E+1`` or ``30.000``."""
    return f"{number.normalize():f}"


def _line_problems(index: int, line: OrderLine, product: Product) -> list[Problem]:
    """Quantity within the product's limits and a multiple of its pack size; prices sane."""
    where = f"lines.{index}"
    problems: list[Problem] = []

    def problem(field: str, message: str, code: str = "invalid") -> None:
        problems.append(Problem(field=f"{where}.{field}", message=message, code=code,
                                line=index + 1))

    quantity = line.quantity
    if quantity <= 0:
        problem("quantity", f"quantity must be positive, got {_plain(quantity)}",
                "quantity_not_positive")
    elif quantity < product.min_quantity:
        problem("quantity", f"{product.sku}: at least {_plain(product.min_quantity)} "
                f"{product.unit} per order, got {_plain(quantity)}", "quantity_below_minimum")
    elif product.max_quantity is not None and quantity > product.max_quantity:
        problem("quantity", f"{product.sku}: at most {_plain(product.max_quantity)} "
                f"{product.unit} per order, got {_plain(quantity)}", "quantity_above_maximum")
    elif product.pack_size and quantity % product.pack_size != 0:
        problem("quantity", f"{product.sku} is sold in packs of {_plain(product.pack_size)}"
                f"; {_plain(quantity)} is not a multiple", "quantity_not_pack_multiple")
    if line.unit_price < 0:
        problem("unit_price", f"unit price cannot be negative, got {_plain(line.unit_price)}",
                "negative_price")
    if not Decimal(0) <= line.discount_percent <= Decimal(100):
        problem("discount_percent",
                "discount must be between 0 and 100 percent, got "
                f"{_plain(line.discount_percent)}",
                "discount_out_of_range")
    return problems


def _apply(session: Session, order: Order, data: Mapping[str, Any],
           registry: Registry | None = None) -> list[Problem]:
    """Copy ``data`` onto ``order`` (header fields present, and lines if given)."""
    problems: list[Problem] = []
    if "customer_id" in data:
        # Intake never reads the addresses: leave them unloaded (one query less).
        customer = session.get(Customer, data["customer_id"],
                               options=[lazyload(Customer.addresses)])
        if customer is None:
            problems.append(Problem(field="customer_id", code="unknown_customer",
                                    message=f"unknown customer {data['customer_id']!r}"))
        elif not customer.active:
            problems.append(Problem(field="customer_id", code="inactive_customer",
                                    message=f"customer {customer.name} is inactive"))
        else:
            order.customer_id = customer.id
            order.customer = customer
    if "channel" in data:
        channels = _parameter(session, "orders.channels", registry)
        if data["channel"] not in channels:
            problems.append(Problem(field="channel", code="unknown_channel",
                                    message=f"unknown channel {data['channel']!r}; "
                                    f"one of: {', '.join(channels)}"))
        order.channel = data["channel"]
    too_big = _size_problems(session, data)
    if too_big:  # refused before any work on the lines
        raise ValidationFailed([*problems, *too_big])
    for name in ("currency", "requested_date", "note", "external_ref", *DELIVERY_FIELDS):
        if name in data:
            setattr(order, name, data[name])
    if "lines" in data:
        problems.extend(_replace_lines(session, order, list(data["lines"] or [])))
    return problems


def _size_problems(session: Session, data: Mapping[str, Any]) -> list[Problem]:
    """Lines and note within the parameters ``orders.max_lines_per_order`` and
    ``orders.max_note_length``: the work an order costs stays bounded."""
    problems = []
    max_lines = _parameter(session, "orders.max_lines_per_order")
    if len(data.get("lines") or ()) > max_lines:
        problems.append(Problem(field="lines", code="too_many_lines", message=(
            f"{len(data['lines'])} lines; an order may have at most {max_lines} "
            "(parameter orders.max_lines_per_order). Fix: split it into several orders")))
    max_note = _parameter(session, "orders.max_note_length")
    if len(data.get("note") or "") > max_note:
        problems.append(Problem(field="note", code="too_long", message=(
            f"{len(data['note'])} characters; at most {max_note} "
            "(parameter orders.max_note_length)")))
    return problems


def _replace_lines(session: Session, order: Order, lines: list[Mapping[str, Any]]) -> list[Problem]:
    if not lines:
        return [Problem(field="lines", code="empty_order",
                        message="an order needs at least one line")]
    products, problems = _resolve_products(session, lines)
    if problems:
        return problems
    if order.lines:
        order.lines.clear()
        session.flush()  # delete the old lines before their line numbers are reused
    for index, data in enumerate(lines):
        product = products[index]
        line = OrderLine(
            line_no=index + 1,
            product=product,
            product_id=product.id,
            quantity=Decimal(data["quantity"]),
            unit_price=Decimal(data["unit_price"]) if data.get("unit_price") is not None
            else product.unit_price,
            discount_percent=Decimal(data.get("discount_percent") or 0),
        )
        order.lines.append(line)
        problems.extend(_line_problems(index, line, product))
    recompute_totals(order)
    return problems


def collect_problems(session: Session, order: Order, stage: str,
                     registry: Registry | None = None) -> list[Problem]:
    """The plugins' problems with ``order`` (hook ``erpkit_order_validate``)."""
    results = (registry or registry_of(session)).call(
        "erpkit_order_validate", order=order, session=session, stage=stage)
    return [p for found in results or () for p in (found or ()) if p is not None]


def _refuse_if_uncheckable(problems: list[Problem]) -> None:
    """Refuse at once when the plugins would have no complete order to check."""
    if any(p.code in UNCHECKABLE for p in errors_only(problems)):
        raise ValidationFailed(errors_only(problems))


def validate_or_refuse(session: Session, order: Order, stage: str,
                       known: Iterable[Problem] = (),
                       registry: Registry | None = None) -> list[Problem]:
    """Raise :class:`ValidationFailed` with every error found, the module's (``known``)
    and the plugins' together; return the warnings."""
    problems = list(known)
    structural: list[Problem] = []
    if not order.lines:
        structural.append(Problem(field="lines", code="empty_order",
                                  message="an order needs at least one line"))
    if order.customer_id is None:
        structural.append(Problem(field="customer_id", code="required",
                                  message="an order needs a customer"))
    problems.extend(structural)
    if not structural:
        problems.extend(collect_problems(session, order, stage, registry))
    errors = errors_only(problems)
    if errors:
        raise ValidationFailed(errors)
    return [p for p in problems if not p.is_error]


def _number(session: Session, registry: Registry | None = None) -> str:
    """The next order number, from the pattern in orders.number_pattern."""
    pattern = str(_parameter(session, "orders.number_pattern", registry))
    now = utcnow()
    sequence = f"orders.number.{now.year}" if "{year" in pattern else "orders.number"
    return pattern.format(year=now.year, month=now.month, seq=next_in_sequence(session, sequence))


def _fill_defaults(record: Any) -> None:
    """Give an unsaved record the Python-side defaults of its columns (``status``,
    ``shipped_quantity``, ``created_at``...) where it has no value yet."""
    for column in sa.inspect(type(record)).columns:
        default = column.default
        if default is None or getattr(record, column.key, None) is not None:
            continue
        if default.is_scalar:
            setattr(record, column.key, default.arg)
        elif default.is_callable:
            setattr(record, column.key, default.arg(None))


def check_order(session: Session, data: Mapping[str, Any], *,
                registry: Registry | None = None) -> tuple[Order, list[Problem]]:
    """What :func:`create_order` would say about ``data``, without writing anything: the
    order as it would be (lines and totals) and every problem, errors and warnings, the
    plugins' included (stock available, shipping). For a form that checks each line as
    a person types; the caller rolls its session back.

    The plugins are asked once every line names a known product, with or without a
    customer yet; an order too large is refused as :class:`ValidationFailed`.
    """
    order = Order(channel=data.get("channel", "api"),
                  currency=data.get("currency")
                  or _parameter(session, "core.default_currency", registry))
    problems = _apply(session, order, {"channel": order.channel, **data}, registry)
    # Never flushed, so the columns' defaults are not filled in: the plugins read them.
    for record in (order, *order.lines):
        _fill_defaults(record)
    if order.lines and not any(p.code in UNCHECKABLE for p in problems):
        problems.extend(collect_problems(session, order, "create", registry))
    return order, problems


def existing_for_key(session: Session, key: str) -> Order | None:
    return session.scalar(sa.select(Order).where(Order.idempotency_key == key))


def create_order(
    session: Session,
    data: Mapping[str, Any],
    *,
    actor: Any = None,
    idempotency_key: str | None = None,
    registry: Registry | None = None,
    request_fingerprint: str | None = None,
) -> Intake:
    """Create a draft order from ``data``; one transition (``create``) through the door
    :func:`erpkit_orders.lifecycle.perform`; fires ``erpkit_order_created``.

    With ``idempotency_key``, a retried call returns the order the first call created.
    With ``request_fingerprint`` too (:func:`erpkit.idempotency.fingerprint` of the
    request), the key is bound to that request: the same key with another body is a
    :class:`~erpkit.ValidationFailed` on ``Idempotency-Key`` (422).
    """
    from erpkit.idempotency import bind, check_same_request

    if idempotency_key and request_fingerprint:
        check_same_request(session, idempotency_key, request_fingerprint)
    if idempotency_key:
        earlier = existing_for_key(session, idempotency_key)
        if earlier is not None:
            return Intake(earlier, created=False, warnings=[])
    found: list[Problem] = []

    def body(transition: Transition, order: Order) -> Order:
        registry = transition.registry
        order.channel = data.get("channel", "api")
        order.currency = (data.get("currency")
                          or _parameter(session, "core.default_currency", registry))
        order.idempotency_key = idempotency_key
        if idempotency_key and request_fingerprint:
            bind(session, idempotency_key, request_fingerprint)
        order.created_by = transition.actor_name
        problems = _apply(session, order, {"channel": order.channel, **data}, registry)
        if "lines" not in data:
            problems.append(Problem(field="lines", code="empty_order",
                                    message="an order needs at least one line"))
        if "customer_id" not in data:
            problems.append(Problem(field="customer_id", code="required",
                                    message="an order needs a customer"))
        _refuse_if_uncheckable(problems)
        order.number = _number(session, registry)
        session.add(order)
        session.flush()
        found[:] = validate_or_refuse(session, order, "create", problems, registry)
        record_event(session, order, kind="status", to_status=str(Status.DRAFT),
                     actor=transition.actor_name, public=True,
                     message=f"order created through the {order.channel} channel")
        registry.call("erpkit_order_created", order=order, transition=transition)
        return order

    try:
        order = perform(session, None, "create", body, actor=actor, registry=registry)
    except ValidationFailed as exc:
        _record_refusal(session, data.get("channel", "api"), exc.problems, actor)
        raise
    except sa.exc.IntegrityError:
        # Two requests with the same idempotency key raced; the other one won.
        if idempotency_key and request_fingerprint:
            check_same_request(session, idempotency_key, request_fingerprint)
        if idempotency_key and (earlier := existing_for_key(session, idempotency_key)):
            return Intake(earlier, created=False, warnings=[])
        raise
    return Intake(order, created=True, warnings=found)


def _record_refusal(session: Session, channel: str, problems: Iterable[Problem],
                    actor: Any) -> None:
    """Tell the plugins an attempt was refused (hook ``erpkit_order_intake_refused``), in
    a transaction of its own: the order rolled back, the record of its refusal stays."""
    try:
        with atomic(session):
            registry_of(session).pm.hook.erpkit_order_intake_refused(
                channel=str(channel or "api"), problems=list(problems), actor=actor,
                session=session)
    except Exception:  # a failed record must not turn a 422 into a 500
        log.exception("recording an intake refusal failed")


def update_order(session: Session, order: Order | int, data: Mapping[str, Any], *,
                 actor: Any = None, registry: Registry | None = None,
                 expected_version: int | None = None) -> Order:
    """Change an order that is still editable (draft, pending approval, approved).

    A material change (lines, quantities, prices, discounts) to an order that was
    approved, or is waiting for approval, sends it back for approval; the timeline says
    why. A confirmed order cannot be changed this way. One transition (``update``)
    through the door :func:`erpkit_orders.lifecycle.perform`. With
    ``expected_version`` (an API client's ``If-Match``), an order whose version moved on
    since is refused with :class:`erpkit.concurrency.PreconditionFailed` (412).
    """

    def body(transition: Transition, locked: Order) -> Order:
        from erpkit.concurrency import check_version

        registry = transition.registry
        check_version(expected_version, locked.version, what=f"order {locked.number}")
        if locked.status not in EDITABLE:
            raise ValidationFailed.single(
                "status", f"order {locked.number} is {locked.status} and can no longer be "
                "changed", code="not_editable")
        before = material_fingerprint(locked)
        problems = _apply(session, locked, data, registry)
        _refuse_if_uncheckable(problems)
        session.flush()
        validate_or_refuse(session, locked, "update", problems, registry)
        changed = material_fingerprint(locked) != before
        record_event(session, locked, kind="edit", actor=transition.actor_name,
                     message="order changed" + (" (lines, quantities, prices or discounts)"
                                                if changed else ""))
        if changed and locked.status in (Status.APPROVED, Status.PENDING_APPROVAL):
            # may approve and confirm again, reserving stock: hence the retrying door
            request_approval_or_approve(
                transition, locked,
                why="lines, quantities, prices or discounts changed after approval was "
                    "asked; approval is asked again")
        return locked

    return perform(session, order, "update", body, actor=actor, registry=registry)
