"""Products and customers: the few service functions the API, the import and the demo share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import Problem, ValidationFailed
from erpkit.transitions import atomic
from erpkit_orders.models import Address, Customer, Product

_PRODUCT_FIELDS = ("sku", "name", "unit_price", "category", "active", "unit", "min_quantity",
                   "max_quantity", "pack_size", "supplier", "reorder_level")
_CUSTOMER_FIELDS = ("code", "active", "name", "email", "phone", "region", "country", "city",
                    "postal_code", "address")


def create_product(session: Session, data: Mapping[str, Any]) -> Product:
    """Add a product; a SKU already in the catalogue is refused. One transaction.

    Fields left out or ``None`` take the model's defaults (minimum 1, pack of 1).
    """
    values = {k: data[k] for k in _PRODUCT_FIELDS if data.get(k) is not None}
    try:
        with atomic(session):
            if session.scalar(sa.select(Product.id).where(Product.sku == values.get("sku"))):
                raise _duplicate_sku(values.get("sku"))
            product = Product(**values)
            session.add(product)
            session.flush()
    except sa.exc.IntegrityError:  # another request added the same SKU meanwhile
        raise _duplicate_sku(values.get("sku")) from None
    return product


def _duplicate_sku(sku: Any) -> ValidationFailed:
    return ValidationFailed([Problem(field="sku", code="duplicate",
                                     message=f"a product with SKU {sku!r} exists already")])


def update_product(session: Session, product: Product, data: Mapping[str, Any]) -> Product:
    """Change the given fields of a product (``active: False`` takes it off sale; orders
    already taken keep it). One transaction; a SKU another product has is refused."""
    low = data.get("min_quantity", product.min_quantity)
    high = data.get("max_quantity", product.max_quantity)
    if high is not None and low is not None and high < low:
        raise ValidationFailed.single("max_quantity", f"must not be below min_quantity ({low})",
                                      code="invalid")
    try:
        with atomic(session):
            for name in _PRODUCT_FIELDS:
                if name in data:
                    setattr(product, name, data[name])
            session.flush()
    except sa.exc.IntegrityError:
        raise _duplicate_sku(data.get("sku")) from None
    return product


def create_customer(session: Session, data: Mapping[str, Any]) -> Customer:
    """Add a customer with their addresses. One transaction; a code another customer
    has is refused."""
    try:
        with atomic(session):
            customer = Customer(**{k: data.get(k) for k in _CUSTOMER_FIELDS})
            customer.addresses = [Address(**dict(address))
                                  for address in data.get("addresses", ())]
            session.add(customer)
            session.flush()
    except sa.exc.IntegrityError:
        raise _duplicate_code(data.get("code")) from None
    return customer


def update_customer(session: Session, customer: Customer, data: Mapping[str, Any]) -> Customer:
    """Change the given fields of a customer. One transaction."""
    try:
        with atomic(session):
            for name in _CUSTOMER_FIELDS:
                if name in data:
                    setattr(customer, name, data[name])
            session.flush()
    except sa.exc.IntegrityError:
        raise _duplicate_code(data.get("code")) from None
    return customer


def _duplicate_code(code: Any) -> ValidationFailed:
    return ValidationFailed([Problem(field="code", code="duplicate",
                                     message=f"a customer with code {code!r} exists already")])


def customer_by_email(session: Session, email: str) -> tuple[Customer | None, str | None]:
    """The one customer with this e-mail (case-insensitive), or ``None`` and why not."""
    found = list(session.scalars(
        sa.select(Customer).where(sa.func.lower(Customer.email) == email.strip().lower())
        .limit(2)))
    if not found:
        return None, f"no customer has the e-mail {email!r}"
    if len(found) > 1:
        return None, f"several customers have the e-mail {email!r}; give customer_id instead"
    return found[0], None
