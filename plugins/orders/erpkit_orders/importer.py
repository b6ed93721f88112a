"""Import orders from a CSV file: one order per order number, each in its own transaction.

The file is read twice, row by row, never held in memory: the first pass checks the
columns and notes the last row of every order number; the second builds each order as
soon as its last row has been read, so a sorted file keeps one order in memory at a time
(an unsorted one keeps only the orders still waiting for a later row).

An order with any bad row is refused as a whole and every problem is reported with its
row (the header is row 1, as in a spreadsheet). Each order is created with the
idempotency key ``import:<order number>`` and the order number as ``external_ref``, so
importing a file again creates nothing new, and an import stopped half-way can simply be
run again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from erpkit import Problem, TransitionFailed, TransitionRefused, ValidationFailed
from erpkit.schemas import Price, Quantity
from erpkit_orders.catalogue import customer_by_email
from erpkit_orders.intake import create_order, existing_for_key
from erpkit_orders.schemas import SIGNED

REQUIRED_COLUMNS = ("order_number", "sku", "quantity")
CUSTOMER_COLUMNS = ("customer_email", "customer_id")
HEADER_COLUMNS = ("channel", "currency", "requested_date", "note")
KNOWN_COLUMNS = (*REQUIRED_COLUMNS, *CUSTOMER_COLUMNS, *HEADER_COLUMNS,
                 "unit_price", "discount_percent")
DEFAULT_CHANNEL = "import"

#: Opens the file as text, again for each pass.
TextOpener = Callable[[], AbstractContextManager[IO[str]]]


class _RowSchema(Schema):
    order_number = fields.String(required=True, validate=validate.Length(max=80))
    customer_email = fields.Email(validate=validate.Length(max=254))
    customer_id = fields.Integer()
    channel = fields.String(validate=validate.Length(max=32))
    currency = fields.String(validate=validate.Regexp(
        r"^[A-Z]{3}$", error="use a 3-letter ISO 4217 code"))
    requested_date = fields.Date()
    note = fields.String()
    sku = fields.String(required=True, validate=validate.Length(max=64))
    quantity = Quantity(required=True, validate=SIGNED)
    unit_price = Price(validate=SIGNED)
    discount_percent = Price(validate=SIGNED)


_ROW_SCHEMA = _RowSchema()


@dataclass(frozen=True)
class RowError:
    row: int
    order_number: str | None
    field: str
    message: str


@dataclass(frozen=True)
class ImportedOrder:
    order_number: str
    outcome: str  # created | already_imported | refused
    number: str | None = None
    id: int | None = None


@dataclass
class ImportReport:
    orders: list[ImportedOrder] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def _count(self, outcome: str) -> int:
        return sum(1 for order in self.orders if order.outcome == outcome)

    @property
    def created(self) -> int:
        return self._count("created")

    @property
    def already_imported(self) -> int:
        return self._count("already_imported")

    @property
    def refused(self) -> int:
        return self._count("refused")


@dataclass(frozen=True)
class _Row:
    number: int
    cells: dict[str, str]
    too_long: bool = False  # more cells than the header has columns


@dataclass(frozen=True)
class ImportPlan:
    """What the first pass learnt: how many rows, and the last row of each order."""

    rows: int
    last_row: dict[str, int]


def text_of_path(path: str) -> TextOpener:
    return lambda: open(path, encoding="utf-8-sig", newline="")


def text_of_binary(binary: IO[bytes]) -> TextOpener:
    """An opener for a seekable binary file (an upload): each pass starts at its top."""

    @contextmanager
    def opened() -> Iterator[IO[str]]:
        binary.seek(0)
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        try:
            yield text
        finally:
            text.detach()  # leave the upload open for the next pass

    return opened


def _rows(text: IO[str]) -> Iterator[_Row]:
    """The data rows with cells keyed by column; checks the header first."""
    reader = csv.reader(text)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        _check_header(header)
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            yield _Row(reader.line_num, dict(zip(header, cells, strict=False)),
                       too_long=len(cells) > len(header))
    except UnicodeDecodeError:
        raise ValidationFailed.single(
            "file", f"the file is not UTF-8 text (near row {reader.line_num + 1})",
            code="not_utf8") from None
    except csv.Error as exc:
        raise ValidationFailed.single(
            "file", f"row {reader.line_num}: not readable as CSV: {exc}", code="bad_csv") from None


def _check_header(header: list[str]) -> None:
    problems: list[Problem] = []
    if not header:
        problems.append(Problem(field="file", code="empty", line=1, message="the file is empty"))
    unknown = [name for name in header if name not in KNOWN_COLUMNS]
    if unknown:
        problems.append(Problem(field="columns", code="unknown_column", line=1,
                                message=f"unknown columns: {', '.join(unknown)}; known: "
                                f"{', '.join(KNOWN_COLUMNS)}"))
    doubled = sorted({name for name in header if header.count(name) > 1})
    if doubled:
        problems.append(Problem(field="columns", code="duplicate_column", line=1,
                                message=f"columns named twice: {', '.join(doubled)}"))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if header and not any(name in header for name in CUSTOMER_COLUMNS):
        missing.append(" or ".join(CUSTOMER_COLUMNS))
    if header and missing:
        problems.append(Problem(field="columns", code="missing_column", line=1,
                                message=f"missing columns: {', '.join(missing)}"))
    if problems:
        raise ValidationFailed(problems)


def plan_import(opener: TextOpener) -> ImportPlan:
    """First pass: check the file is readable and find where each order ends."""
    last_row: dict[str, int] = {}
    count = 0
    with opener() as text:
        for row in _rows(text):
            count += 1
            number = row.cells.get("order_number", "").strip()
            if number:
                last_row[number] = row.number
    return ImportPlan(count, last_row)


def import_orders(
    session: Session,
    opener: TextOpener,
    *,
    actor: Any = None,
    plan: ImportPlan | None = None,
    progress: Callable[[int], Any] | None = None,
) -> ImportReport:
    """Import every order of the file; refuse only the orders with a bad row.

    ``progress(n)`` is called as rows are read. Raises :class:`ValidationFailed` before
    importing anything when the file itself is unusable (not UTF-8, missing columns).
    """
    plan = plan or plan_import(opener)
    report = ImportReport()
    waiting: dict[str, list[_Row]] = {}
    with opener() as text:
        for row in _rows(text):
            number = row.cells.get("order_number", "").strip()
            if not number:
                report.errors.append(RowError(row.number, None, "order_number",
                                              "every row needs an order_number"))
            else:
                waiting.setdefault(number, []).append(row)
                if plan.last_row.get(number) == row.number:
                    try:
                        _import_one(session, number, waiting.pop(number), actor, report)
                    finally:
                        # End the reads made around the order's own transaction, so the
                        # import never holds a transaction (SQLite: the write lock) open
                        # from one order to the next.
                        session.rollback()
            if progress:
                progress(1)
    return report


def _import_one(session: Session, number: str, rows: list[_Row], actor: Any,
                report: ImportReport) -> None:
    key = f"import:{number}"
    earlier = existing_for_key(session, key)
    if earlier is not None:
        report.orders.append(ImportedOrder(number, "already_imported", earlier.number,
                                           earlier.id))
        return
    errors: list[RowError] = []
    data = _order_data(session, number, rows, errors)
    if not errors:
        try:
            intake = create_order(session, data, actor=actor, idempotency_key=key)
        except ValidationFailed as exc:
            errors.extend(_row_error(number, rows, p) for p in exc.problems)
        except (TransitionRefused, TransitionFailed) as exc:
            plugin = getattr(exc, "plugin", None)
            errors.append(RowError(rows[0].number, number, "order",
                                   f"refused{f' by {plugin}' if plugin else ''}: "
                                   f"{getattr(exc, 'message', exc)}"))
        else:
            outcome = "created" if intake.created else "already_imported"
            report.orders.append(ImportedOrder(number, outcome, intake.order.number,
                                               intake.order.id))
            return
    report.errors.extend(errors)
    report.orders.append(ImportedOrder(number, "refused"))


def _parsed(row: _Row, number: str, errors: list[RowError]) -> dict[str, Any]:
    if row.too_long:
        errors.append(RowError(row.number, number, "row", "more cells than columns"))
    cells = {name: value.strip() for name, value in row.cells.items() if value.strip()}
    try:
        return _ROW_SCHEMA.load(cells)
    except ValidationError as exc:
        for name, messages in exc.normalized_messages().items():
            text = " ".join(messages) if isinstance(messages, list) else str(messages)
            errors.append(RowError(row.number, number, str(name), text))
        return dict(exc.valid_data or {})  # the good cells still count (the customer...)


def _order_data(session: Session, number: str, rows: list[_Row],
                errors: list[RowError]) -> dict[str, Any]:
    """The create_order input for one order's rows; header values must agree."""
    header: dict[str, tuple[Any, int]] = {}
    lines: list[dict[str, Any]] = []
    for row in rows:
        values = _parsed(row, number, errors)
        for name in (*CUSTOMER_COLUMNS, *HEADER_COLUMNS):
            if values.get(name) is None:
                continue
            if name not in header:
                header[name] = (values[name], row.number)
            elif header[name][0] != values[name]:
                errors.append(RowError(row.number, number, name,
                                       f"differs from row {header[name][1]} of the same "
                                       f"order ({header[name][0]})"))
        lines.append({key: values.get(key) for key in
                      ("sku", "quantity", "unit_price", "discount_percent")})
    data: dict[str, Any] = {"channel": DEFAULT_CHANNEL, "external_ref": number, "lines": lines}
    data.update({name: value for name, (value, _row) in header.items()
                 if name in HEADER_COLUMNS})
    if "customer_id" in header:
        data["customer_id"] = header["customer_id"][0]
    elif "customer_email" in header:
        customer, why = customer_by_email(session, header["customer_email"][0])
        if customer is None:
            errors.append(RowError(header["customer_email"][1], number, "customer_email",
                                   why or "unknown customer"))
        else:
            data["customer_id"] = customer.id
    else:
        errors.append(RowError(rows[0].number, number, "customer_email",
                               "give customer_email or customer_id"))
    return data


def _row_error(number: str, rows: list[_Row], problem: Problem) -> RowError:
    """An intake problem (``lines.2.quantity``, line 3) told in the file's terms."""
    row = rows[problem.line - 1].number if problem.line and problem.line <= len(rows) \
        else rows[0].number
    name = problem.field
    if name.startswith("lines.") and name.count(".") >= 2:
        name = name.split(".", 2)[2]
        name = "sku" if name == "product_id" else name
    elif name == "customer_id" and not any(r.cells.get("customer_id", "").strip()
                                           for r in rows):
        name = "customer_email"  # the file named the customer by e-mail
    return RowError(row, number, name, problem.message)
