"""Sales reports: totals by period, by dimension, ABC classes, new and returning customers.

Definitions, common to every report here (also in docs/modules/reporting.md):

* A **sale** is an order that reached ``confirmed`` and was not cancelled, booked on the
  UTC day of its ``ordered_at``; drafts, orders waiting for approval, rejected and
  cancelled orders are not sales.
* **Revenue** is the sum of the orders' ``total``: lines rounded to cents half-up, net of
  discount, without shipping charges; returns are subtracted on the day they happen.
  A report's revenue therefore equals the sum of its orders' totals to the cent.
* **Gross sales** sums the orders' ``subtotal``, **discount** their ``discount_total``,
  **shipping** their ``shipping_charge``; **units** the lines' quantities.
* **Share** is the row's revenue over the report's total revenue.
* The **country** and **region** are the order's ship-to ones, else the customer's.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting import customer_periods, spans
from erpkit_reporting import queries as q
from erpkit_reporting.catalogue import Column, Option, Params, Report, Result
from erpkit_reporting.models import (
    CustomerDaily,
    DailyCategorySales,
    DailySales,
)
from erpkit_reporting.money import money, ratio, units
from erpkit_reporting.periods import PERIODS

ORDER_SUMS = ("orders", "lines", "units_milli", "revenue_cents", "gross_cents",
              "discount_cents", "shipping_cents", "returned_orders", "returned_cents")
LINE_SUMS = ("orders", "lines", "units_milli", "revenue_cents")


def _pairs(result: Any) -> dict[Any, Any]:
    """Two-column rows as a dict (a Result has keys(), so dict() would misread it)."""
    return {key: value for key, value in result}


def _line_level(params: Params) -> bool:
    return "category" in params.filters


def _customer_counts(session: Session, params: Params,
                     by: str | None) -> dict[Any, tuple[int, int]]:
    """Per period (or overall with ``by=None``): distinct customers with a sale and those
    with two orders or more in it (repeat customers)."""
    period = q.period_sql(session, CustomerDaily.day, by) if by else sa.literal("all")
    per_customer = (sa.select(period.label("period"), CustomerDaily.customer_id,
                              sa.func.sum(CustomerDaily.orders).label("n"))
                    .where(*q.where(CustomerDaily, params))
                    .group_by(period, CustomerDaily.customer_id)
                    .having(sa.func.sum(CustomerDaily.orders) > 0).subquery())
    rows = session.execute(sa.select(per_customer.c.period, sa.func.count(),
                                     sa.func.sum(sa.case((per_customer.c.n >= 2, 1), else_=0)))
                           .group_by(per_customer.c.period))
    return {(q.as_date(p) if by else p): (int(n), int(r or 0)) for p, n, r in rows}


def _every_customer(params: Params) -> bool:
    """Whether the customer counts are of every sale in the range (no place filter, no
    customer group): the span rollup answers those."""
    return params.customer_ids is None and not any(name in params.filters for name in q.PLACE)


def _customer_counts_from_spans(session: Session, params: Params,
                                periods: dict[Any, dict[str, int]], orders: int
                                ) -> tuple[dict[Any, tuple[int, int]], tuple[int, int]]:
    """Customers and repeat customers per period and over the range, from the sales of
    each (``periods``, ``orders``) and the customer spans inside it
    (:mod:`erpkit_reporting.spans`): a handful of rows, however many customers."""
    total, per_period = spans.inside(session, params.date_from, params.date_to, params.by,
                                     q.whole_months(session, params))
    customers = {start: spans.counts(values["orders"], per_period.get(start, {1: 0, 2: 0}))
                 for start, values in periods.items()}
    return customers, spans.counts(orders, total)


def _sales_figures(values: dict[str, int], customers: tuple[int, int] | None) -> dict[str, Any]:
    orders = values["orders"]
    row: dict[str, Any] = {
        "orders": orders, "lines": values["lines"], "units": units(values["units_milli"]),
        "revenue": money(values["revenue_cents"]),
        "average_order_value": money(round(values["revenue_cents"] / orders)) if orders else None,
        "lines_per_order": ratio(values["lines"], orders, "0.01"),
    }
    if "gross_cents" in values:
        row.update(gross_sales=money(values["gross_cents"]),
                   discount=money(values["discount_cents"]),
                   shipping=money(values["shipping_cents"]),
                   returned_orders=values["returned_orders"],
                   returned=money(values["returned_cents"]))
    if customers is not None:
        row.update(customers=customers[0], repeat_customers=customers[1],
                   repeat_rate=ratio(customers[1], customers[0]))
    return row


SALES_COLUMNS = [
    Column("period", "Period", "text"), Column("orders", "Orders"), Column("lines", "Lines"),
    Column("units", "Units", "units"), Column("customers", "Customers"),
    Column("repeat_customers", "Repeat customers"), Column("repeat_rate", "Repeat rate", "share"),
    Column("revenue", "Revenue", "money"), Column("gross_sales", "Gross sales", "money"),
    Column("discount", "Discount", "money"), Column("shipping", "Shipping charges", "money"),
    Column("average_order_value", "Average order value", "money"),
    Column("lines_per_order", "Lines per order", "decimal"),
    Column("returned_orders", "Returned orders"), Column("returned", "Returned", "money"),
]


def sales(session: Session, params: Params) -> Result:
    """Orders, lines, units, customers, repeat customers and rate, revenue, gross sales,
    discount, shipping charges, average order value, lines per order, per period.

    A customer is a *repeat customer* of a period when they placed two sales or more in it;
    the repeat rate is repeat customers over customers. With a category filter the figures
    are of the lines in those categories (no gross, discount, shipping or customers)."""
    line_level = _line_level(params)
    model = DailyCategorySales if line_level else DailySales
    columns = LINE_SUMS if line_level else ORDER_SUMS
    periods = q.by_period(q.sums(session, model, params, columns), params.by, columns)
    total = {c: sum(v[c] for v in periods.values()) for c in columns}
    customers: dict[Any, tuple[int, int]] = {}
    overall = None
    if not line_level and _every_customer(params):
        customers, overall = _customer_counts_from_spans(session, params, periods,
                                                         total["orders"])
    elif not line_level:
        customers = _customer_counts(session, params, params.by)
        overall = _customer_counts(session, params, None).get("all", (0, 0))
    rows = [{"period": q.period_label(start, params.by),
             **_sales_figures(values, None if line_level else customers.get(start, (0, 0)))}
            for start, values in periods.items()]
    notes = ["category filter: line figures only"] if line_level else []
    return Result(rows, _sales_figures(total, overall), SALES_COLUMNS, notes)


SHARE_COLUMNS = [Column("revenue", "Revenue", "money"), Column("orders", "Orders"),
                 Column("units", "Units", "units"), Column("share", "Share", "share")]


def _shared(rows: list[dict[str, Any]], key_columns: list[Column]) -> Result:
    total = {c: sum(int(r[c]) for r in rows) for c in ("revenue_cents", "orders", "units_milli")}
    out = [{**{c.name: r[c.name] for c in key_columns}, "revenue": money(r["revenue_cents"]),
            "orders": int(r["orders"]), "units": units(r["units_milli"]),
            "share": ratio(int(r["revenue_cents"]), total["revenue_cents"])}
           for r in rows]
    totals = {"revenue": money(total["revenue_cents"]), "orders": total["orders"],
              "units": units(total["units_milli"]),
              "share": Decimal("1.0000") if total["revenue_cents"] else None}
    return Result(out, totals, [*key_columns, *SHARE_COLUMNS])


def sales_by_period(by: str) -> Callable[[Session, Params], Result]:
    def run(session: Session, params: Params) -> Result:
        model = DailyCategorySales if _line_level(params) else DailySales
        periods = q.by_period(q.sums(session, model, params, LINE_SUMS), by, LINE_SUMS)
        rows = [{"period": q.period_label(start, by), **values}
                for start, values in periods.items()]
        return _shared(rows, [Column("period", "Period", "text")])

    run.__doc__ = f"Revenue, orders, units and share of the total per {by}."
    return run


def sales_by_dimension(dimension: str) -> Callable[[Session, Params], Result]:
    def run(session: Session, params: Params) -> Result:
        model = DailyCategorySales if _line_level(params) or dimension == "category" \
            else DailySales
        rows = q.sums(session, model, params, LINE_SUMS, group=[dimension])
        rows.sort(key=lambda r: (-int(r["revenue_cents"]), str(r[dimension])))
        return _shared(rows, [Column(dimension, dimension.capitalize(), "text")])

    run.__doc__ = (f"Revenue, orders, units and share of the total per {dimension}; an order "
                   f"counts once in each {dimension} it has lines in.")
    return run


def _product_rows(session: Session, params: Params) -> list[dict[str, Any]]:
    from erpkit_orders.models import Product

    rows = q.product_sums(session, params, LINE_SUMS, group=["product_id"])
    names = _pairs(session.execute(sa.select(Product.id, Product.sku).where(
        Product.id.in_([r["product_id"] for r in rows])))) if rows else {}
    for row in rows:
        row["sku"] = names.get(row["product_id"], str(row["product_id"]))
    rows.sort(key=lambda r: (-int(r["revenue_cents"]), r["sku"]))
    return rows


def sales_by_product(session: Session, params: Params) -> Result:
    """Revenue, orders, units and share of the total per product, the largest first."""
    result = _shared(_product_rows(session, params), [Column("sku", "SKU", "text")])
    limit = params.options.get("limit")
    if limit:
        result.rows = result.rows[:limit]
    return result


def sales_by_customer(session: Session, params: Params) -> Result:
    """Revenue, orders and share of the total per customer, the largest first."""
    from erpkit_orders.models import Customer

    # a customer whose orders were all cancelled keeps rows of zero orders: not a buyer
    found = customer_periods.by_customer(session, params, params.options.get("limit") or None)
    names = _pairs(session.execute(sa.select(Customer.id, Customer.name).where(
        Customer.id.in_([row[0] for row in found.rows])))) if found.rows else {}
    out = [{"customer_id": customer_id, "customer": names.get(customer_id, ""),
            "revenue": money(cents), "orders": orders,
            "share": ratio(cents, found.revenue_cents)}
           for customer_id, orders, cents in found.rows]
    columns = [Column("customer_id", "Customer id"), Column("customer", "Customer", "text"),
               Column("revenue", "Revenue", "money"), Column("orders", "Orders"),
               Column("share", "Share", "share")]
    return Result(out, {"revenue": money(found.revenue_cents), "orders": found.orders,
                        "customers": found.customers}, columns)


def products_abc(session: Session, params: Params) -> Result:
    """ABC (Pareto) classes by revenue: products sorted by revenue, largest first; a product
    is class A while the cumulative share *before* it is below ``a`` (parameter
    ``reporting.abc_a``, 0.80), B below ``b`` (``reporting.abc_b``, 0.95), C after."""
    a, b = params.options["a"], params.options["b"]
    rows = _product_rows(session, params)
    total = sum(int(r["revenue_cents"]) for r in rows)
    out, before = [], 0
    for row in rows:
        cents = int(row["revenue_cents"])
        share_before = Decimal(before) / total if total else Decimal(0)
        klass = "A" if share_before < a else "B" if share_before < b else "C"
        before += cents
        out.append({"sku": row["sku"], "class": klass, "revenue": money(cents),
                    "units": units(row["units_milli"]), "share": ratio(cents, total),
                    "cumulative_share": ratio(before, total)})
    counts = {k: sum(1 for r in out if r["class"] == k) for k in "ABC"}
    revenue = {k: money(sum(int(r["revenue_cents"]) for r, o in zip(rows, out, strict=True)
                            if o["class"] == k)) for k in "ABC"}
    totals = {"revenue": money(total), "products": len(out),
              **{f"class_{k.lower()}_products": counts[k] for k in "ABC"},
              **{f"class_{k.lower()}_revenue": revenue[k] for k in "ABC"}}
    columns = [Column("sku", "SKU", "text"), Column("class", "Class", "text"),
               Column("revenue", "Revenue", "money"), Column("units", "Units", "units"),
               Column("share", "Share", "share"),
               Column("cumulative_share", "Cumulative share", "share")]
    return Result(out, totals, columns)


def customers_new_returning(session: Session, params: Params) -> Result:
    """Per period: customers with a sale, of whom *new* (their first sale ever falls in the
    period) and *returning* (they bought before the period); the revenue of the new
    customers in the period, and the rest of the period's revenue (the returning
    customers', with every return by a customer who is not new in the period), so the two
    add up to the period's revenue in the sales report."""
    if _every_customer(params):
        periods = q.by_period(q.sums(session, DailySales, params, ("orders", "revenue_cents")),
                              params.by, ("orders", "revenue_cents"))
        customers, _ = _customer_counts_from_spans(
            session, params, periods, sum(v["orders"] for v in periods.values()))
        new = customer_periods.new_customers(session, params)
        figures = {start: (customers[start][0], *new.get(start, (0, 0)),
                           values["revenue_cents"])
                   for start, values in periods.items() if customers[start][0]}
    else:
        figures = customer_periods.new_returning_from_daily(session, params)
    rows, totals = [], {"customers_new": 0, "revenue_new": 0, "revenue_returning": 0}
    for start, (count, new_count, new_cents, cents) in sorted(figures.items()):
        rows.append({"period": q.period_label(start, params.by),
                     "customers": count, "new": new_count, "returning": count - new_count,
                     "returning_rate": ratio(count - new_count, count),
                     "revenue_new": money(new_cents),
                     "revenue_returning": money(cents - new_cents)})
        totals["customers_new"] += new_count
        totals["revenue_new"] += new_cents
        totals["revenue_returning"] += cents - new_cents
    columns = [Column("period", "Period", "text"), Column("customers", "Customers"),
               Column("new", "New"), Column("returning", "Returning"),
               Column("returning_rate", "Returning rate", "share"),
               Column("revenue_new", "Revenue, new", "money"),
               Column("revenue_returning", "Revenue, returning", "money")]
    return Result(rows, {"new": totals["customers_new"],
                         "revenue_new": money(totals["revenue_new"]),
                         "revenue_returning": money(totals["revenue_returning"])}, columns)


def _fraction(text: str) -> Decimal:
    value = Decimal(text)
    if not 0 < value <= 1:
        raise ValueError("give a share between 0 and 1")
    return value


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise ValueError("give a number from 1 to 100000")
    return value


LIMIT = Option("limit", "Show only the first N rows (the totals are of all)", _limit)
ALL_FILTERS = ("channel", "country", "region", "category")


def reports() -> list[Report]:
    found = [
        Report("sales", "Sales", sales.__doc__ or "", sales, filters=ALL_FILTERS),
        *[Report(f"sales-by-{by}", f"Sales by {by}", f"Revenue, orders, units and share per {by}.",
                 sales_by_period(by), filters=ALL_FILTERS, uses_period=False) for by in PERIODS],
        *[Report(f"sales-by-{d}", f"Sales by {d}", f"Revenue, orders, units and share per {d}.",
                 sales_by_dimension(d), filters=ALL_FILTERS, uses_period=False)
          for d in ("country", "region", "channel", "category")],
        Report("sales-by-product", "Sales by product", sales_by_product.__doc__ or "",
               sales_by_product, filters=ALL_FILTERS, options=(LIMIT,), uses_period=False),
        Report("sales-by-customer", "Sales by customer", sales_by_customer.__doc__ or "",
               sales_by_customer, filters=("channel", "country", "region", "customer_group"),
               options=(LIMIT,), uses_period=False),
        Report("products-abc", "Products ABC", products_abc.__doc__ or "", products_abc,
               filters=ALL_FILTERS, uses_period=False,
               options=(Option("a", "Cumulative share closing class A (default: parameter "
                               "reporting.abc_a)", _fraction),
                        Option("b", "Cumulative share closing class B (default: parameter "
                               "reporting.abc_b)", _fraction))),
        Report("customers-new-returning", "New and returning customers",
               customers_new_returning.__doc__ or "", customers_new_returning,
               filters=("channel", "country", "region", "customer_group")),
    ]
    return found
