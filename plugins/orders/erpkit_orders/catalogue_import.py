"""Import the catalogue and the customers from CSV: create new ones, update known ones.

Products are matched by ``sku``, customers by ``code`` (their key in the old system,
kept as text: ``00042`` stays ``00042``). A known record is updated with the cells that
are filled in and the report says what changed (``unit_price: 12.50 -> 13.00``); an
empty cell leaves the stored value as it is. Importing the same file twice changes
nothing. Rows are written in batches (one transaction each, Core ``executemany``): a
refused row is reported and skipped, the other rows of its batch are written.

Columns, products: ``sku`` (required), ``name`` and ``unit_price`` (required for a new
product), ``category, active, unit, min_quantity, max_quantity, pack_size, supplier,
reorder_level``. Customers: ``code`` (required), ``name`` (required for a new customer),
``email, phone, country`` (ISO code or English name), ``region, city, postal_code,
address``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from marshmallow import ValidationError, validate
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit_orders.countries import UnknownCountry, country_code
from erpkit_orders.csv_reading import CellError, Cells, Columns, CsvOptions, Row, read_rows
from erpkit_orders.import_report import Change, OnChange, OnRefused, RowError
from erpkit_orders.models import Customer, Product

BATCH = 1000
_EMAIL = validate.Email()


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise CellError(f"must be positive, got {value}")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise CellError(f"cannot be negative, got {value}")
    return value


def _email(value: str) -> str:
    try:
        _EMAIL(value)
    except ValidationError:
        raise CellError(f"not an e-mail address: {value!r}") from None
    return Cells.text(value, 254)


def _country(value: str) -> str:
    try:
        return country_code(value)
    except UnknownCountry as exc:
        raise CellError(str(exc)) from None


#: A column's parser: (cells, text) -> value.
Parser = Callable[[Cells, str], Any]


def _text(limit: int) -> Parser:
    return lambda _cells, text: Cells.text(text, limit)


PRODUCT_FIELDS: dict[str, Parser] = {
    "name": _text(200),
    "unit_price": lambda c, t: _not_negative(c.decimal(t)),
    "category": _text(80),
    "active": lambda _c, t: Cells.boolean(t),
    "unit": _text(16),
    "min_quantity": lambda c, t: _positive(c.decimal(t)),
    "max_quantity": lambda c, t: _positive(c.decimal(t)),
    "pack_size": lambda c, t: _positive(c.decimal(t)),
    "supplier": _text(120),
    "reorder_level": lambda c, t: _not_negative(c.decimal(t)),
}
CUSTOMER_FIELDS: dict[str, Parser] = {
    "name": _text(200),
    "email": lambda _c, t: _email(t),
    "phone": _text(40),
    "country": lambda _c, t: _country(t),
    "region": _text(80),
    "city": _text(100),
    "postal_code": _text(20),
    "address": _text(300),
}


@dataclass(frozen=True)
class RecordKind:
    """What one kind of file creates: its model, key column and fields."""

    name: str
    model: Any
    key: str
    fields: Mapping[str, Parser]
    required_new: tuple[str, ...]
    defaults: Mapping[str, Any]

    @property
    def columns(self) -> Columns:
        return Columns(known=(self.key, *self.fields), required=(self.key,))


PRODUCTS = RecordKind("products", Product, "sku", PRODUCT_FIELDS, ("name", "unit_price"),
                      {"category": "general", "active": True, "unit": "unit",
                       "min_quantity": Decimal(1), "pack_size": Decimal(1)})
CUSTOMERS = RecordKind("customers", Customer, "code", CUSTOMER_FIELDS, ("name",), {})


@dataclass
class CatalogueReport:
    """Counts, the changed records and the refused rows of a catalogue or customer import."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    rows: int = 0
    changes: list[Change] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def import_records(
    session: Session,
    kind: RecordKind,
    binary: Iterable[bytes],
    options: CsvOptions | None = None,
    *,
    on_refused: OnRefused | None = None,
    on_change: OnChange | None = None,
    on_batch: Callable[[Session, int, CatalogueReport], Any] | None = None,
    start_after_row: int = 0,
) -> CatalogueReport:
    """Import a products or customers file (``kind`` is :data:`PRODUCTS` or
    :data:`CUSTOMERS`); raises :class:`erpkit.ValidationFailed` before writing anything
    when the file itself is unusable (a column unknown, a byte of another encoding).

    ``on_batch(session, last_row, report)`` runs inside each batch's transaction, just
    before its commit (an import run records its progress there); rows up to
    ``start_after_row`` are skipped (resuming a run).
    """
    options = options or CsvOptions()
    cells = Cells(options)
    report = CatalogueReport(kind.name)
    seen: dict[str, int] = {}
    batch: list[tuple[Row, str, dict[str, Any]]] = []

    def refuse(error: RowError) -> None:
        report.errors.append(error)
        report.refused += 1
        if on_refused:
            on_refused(error)

    def flush(last_row: int) -> None:
        _write_batch(session, kind, batch, report, refuse, on_change)
        if on_batch:
            on_batch(session, last_row, report)
        session.commit()
        batch.clear()

    last = start_after_row
    for row in read_rows(binary, options, kind.columns):
        last = row.number
        if row.number <= start_after_row:  # done by the stopped run; its keys still count
            seen.setdefault(row.cells.get(kind.key, ""), row.number)
            continue
        report.rows += 1
        key = row.cells.get(kind.key, "")
        if not key:
            refuse(RowError(row.number, None, kind.key, f"every row needs a {kind.key}"))
        elif key in seen:
            refuse(RowError(row.number, key, kind.key,
                            f"{kind.key} {key} is given already at row {seen[key]}"))
        else:
            seen[key] = row.number
            values = _parse(row, key, kind, cells, refuse)
            if values is not None:
                batch.append((row, key, values))
        if len(batch) >= BATCH:
            flush(row.number)
    flush(last)
    return report


def _parse(row: Row, key: str, kind: RecordKind, cells: Cells,
           refuse: Callable[[RowError], None]) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    failed = False
    if len(key) > 64:
        refuse(RowError(row.number, key, kind.key, "longer than 64 characters"))
        failed = True
    if row.too_long:
        refuse(RowError(row.number, key, "row", "more cells than columns"))
        failed = True
    for name, parse in kind.fields.items():
        text = row.cells.get(name, "")
        if not text:
            continue
        try:
            values[name] = parse(cells, text)
        except CellError as exc:
            refuse(RowError(row.number, key, name, str(exc)))
            failed = True
    return None if failed else values


def _write_batch(session: Session, kind: RecordKind,
                 batch: list[tuple[Row, str, dict[str, Any]]], report: CatalogueReport,
                 refuse: Callable[[RowError], None], on_change: OnChange | None) -> None:
    if not batch:
        return
    model = kind.model
    key_column = getattr(model, kind.key)
    names = [kind.key, *kind.fields]
    stored = {row._mapping[kind.key]: row._mapping for row in session.execute(
        sa.select(model.id, *(getattr(model, n) for n in names))
        .where(key_column.in_([key for _row, key, _values in batch])))}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    now = utcnow()
    for row, key, values in batch:
        before = stored.get(key)
        if before is None:
            missing = [name for name in kind.required_new if name not in values]
            if missing:
                refuse(RowError(row.number, key, missing[0],
                                f"a new {kind.name[:-1]} needs {' and '.join(missing)}"))
                continue
            record = {**kind.defaults, **values}
            if (problem := _limits_problem(kind, record)) is not None:
                refuse(RowError(row.number, key, "max_quantity", problem))
                continue
            inserts.append({name: record.get(name) for name in names if name != kind.key}
                           | {kind.key: key, "created_at": now})
            report.created += 1
            _tell(report, on_change, Change(row.number, key, "created"), keep=False)
            continue
        changes = {name: (before[name], value) for name, value in values.items()
                   if before[name] != value}
        if not changes:
            report.unchanged += 1
            continue
        if (problem := _limits_problem(kind, {**before, **values})) is not None:
            refuse(RowError(row.number, key, "max_quantity", problem))
            continue
        updates.append({"_id": before["id"], **{name: new for name, (_old, new) in
                                                 changes.items()}})
        report.updated += 1
        _tell(report, on_change, Change(row.number, key, "updated", changes), keep=True)
    if inserts:
        session.execute(sa.insert(model), inserts)
    for update in updates:  # one UPDATE each: the changed fields differ from row to row
        row_id = update.pop("_id")
        session.execute(sa.update(model).where(model.id == row_id).values(**update))


def _limits_problem(kind: RecordKind, record: Mapping[str, Any]) -> str | None:
    if kind is not PRODUCTS:
        return None
    low, high = record.get("min_quantity"), record.get("max_quantity")
    if low is not None and high is not None and high < low:
        return f"max_quantity {high} is below min_quantity {low}"
    return None


def _tell(report: CatalogueReport, on_change: OnChange | None, change: Change, *,
          keep: bool) -> None:
    # Updates are kept in the report (they say what changed); creations are counted.
    if keep:
        report.changes.append(change)
    if on_change:
        on_change(change)
