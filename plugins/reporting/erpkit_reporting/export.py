"""A report's result as a table, JSON, CSV or XLSX.

CSV and XLSX cells that begin with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage
return) are prefixed with an apostrophe, so a spreadsheet never runs them as formulas
(OWASP's advice on CSV injection); numbers are written as numbers, so negative amounts
stay numbers. XLSX is written by XlsxWriter in constant-memory mode: rows stream to disk.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import IO, Any

from erpkit_reporting.catalogue import Params, Result

FORMATS = ("table", "json", "csv", "xlsx")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> Any:
    """A value as JSON carries it: money and units as decimal strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def document(name: str, params: Params, result: Result) -> dict[str, Any]:
    """``{"report", "params", "rows", "totals"}``, as the API returns it."""
    return {"report": name, "params": params.as_dict(),
            "columns": [{"name": c.name, "label": c.label, "kind": c.kind}
                        for c in result.columns],
            "rows": [plain(row) for row in result.rows], "totals": plain(result.totals),
            "notes": result.notes}


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, neutralised."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _cells(result: Result, row: dict[str, Any]) -> list[Any]:
    return [safe_cell(plain(row.get(c.name))) if not isinstance(row.get(c.name), Decimal | int)
            else row.get(c.name) for c in result.columns]


def write_csv(result: Result, out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow([safe_cell(c.label) for c in result.columns])
    for row in result.rows:
        writer.writerow(["" if v is None else v for v in _cells(result, row)])


def write_xlsx(name: str, params: Params, result: Result, path: Any) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True,
                                          "strings_to_formulas": False,
                                          "strings_to_urls": False})
    sheet = workbook.add_worksheet(name[:31])
    bold = workbook.add_format({"bold": True})
    formats = {"money": workbook.add_format({"num_format": "#,##0.00"}),
               "units": workbook.add_format({"num_format": "#,##0.000"}),
               "share": workbook.add_format({"num_format": "0.00%"})}
    sheet.write_row(0, 0, [c.label for c in result.columns], bold)
    for index, row in enumerate(result.rows, start=1):
        for col, (column, value) in enumerate(zip(result.columns, _cells(result, row),
                                                  strict=True)):
            if isinstance(value, Decimal):
                sheet.write_number(index, col, float(value), formats.get(column.kind))
            elif isinstance(value, int):
                sheet.write_number(index, col, value)
            elif value is None:
                sheet.write_blank(index, col, None)
            else:
                sheet.write_string(index, col, str(value))
    workbook.close()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(name: str, params: Params, result: Result) -> bytes:
    """The XLSX file of a result (written to a temporary file: constant-memory mode)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.xlsx"
        write_xlsx(name, params, result, str(path))
        return path.read_bytes()


def render_table(result: Result) -> str:
    labels = [c.label for c in result.columns]
    rows = [["" if v is None else str(plain(v)) for v in (row.get(c.name)
             for c in result.columns)] for row in result.rows]
    widths = [max([len(label), *(len(r[i]) for r in rows)]) for i, label in enumerate(labels)]
    lines = ["  ".join(label.ljust(w) for label, w in zip(labels, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell.rjust(w) if cell[:1].isdigit() or cell[:1] == "-" else cell.ljust(w)
                        for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.append("")
    lines += [f"{key}: {plain(value)}" for key, value in result.totals.items()]
    return "\n".join(lines)


def render(name: str, params: Params, result: Result, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document(name, params, result), indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        write_csv(result, buffer)
        return buffer.getvalue()
    return render_table(result)
