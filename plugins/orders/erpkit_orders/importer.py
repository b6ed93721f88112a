"""Import orders from a CSV file: today's drafts, and a company's past orders as history.

The file is read twice, row by row, never held in memory: the first pass checks the
columns and the encoding and notes the last row of every order number; the second builds
each order as soon as its last row has been read, so a file sorted by order number keeps
one order in memory at a time (an unsorted one keeps only the orders still waiting for
a later row).

Each order is one of two kinds, by its ``status`` (empty: ``delivered`` when a
``delivered_date`` is given, ``shipped`` when a ``shipped_date`` is, else ``draft``):

- ``draft``: created through the intake (:func:`erpkit_orders.intake.create_order`),
  in its own transaction, with every plugin's checks and hooks, as if typed in today;
- ``confirmed``, ``shipped``, ``delivered``, ``closed``, ``cancelled``: history, written
  in batches by :mod:`erpkit_orders.history`, without hooks, queues or stock moves.

An order with any bad row is refused as a whole and every problem is reported with its
row (the header is row 1, as in a spreadsheet); the other orders are imported. Each
order gets the idempotency key ``import:<order number>`` and the order number as
``external_ref``: importing a file again creates nothing, and an order that differs
from what an earlier import stored (other lines, quantities, prices, dates) is reported
as differing and left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import Problem, TransitionFailed, TransitionRefused, ValidationFailed
from erpkit.plugins import Registry, registry_of
from erpkit_orders.catalogue_import import _country, _email
from erpkit_orders.csv_reading import CellError, Cells, Columns, CsvOptions, Row, read_rows
from erpkit_orders.history import HISTORY_STATUSES, HistoricalOrder, write_history
from erpkit_orders.import_report import OnRefused, RowError
from erpkit_orders.intake import create_order, existing_for_key
from erpkit_orders.models import Customer, Order, OrderLine, Product

DEFAULT_CHANNEL = "import"
#: Historical orders written per transaction.
BATCH = 1000
#: The report lists at most this many orders one by one (the counts cover all).
LISTED = 1000
#: Customer codes remembered during an import (one query each otherwise).
CUSTOMERS_CACHED = 200_000
PRODUCTS_CACHED = 100_000

Parser = Callable[[Cells, str], Any]


def _text(limit: int) -> Parser:
    return lambda _cells, text: Cells.text(text, limit)


def _integer(_cells: Cells, text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise CellError(f"not a customer id: {text!r}")
    return int(text)


def _currency(_cells: Cells, text: str) -> str:
    if len(text) != 3 or not text.isalpha() or not text.isupper():
        raise CellError(f"use a 3-letter ISO 4217 code, got {text!r}")
    return text


def _status(_cells: Cells, text: str) -> str:
    status = text.lower()
    if status not in ("draft", *HISTORY_STATUSES):
        raise CellError(f"unknown status {text!r}; one of: draft, {', '.join(HISTORY_STATUSES)}")
    return status


def _not_negative(cells: Cells, text: str) -> Decimal:
    value = cells.decimal(text)
    if value < 0:
        raise CellError(f"cannot be negative, got {value}")
    return value


#: Columns that hold one value per order (each row of the order may repeat it).
HEADER_PARSERS: dict[str, Parser] = {
    "customer_code": _text(64),
    "customer_email": lambda _c, t: _email(t),
    "customer_id": _integer,
    "channel": _text(32),
    "currency": _currency,
    "requested_date": lambda c, t: c.date(t),
    "required_date": lambda c, t: c.date(t),
    "note": lambda _c, t: Cells.text(t, 10_000),
    "order_date": lambda c, t: c.datetime(t),
    "shipped_date": lambda c, t: c.datetime(t),
    "delivered_date": lambda c, t: c.datetime(t),
    "status": _status,
    "ship_to_name": _text(200),
    "ship_to_address": _text(300),
    "ship_to_city": _text(100),
    "ship_to_postal_code": _text(20),
    "ship_to_region": _text(80),
    "ship_to_country": lambda _c, t: _country(t),
    "carrier": _text(80),
    "shipping_charge": _not_negative,
    "salesperson": _text(120),
}
#: Columns of each row, one order line.
LINE_PARSERS: dict[str, Parser] = {
    "sku": _text(64),
    "quantity": lambda c, t: c.decimal(t),
    "unit_price": lambda c, t: c.decimal(t),
    "discount_percent": lambda c, t: c.decimal(t),
}
CUSTOMER_COLUMNS = ("customer_code", "customer_email", "customer_id")
COLUMNS = Columns(known=("order_number", *HEADER_PARSERS, *LINE_PARSERS),
                  required=("order_number", "sku", "quantity"), one_of=(CUSTOMER_COLUMNS,))
#: Header columns the draft path hands to the intake (the rest are history's).
DRAFT_FIELDS = ("channel", "currency", "requested_date", "note")

#: Opens the file in binary mode, again for each pass.
BinaryOpener = Callable[[], AbstractContextManager[IO[bytes]]]


def binary_of_path(path: str) -> BinaryOpener:
    return lambda: open(path, "rb")


def binary_of_stream(binary: IO[bytes]) -> BinaryOpener:
    """An opener for a seekable binary file (an upload): each pass starts at its top."""

    @contextmanager
    def opened() -> Iterator[IO[bytes]]:
        binary.seek(0)
        yield binary

    return opened


@dataclass(frozen=True)
class ImportedOrder:
    order_number: str
    outcome: str  # created | already_imported | differs | refused
    number: str | None = None
    id: int | None = None


@dataclass
class ImportReport:
    created: int = 0
    already_imported: int = 0
    differs: int = 0
    refused: int = 0
    rows: int = 0
    #: The first :data:`LISTED` orders, one by one.
    orders: list[ImportedOrder] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def add(self, order: ImportedOrder) -> None:
        setattr(self, order.outcome, getattr(self, order.outcome) + 1)
        if len(self.orders) < LISTED:
            self.orders.append(order)


@dataclass(frozen=True)
class ImportPlan:
    """What the first pass learnt: how many rows, and the last row of each order."""

    rows: int
    last_row: dict[str, int]


@dataclass(frozen=True)
class Checkpoint:
    """Where a stopped import resumes: rows up to ``safe_row`` belong to orders already
    dealt with; an order whose last row is at most ``done_row`` was dealt with too."""

    safe_row: int = 0
    done_row: int = 0


def plan_import(opener: BinaryOpener, options: CsvOptions | None = None) -> ImportPlan:
    """First pass: check the file is readable and find where each order ends."""
    last_row: dict[str, int] = {}
    count = 0
    with opener() as binary:
        for row in read_rows(binary, options or CsvOptions(), COLUMNS):
            count += 1
            number = row.cells.get("order_number", "")
            if number:
                last_row[number] = row.number
    return ImportPlan(count, last_row)


@dataclass
class _Parsed:
    """One order's rows, typed: header values and lines, or the problems found."""

    number: str
    rows: list[Row]
    header: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def status(self) -> str:
        if "status" in self.header:
            return str(self.header["status"])
        if "delivered_date" in self.header:
            return "delivered"
        return "shipped" if "shipped_date" in self.header else "draft"

    def error(self, row: int, name: str, message: str) -> None:
        self.errors.append(RowError(row, self.number, name, message))


def _parse(number: str, rows: list[Row], cells: Cells) -> _Parsed:
    parsed = _Parsed(number, rows)
    first_seen: dict[str, int] = {}
    for row in rows:
        if row.too_long:
            parsed.error(row.number, "row", "more cells than columns")
        line: dict[str, Any] = {"row": row.number}
        for name, text in row.cells.items():
            parser = HEADER_PARSERS.get(name) or LINE_PARSERS.get(name)
            if not text or parser is None:
                continue
            try:
                value = parser(cells, text)
            except CellError as exc:
                parsed.error(row.number, name, str(exc))
                continue
            if name in LINE_PARSERS:
                line[name] = value
            elif name not in parsed.header:
                parsed.header[name], first_seen[name] = value, row.number
            elif parsed.header[name] != value:
                parsed.error(row.number, name, f"differs from row {first_seen[name]} of the "
                             f"same order ({row.cells.get(name)} here, {parsed.header[name]} "
                             "there)")
        parsed.lines.append(line)
    if "required_date" in parsed.header:
        parsed.header.setdefault("requested_date", parsed.header.pop("required_date"))
    return parsed


class _Importer:
    """The second pass: orders as they complete, drafts one by one, history in batches."""

    def __init__(self, session: Session, options: CsvOptions, actor: Any,
                 on_refused: OnRefused | None,
                 on_batch: Callable[[Session, Checkpoint, ImportReport], Any] | None,
                 registry: Registry) -> None:
        self.session = session
        self.registry = registry
        self.cells = Cells(options)
        self.actor = actor
        self.actor_name = getattr(actor, "login", None) or (str(actor) if actor else None)
        self.on_refused = on_refused
        self.on_batch = on_batch
        self.report = ImportReport()
        self.history: list[tuple[_Parsed, HistoricalOrder]] = []
        parameters = registry.parameters
        self.pattern = str(parameters.get(session, "orders.number_pattern"))
        self.currency = str(parameters.get(session, "core.default_currency"))
        self.channels = set(parameters.get(session, "orders.channels"))
        session.rollback()  # no transaction left open between orders (SQLite's lock)
        self.products: dict[str, tuple[int, Decimal, bool]] = {}
        self.products_read = False
        self.customers: dict[str, int] | None = None  # code -> id, read at first use
        self.customers_complete = False

    # -- reporting -----------------------------------------------------------------------

    def refuse(self, parsed: _Parsed) -> None:
        for error in parsed.errors:
            self.refuse_row(error)
        self.report.add(ImportedOrder(parsed.number, "refused"))

    def refuse_row(self, error: RowError) -> None:
        self.report.errors.append(error)
        if self.on_refused:
            self.on_refused(error)

    # -- one complete order ------------------------------------------------------------

    def order(self, number: str, rows: list[Row]) -> None:
        parsed = _parse(number, rows, self.cells)
        if parsed.errors:
            self.refuse(parsed)
        elif parsed.status == "draft":
            self.draft(parsed)
        else:
            historical = self.historical(parsed)
            if parsed.errors or historical is None:
                self.refuse(parsed)
            else:
                self.history.append((parsed, historical))

    def _customer_id(self, parsed: _Parsed) -> int | None:
        header, first = parsed.header, parsed.rows[0].number
        if "customer_id" in header:
            return int(header["customer_id"])
        if "customer_code" in header:
            code = header["customer_code"]
            found = self._customer_by_code(code)
            if found is None:
                parsed.error(first, "customer_code",
                             f"no customer has the code {header['customer_code']!r}; "
                             "Fix: import the customers first (erpkit customers import)")
            return found
        if "customer_email" in header:
            found_ids = list(self.session.scalars(sa.select(Customer.id).where(
                sa.func.lower(Customer.email) == header["customer_email"].lower()).limit(2)))
            if len(found_ids) != 1:
                parsed.error(first, "customer_email",
                             f"no customer has the e-mail {header['customer_email']!r}"
                             if not found_ids else
                             f"several customers have the e-mail {header['customer_email']!r}"
                             "; give customer_code or customer_id instead")
                return None
            return found_ids[0]
        parsed.error(first, "customer_code", "give customer_code, customer_email or customer_id")
        return None

    def _customer_by_code(self, code: str) -> int | None:
        """The id of the customer with ``code``: every code is read once, in one query,
        unless there are very many customers (then one indexed query each)."""
        if self.customers is None:
            rows = self.session.execute(sa.select(Customer.code, Customer.id)
                                        .where(Customer.code.is_not(None))
                                        .limit(CUSTOMERS_CACHED + 1)).all()
            self.customers = ({str(code): int(id_) for code, id_ in rows}
                              if len(rows) <= CUSTOMERS_CACHED else {})
            self.customers_complete = len(rows) <= CUSTOMERS_CACHED
        found = self.customers.get(code)
        if found is None and not self.customers_complete:
            found = self.session.scalar(sa.select(Customer.id).where(Customer.code == code))
        return found

    def draft(self, parsed: _Parsed) -> None:
        """A draft goes through the intake like any new order (its own transaction)."""
        self.flush()
        key = f"import:{parsed.number}"
        try:
            earlier = existing_for_key(self.session, key)
            if earlier is not None:
                self._compare(parsed, earlier)
                return
            customer_id = self._customer_id(parsed)
            if parsed.errors:
                self.refuse(parsed)
                return
            data: dict[str, Any] = {
                "channel": DEFAULT_CHANNEL, "external_ref": parsed.number,
                "customer_id": customer_id,
                **{name: parsed.header[name] for name in DRAFT_FIELDS if name in parsed.header},
                "lines": [{name: line.get(name) for name in LINE_PARSERS}
                          for line in parsed.lines]}
            try:
                intake = create_order(self.session, data, actor=self.actor,
                                      idempotency_key=key, registry=self.registry)
            except ValidationFailed as exc:
                parsed.errors.extend(_row_error(parsed, p) for p in exc.problems)
                self.refuse(parsed)
            except (TransitionRefused, TransitionFailed) as exc:
                plugin = getattr(exc, "plugin", None)
                parsed.error(parsed.rows[0].number, "order",
                             f"refused{f' by {plugin}' if plugin else ''}: "
                             f"{getattr(exc, 'message', exc)}")
                self.refuse(parsed)
            else:
                self.report.add(ImportedOrder(
                    parsed.number, "created" if intake.created else "already_imported",
                    intake.order.number, intake.order.id))
        finally:
            self.session.rollback()

    # -- history -----------------------------------------------------------------------

    def _product(self, sku: str) -> tuple[int, Decimal, bool] | None:
        if not self.products_read:
            # The catalogue is read once: a few thousand products, one query.
            self.products_read = True
            for row in self.session.execute(sa.select(Product.sku, Product.id,
                                                      Product.unit_price, Product.active)
                                            .limit(PRODUCTS_CACHED)):
                self.products[row.sku] = (row.id, row.unit_price, row.active)
        if sku not in self.products:
            found = self.session.execute(sa.select(Product.id, Product.unit_price,
                                                   Product.active)
                                         .where(Product.sku == sku)).first()
            if found is None:
                return None
            self.products[sku] = (found.id, found.unit_price, found.active)
        return self.products[sku]

    def historical(self, parsed: _Parsed) -> HistoricalOrder | None:
        """The order checked as history: dates in order, known customer and products
        (inactive ones too: they were sold then), prices as given."""
        header, first = parsed.header, parsed.rows[0].number
        status = parsed.status
        ordered_at: datetime | None = header.get("order_date")
        shipped_at, delivered_at = header.get("shipped_date"), header.get("delivered_date")
        if ordered_at is None:
            parsed.error(first, "order_date", f"a {status} order (history) needs its order_date")
        if status in ("shipped", "delivered") and shipped_at is None:
            parsed.error(first, "shipped_date", f"a {status} order needs its shipped_date")
        if status in ("confirmed", "cancelled") and (shipped_at or delivered_at):
            parsed.error(first, "status", f"a {status} order has not shipped; "
                         "give its status as shipped, delivered or closed")
        if status == "shipped" and delivered_at is not None:
            parsed.error(first, "status", "a shipped order with a delivered_date is delivered")
        if delivered_at is not None and shipped_at is None:
            parsed.error(first, "shipped_date", "a delivered order needs its shipped_date")
        if ordered_at and shipped_at and shipped_at < ordered_at:
            parsed.error(first, "shipped_date", "shipped before it was ordered")
        if shipped_at and delivered_at and delivered_at < shipped_at:
            parsed.error(first, "delivered_date", "delivered before it was shipped")
        channel = header.get("channel", DEFAULT_CHANNEL)
        if channel not in self.channels:
            parsed.error(first, "channel", f"unknown channel {channel!r}; one of: "
                         f"{', '.join(sorted(self.channels))}")
        lines = []
        for line in parsed.lines:
            product = self._product(line["sku"]) if line.get("sku") else None
            if product is None:
                parsed.error(line["row"], "sku", f"unknown product {line.get('sku')!r}")
                continue
            quantity = line["quantity"]
            price = line.get("unit_price", product[1])
            discount = line.get("discount_percent", Decimal(0))
            if quantity <= 0:
                parsed.error(line["row"], "quantity",
                             f"quantity must be positive, got {quantity}")
            if price < 0:
                parsed.error(line["row"], "unit_price",
                             f"unit price cannot be negative, got {price}")
            if not Decimal(0) <= discount <= Decimal(100):
                parsed.error(line["row"], "discount_percent",
                             f"discount must be between 0 and 100 percent, got {discount}")
            lines.append((product[0], quantity, price, discount))
        customer_id = self._customer_id(parsed)
        if parsed.errors or customer_id is None or ordered_at is None:
            return None
        return HistoricalOrder(
            key=f"import:{parsed.number}", external_ref=parsed.number, customer_id=customer_id,
            status=status, ordered_at=ordered_at, shipped_at=shipped_at,
            delivered_at=delivered_at, shipping_charge=header.get("shipping_charge",
                                                                  Decimal(0)),
            header={"channel": channel, "currency": header.get("currency", self.currency),
                    **{k: v for k, v in header.items() if k not in ("channel", "currency")}},
            lines=lines)

    def flush(self, checkpoint: Checkpoint | None = None) -> None:
        """Write the waiting historical orders, one transaction; orders imported earlier
        are compared with the file instead."""
        batch, self.history = self.history, []
        if batch:
            fresh = self._compare_earlier(batch)
            counted = len(self.report.orders), self.report.created
            try:
                written = write_history(self.session, [h for _p, h in fresh],
                                        pattern=self.pattern, actor=self.actor_name)
                for (parsed, _h), (order_id, number) in zip(fresh, written, strict=True):
                    self.report.add(ImportedOrder(parsed.number, "created", number, order_id))
                self._announce(written)
                if self.on_batch and checkpoint is not None:
                    self.on_batch(self.session, checkpoint, self.report)
                self.session.commit()
            except sa.exc.IntegrityError:
                self.session.rollback()
                del self.report.orders[counted[0]:]
                self.report.created = counted[1]
                self._one_by_one(fresh)  # isolate the order that cannot be written
            else:
                return
        if self.on_batch and checkpoint is not None:
            self.on_batch(self.session, checkpoint, self.report)
            self.session.commit()

    def _announce(self, written: list[tuple[int, str]]) -> None:
        """Tell the plugins of the orders just written, in their transaction (hook
        ``erpkit_orders_history_imported``)."""
        if written:
            self.registry.pm.hook.erpkit_orders_history_imported(
                session=self.session, order_ids=[order_id for order_id, _ in written])

    def _one_by_one(self, batch: list[tuple[_Parsed, HistoricalOrder]]) -> None:
        for parsed, historical in batch:
            try:
                [(order_id, number)] = write_history(self.session, [historical],
                                                     pattern=self.pattern,
                                                     actor=self.actor_name)
                self._announce([(order_id, number)])
                self.session.commit()
            except sa.exc.IntegrityError as exc:
                self.session.rollback()
                parsed.error(parsed.rows[0].number, "order",
                             f"could not be written: {exc.orig}")
                self.refuse(parsed)
            else:
                self.report.add(ImportedOrder(parsed.number, "created", number, order_id))

    def _compare_earlier(self, batch: list[tuple[_Parsed, HistoricalOrder]]) -> list[
            tuple[_Parsed, HistoricalOrder]]:
        """The orders of ``batch`` not imported before; the others are compared."""
        earlier = {order.idempotency_key: order for order in self.session.execute(
            sa.select(Order.id, Order.number, Order.idempotency_key, Order.status,
                      Order.ordered_at, Order.shipped_at, Order.delivered_at,
                      Order.shipping_charge, Order.customer_id)
            .where(Order.idempotency_key.in_([h.key for _p, h in batch])))}
        stored_lines = self._stored_lines([order.id for order in earlier.values()])
        fresh = []
        for parsed, historical in batch:
            if historical.key in earlier:
                stored = earlier[historical.key]
                self._compare(parsed, stored, historical, stored_lines.get(stored.id, []))
            else:
                fresh.append((parsed, historical))
        return fresh

    def _stored_lines(self, order_ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
        """The lines (sku, quantity, price, discount) of orders imported earlier."""
        lines: dict[int, list[tuple[Any, ...]]] = {}
        if not order_ids:
            return lines
        for row in self.session.execute(
                sa.select(OrderLine.order_id, Product.sku, OrderLine.quantity,
                          OrderLine.unit_price, OrderLine.discount_percent)
                .join(Product, OrderLine.product_id == Product.id)
                .where(OrderLine.order_id.in_(order_ids))
                .order_by(OrderLine.order_id, OrderLine.line_no)):
            lines.setdefault(row[0], []).append(tuple(row[1:]))
        return lines

    def _compare(self, parsed: _Parsed, stored: Any,
                 historical: HistoricalOrder | None = None,
                 lines: list[tuple[Any, ...]] | None = None) -> None:
        """Report an order imported before as already imported, or as differing."""
        wanted = [(line.get("sku"), line.get("quantity"), line.get("unit_price"),
                   line.get("discount_percent")) for line in parsed.lines]
        if lines is None:
            lines = self._stored_lines([stored.id]).get(stored.id, [])
        differences = []
        if len(lines) != len(wanted):
            differences.append(f"{len(wanted)} lines in the file, {len(lines)} stored")
        for index, (mine, theirs) in enumerate(zip(wanted, lines, strict=False), start=1):
            for name, file_value, stored_value in zip(
                    ("sku", "quantity", "unit_price", "discount_percent"), mine, theirs,
                    strict=True):
                if file_value is not None and file_value != stored_value:
                    differences.append(f"line {index} {name} {file_value} in the file, "
                                       f"{_plain(stored_value)} stored")
        if historical is not None:
            for name in ("status", "ordered_at", "shipped_at", "delivered_at",
                         "shipping_charge", "customer_id"):
                mine_value, theirs_value = getattr(historical, name), getattr(stored, name)
                if name == "shipping_charge" and "shipping_charge" not in parsed.header:
                    continue
                if mine_value != theirs_value:
                    differences.append(f"{name} {_plain(mine_value)} in the file, "
                                       f"{_plain(theirs_value)} stored")
        if not differences:
            self.report.add(ImportedOrder(parsed.number, "already_imported", stored.number,
                                          stored.id))
            return
        self.refuse_row(RowError(parsed.rows[0].number, parsed.number, "order",
                                 f"differs from order {stored.number} imported earlier: "
                                 f"{'; '.join(differences)}; left unchanged"))
        self.report.add(ImportedOrder(parsed.number, "differs", stored.number, stored.id))


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def import_orders(
    session: Session,
    opener: BinaryOpener,
    options: CsvOptions | None = None,
    *,
    actor: Any = None,
    plan: ImportPlan | None = None,
    progress: Callable[[int], Any] | None = None,
    on_refused: OnRefused | None = None,
    on_batch: Callable[[Session, Checkpoint, ImportReport], Any] | None = None,
    resume: Checkpoint | None = None,
    registry: Registry | None = None,
) -> ImportReport:
    """Import every order of the file; refuse only the orders with a bad row.

    ``progress(n)`` is called as rows are read, ``on_refused(error)`` as each row is
    refused; ``on_batch(session, checkpoint, report)`` runs inside each batch's
    transaction before it commits (an import run records its progress there), and
    ``resume`` skips what a stopped run did already. Raises :class:`ValidationFailed`
    before importing anything when the file itself is unusable (another encoding,
    missing columns). ``registry`` defaults to the one ``session`` serves.
    """
    options = options or CsvOptions()
    plan = plan or plan_import(opener, options)
    resume = resume or Checkpoint()
    importer = _Importer(session, options, actor, on_refused, on_batch,
                         registry or registry_of(session))
    waiting: dict[str, list[Row]] = {}
    with opener() as binary:
        for row in read_rows(binary, options, COLUMNS):
            if progress:
                progress(1)
            if row.number <= resume.safe_row:
                continue
            number = row.cells.get("order_number", "")
            if plan.last_row.get(number, 0) <= resume.done_row:
                continue  # an order the stopped run dealt with
            if row.number > resume.done_row:  # rows before were counted by the stopped run
                importer.report.rows += 1
            if not number:
                importer.refuse_row(RowError(row.number, None, "order_number",
                                             "every row needs an order_number"))
                continue
            waiting.setdefault(number, []).append(row)
            if plan.last_row.get(number) == row.number:
                importer.order(number, waiting.pop(number))
                if len(importer.history) >= BATCH:
                    importer.flush(_checkpoint(waiting, row.number))
        importer.flush(Checkpoint(DONE, DONE))
    return importer.report


#: A checkpoint past every row: the file is done.
DONE = 2**62


def _checkpoint(waiting: dict[str, list[Row]], row: int) -> Checkpoint:
    first_waiting = min((rows[0].number for rows in waiting.values()), default=row + 1)
    return Checkpoint(safe_row=first_waiting - 1, done_row=row)


def _row_error(parsed: _Parsed, problem: Problem) -> RowError:
    """An intake problem (``lines.2.quantity``, line 3) told in the file's terms."""
    rows = parsed.rows
    row = rows[problem.line - 1].number if problem.line and problem.line <= len(rows) \
        else rows[0].number
    name = problem.field
    if name.startswith("lines.") and name.count(".") >= 2:
        name = name.split(".", 2)[2]
        name = "sku" if name == "product_id" else name
    elif name == "customer_id" and "customer_id" not in parsed.header:
        name = "customer_email" if "customer_email" in parsed.header else "customer_code"
    return RowError(row, parsed.number, name, problem.message)
