"""The purchase order as a PDF, the document a supplier receives.

Written with fpdf2 (pure Python, no system libraries, tables built in). Its built-in
Helvetica covers Latin-1 only, so other characters are spelled in ASCII where
possible (``ź`` -> ``z``, ``ł`` -> ``l``, ``€`` -> ``EUR``) and shown as ``?`` otherwise:
the SKUs, quantities and prices that make the order are never touched.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from flask import Response
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from erpkit_inventory.stock import show
from erpkit_purchasing.models import PurchaseOrder

PDF_TYPE = "application/pdf"
#: Letters and signs that Unicode does not decompose into ASCII.
SPELLED = {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "\u0131": "i", "œ": "oe",
           "Œ": "OE", "€": "EUR", "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
           "\u201c": '"', "\u201d": '"', "\u2026": "..."}


def latin(text: str) -> str:
    """``text`` in the characters Helvetica has (see the module's docstring)."""
    def one(char: str) -> str:
        if ord(char) < 256:
            return char
        if char in SPELLED:
            return SPELLED[char]
        spelled = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        return spelled or "?"
    return "".join(one(char) for char in text)


def filename(order: PurchaseOrder) -> str:
    return f"{order.number}.pdf"


def purchase_order_pdf(order: PurchaseOrder) -> bytes:
    """The order's PDF: supplier, where to deliver, a row per line (SKU, name, quantity,
    unit price, amount, expected date) and the total."""
    pdf = FPDF(format="A4")
    pdf.set_title(latin(f"Purchase order {order.number}"))
    pdf.set_creator("erpkit")
    if order.sent_at is not None:
        pdf.set_creation_date(order.sent_at)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, latin(f"Purchase order {order.number}"), new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    for text in (f"To: {order.supplier.name} ({order.supplier.code})",
                 f"Deliver to: {order.warehouse.name} ({order.warehouse.code})",
                 f"Date: {(order.sent_at or order.created_at).date().isoformat()}"):
        pdf.cell(0, 6, latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    heading = ("SKU", "Product", "Quantity", "Unit price", "Amount", "Expected")
    with pdf.table(col_widths=(28, 62, 22, 24, 24, 26), first_row_as_headings=True,
                   text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT")) as table:
        table.row(heading)
        for line in order.lines:
            amount = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
            table.row((latin(line.product.sku), latin(line.product.name), show(line.quantity),
                       f"{Decimal(line.unit_price):.2f}", f"{amount:.2f}",
                       line.expected_on.isoformat() if line.expected_on else ""))
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 8, f"Total {order.total:.2f}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def pdf_response(order: PurchaseOrder) -> Response:
    """The order's PDF as an HTTP answer, shown in the browser (``inline``)."""
    return Response(purchase_order_pdf(order), mimetype=PDF_TYPE,
                    headers={"Content-Disposition": f'inline; filename="{filename(order)}"'})
