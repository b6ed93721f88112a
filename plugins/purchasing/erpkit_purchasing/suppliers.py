"""Suppliers, their contacts, and the products each supplies (one preferred per product)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from erpkit import ValidationFailed
from erpkit_inventory.stock import product_by_sku, quantity
from erpkit_purchasing.models import Supplier, SupplierContact, SupplierProduct


def supplier_by_code(session: Session, code: str) -> Supplier:
    supplier = session.scalar(sa.select(Supplier).where(Supplier.code == code))
    if supplier is None:
        raise NotFound(f"no supplier with code {code!r}")
    return supplier


def create_supplier(session: Session, *, code: str, name: str, email: str | None = None,
                    contacts: list[dict[str, Any]] | None = None) -> Supplier:
    """A new supplier (a code in use is refused), with its contacts. Flushes, no commit."""
    if session.scalar(sa.select(Supplier.id).where(Supplier.code == code)):
        raise ValidationFailed.single("code", f"a supplier with code {code!r} exists already",
                                      code="duplicate")
    supplier = Supplier(code=code, name=name, email=email)
    supplier.contacts = [SupplierContact(**contact) for contact in contacts or []]
    session.add(supplier)
    session.flush()
    return supplier


def add_contact(session: Session, supplier: Supplier, **contact: Any) -> SupplierContact:
    made = SupplierContact(supplier_id=supplier.id, **contact)
    session.add(made)
    session.flush()
    return made


def offer(session: Session, supplier: Supplier, sku: str, *, price: Decimal,
          pack_size: Decimal = Decimal(1), min_order_quantity: Decimal = Decimal(0),
          lead_time_days: int = 7, preferred: bool = False,
          supplier_sku: str | None = None) -> SupplierProduct:
    """Create or change what ``supplier`` offers of ``sku``. ``preferred`` makes it the
    product's preferred supplier (the others stop being preferred). Flushes, no commit."""
    product = product_by_sku(session, sku)
    if quantity(pack_size) <= 0:
        raise ValidationFailed.single("pack_size", "the pack size must be positive",
                                      code="not_positive")
    if quantity(min_order_quantity) < 0 or lead_time_days < 0:
        field = "min_order_quantity" if quantity(min_order_quantity) < 0 else "lead_time_days"
        raise ValidationFailed.single(field, "may not be negative", code="negative")
    found = session.scalar(sa.select(SupplierProduct).where(
        SupplierProduct.supplier_id == supplier.id, SupplierProduct.product_id == product.id))
    if found is None:
        found = SupplierProduct(supplier_id=supplier.id, product_id=product.id)
        session.add(found)
    found.price, found.supplier_sku = price, supplier_sku
    found.pack_size, found.min_order_quantity = quantity(pack_size), quantity(min_order_quantity)
    found.lead_time_days = lead_time_days
    if preferred:
        session.execute(sa.update(SupplierProduct)
                        .where(SupplierProduct.product_id == product.id,
                               SupplierProduct.supplier_id != supplier.id)
                        .values(preferred=False))
    found.preferred = preferred
    session.flush()
    return found


def preferred_offers(session: Session, product_ids: list[int]) -> dict[int, SupplierProduct]:
    """Per product: its preferred supplier's offer, else its cheapest active offer."""
    rows = session.scalars(
        sa.select(SupplierProduct).join(Supplier, Supplier.id == SupplierProduct.supplier_id)
        .where(SupplierProduct.product_id.in_(product_ids), Supplier.active.is_(True))
        .order_by(SupplierProduct.product_id, SupplierProduct.preferred.desc(),
                  SupplierProduct.price, SupplierProduct.id)).unique()
    chosen: dict[int, SupplierProduct] = {}
    for row in rows:
        chosen.setdefault(row.product_id, row)
    return chosen
