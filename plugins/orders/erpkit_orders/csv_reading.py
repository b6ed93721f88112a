"""Reading the CSV files people export from spreadsheets and old systems, row by row.

Every import (products, customers, orders) reads its file through :func:`read_rows`:
the bytes are decoded one physical line at a time, so a byte the encoding cannot read is
reported at the row it is in (not "somewhere near"), and the file is never held in
memory. :class:`Cells` turns the text of a cell into a typed value following the file's
conventions (decimal comma, a date format), with a message naming what was expected.

Rows are numbered as a spreadsheet numbers them: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from erpkit import Problem, ValidationFailed

#: The encodings spreadsheets export most; any Python codec name is accepted.
COMMON_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
#: Larger than any amount or quantity the columns hold.
LIMIT = Decimal(10) ** 12
TRUE = {"true", "yes", "y", "1", "t", "active"}
FALSE = {"false", "no", "n", "0", "f", "inactive"}


@dataclass(frozen=True)
class CsvOptions:
    """How to read a file: its encoding, decimal comma, date format and delimiter.

    ``date_format`` is a :func:`datetime.strptime` format (``%d/%m/%Y``); without it dates
    are ISO 8601 (``2024-03-01``, ``2024-03-01 14:30``). ``delimiter`` ``None`` takes ``;``
    when the header has semicolons and no commas (the decimal-comma export), else ``,``.
    """

    encoding: str = "utf-8-sig"
    decimal_comma: bool = False
    date_format: str | None = None
    delimiter: str | None = None

    def __post_init__(self) -> None:
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValidationFailed.single(
                "encoding", f"unknown encoding {self.encoding!r}; Fix: use one of "
                f"{', '.join(COMMON_ENCODINGS)}", code="unknown_encoding") from None
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ValidationFailed.single("delimiter", "the delimiter is one character",
                                          code="invalid")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CsvOptions:
        return cls(**{k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Row:
    """A data row: its number in the file and its cells keyed by column (stripped)."""

    number: int
    cells: dict[str, str]
    too_long: bool = False  # more cells than the header has columns


class _BadByte(Exception):
    def __init__(self, error: UnicodeDecodeError) -> None:
        self.error = error


def _decoded_lines(binary: Iterable[bytes], encoding: str) -> Iterator[str]:
    """The file's text, one physical line at a time.

    Splitting on ``\\n`` before decoding is safe for UTF-8 and the single-byte code pages
    (no multi-byte sequence contains the newline byte); the incremental decoder drops a
    UTF-8 byte order mark at the start."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        for raw in binary:
            yield decoder.decode(raw)
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _BadByte(exc) from None
    if tail:
        yield tail


def _delimiter(header_line: str, options: CsvOptions) -> str:
    if options.delimiter:
        return options.delimiter
    return ";" if ";" in header_line and "," not in header_line else ","


def header_name(text: str) -> str:
    """``Order Date`` -> ``order_date``: column names as the documentation spells them."""
    return "_".join(text.strip().lower().replace("-", " ").split())


def read_rows(binary: Iterable[bytes], options: CsvOptions, columns: Columns) -> Iterator[Row]:
    """The data rows of ``binary`` (a file opened in binary mode), the header checked
    against ``columns`` first. Raises :class:`ValidationFailed` naming the row when a
    byte cannot be decoded or the CSV cannot be parsed; blank rows are skipped."""
    lines = _decoded_lines(binary, options.encoding)
    record = 0  # records read so far: the one being parsed is record + 1
    try:
        first = next(lines, "")
        reader = csv.reader(_prepend(first, lines), delimiter=_delimiter(first, options))
        header = [header_name(name) for name in next(reader, [])]
        record = 1
        columns.check(header)
        for cells in reader:
            record += 1
            if not any(cell.strip() for cell in cells):
                continue
            yield Row(record, {name: value.strip() for name, value in zip(header, cells,
                                                                           strict=False)},
                      too_long=len(cells) > len(header))
    except _BadByte as bad:
        byte = bad.error.object[bad.error.start:bad.error.start + 1].hex()
        raise ValidationFailed([Problem(
            field="file", code="bad_encoding", line=record + 1,
            message=f"row {record + 1}: byte 0x{byte} is not {options.encoding.upper()} text; "
            f"Fix: give the file's encoding (--encoding cp1252 for Windows exports, "
            f"utf-8-sig for Excel's UTF-8)")]) from None
    except csv.Error as exc:
        raise ValidationFailed([Problem(field="file", code="bad_csv", line=record + 1,
                                        message=f"row {record + 1}: not readable as CSV: "
                                        f"{exc}")]) from None


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


@dataclass(frozen=True)
class Columns:
    """The columns a kind of file may have: ``required`` ones, groups of which at least
    one must be present (``customer_code`` or ``customer_email``...), the ``known`` rest."""

    known: tuple[str, ...]
    required: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()

    def check(self, header: list[str]) -> None:
        problems: list[Problem] = []

        def problem(code: str, message: str) -> None:
            problems.append(Problem(field="columns", code=code, line=1, message=message))

        if not header:
            raise ValidationFailed([Problem(field="file", code="empty", line=1,
                                            message="the file is empty")])
        unknown = [name for name in header if name not in self.known]
        if unknown:
            problem("unknown_column", f"unknown columns: {', '.join(unknown)}; known: "
                    f"{', '.join(self.known)}")
        doubled = sorted({name for name in header if header.count(name) > 1})
        if doubled:
            problem("duplicate_column", f"columns named twice: {', '.join(doubled)}")
        missing = [name for name in self.required if name not in header]
        missing += [" or ".join(group) for group in self.one_of
                    if not any(name in header for name in group)]
        if missing:
            problem("missing_column", f"missing columns: {', '.join(missing)}")
        if problems:
            raise ValidationFailed(problems)


class CellError(ValueError):
    """A cell that does not hold what its column needs; the message says what it should."""


class Cells:
    """Typed values from cell text, by the file's conventions (:class:`CsvOptions`)."""

    def __init__(self, options: CsvOptions) -> None:
        self.options = options

    def decimal(self, text: str) -> Decimal:
        cleaned = text.replace("\u00a0", "").replace(" ", "")
        if self.options.decimal_comma:
            cleaned = cleaned.replace(".", "").replace(",", ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            hint = ("write it like 1234,50" if self.options.decimal_comma else
                    "write it like 1234.50; a decimal comma needs --decimal-comma")
            raise CellError(f"not a number: {text!r} ({hint})") from None
        if not value.is_finite() or abs(value) >= LIMIT:
            raise CellError(f"not a number this column can hold: {text!r}")
        return value

    def date(self, text: str) -> date:
        return self.datetime(text).date()

    def datetime(self, text: str) -> datetime:
        """A moment; a date alone is midnight UTC, and times without a zone are UTC."""
        fmt = self.options.date_format
        try:
            value = (datetime.strptime(text, fmt) if fmt
                     else datetime.fromisoformat(text))
        except ValueError:
            wanted = f"the date format {fmt!r}" if fmt else "an ISO date such as 2024-03-01"
            raise CellError(f"not a date: {text!r} (expected {wanted}; Fix: give "
                            f"--date-format, e.g. %d/%m/%Y)") from None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @staticmethod
    def boolean(text: str) -> bool:
        lowered = text.lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise CellError(f"not yes or no: {text!r} (use true/false, yes/no or 1/0)")

    @staticmethod
    def text(text: str, max_length: int) -> str:
        if len(text) > max_length:
            raise CellError(f"longer than {max_length} characters")
        if "\x00" in text:
            raise CellError("contains a NUL character")
        return text


def open_binary(path: str) -> IO[bytes]:
    return open(path, "rb")
