"""Rollup tables: the figures of every sale, summed by day, kept in the orders' transactions.

Money is kept in integer minor units (cents) and quantities in integer thousandths, so a
sum is exact on every backend (SQLite's ``Numeric`` sums are not: they go through floats)
and is turned into :class:`~decimal.Decimal` only at the edge (:mod:`erpkit_reporting.money`).

Every rollup row is keyed by the day (UTC date of ``Order.ordered_at``, or of the event for
returns, cancellations and step ends) and the dimensions reports filter on; changes are
upserts of signed increments (:mod:`erpkit_reporting.rollup`). Text dimensions are never
NULL: an unknown country or region is stored as ``""``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from erpkit.db import Base, utcnow


def _key() -> Mapped[str]:
    return mapped_column(sa.String(80), primary_key=True, default="")


def _count() -> Mapped[int]:
    return mapped_column(sa.BigInteger, default=0, server_default="0")


class DailySales(Base):
    """Orders that count as sales, by day ordered x channel x country x region.

    ``revenue_cents`` is the orders' ``total`` less what was returned that day;
    ``returned_cents`` what came back that day (returns are booked on the day they happen).
    The fulfilment columns describe the orders ordered that day.
    """

    __tablename__ = "reporting_daily_sales"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = _key()
    country: Mapped[str] = _key()
    region: Mapped[str] = _key()
    orders: Mapped[int] = _count()
    lines: Mapped[int] = _count()
    units_milli: Mapped[int] = _count()
    revenue_cents: Mapped[int] = _count()
    gross_cents: Mapped[int] = _count()
    discount_cents: Mapped[int] = _count()
    shipping_cents: Mapped[int] = _count()
    returned_orders: Mapped[int] = _count()
    returned_cents: Mapped[int] = _count()
    shipped_orders: Mapped[int] = _count()
    ship_seconds: Mapped[int] = _count()
    ship_seconds_min: Mapped[int | None] = mapped_column(sa.BigInteger)
    ship_seconds_max: Mapped[int | None] = mapped_column(sa.BigInteger)
    shipped_late: Mapped[int] = _count()
    delivered_orders: Mapped[int] = _count()
    delivered_with_due: Mapped[int] = _count()
    delivered_on_time: Mapped[int] = _count()


class DailyProductSales(Base):
    """Order lines that count as sales, by day x channel x country x region x product."""

    __tablename__ = "reporting_daily_product_sales"
    __table_args__ = (sa.Index("ix_reporting_daily_product_sales_product", "product_id", "day"),)

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = _key()
    country: Mapped[str] = _key()
    region: Mapped[str] = _key()
    product_id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = _key()
    orders: Mapped[int] = _count()
    lines: Mapped[int] = _count()
    units_milli: Mapped[int] = _count()
    revenue_cents: Mapped[int] = _count()


class MonthlyProductSales(Base):
    """The product rollup without the place: by month x product x category.

    At most months x products rows (48,000 for two years of 2,000 products, against 2.7 M
    daily rows at a million orders): the product reports read it whenever no channel,
    country or region filter is given, and the daily table only for the days of a
    partial month at either end of the range (:func:`erpkit_reporting.queries.product_sums`).
    ``month`` is the first day of the month."""

    __tablename__ = "reporting_monthly_product_sales"

    month: Mapped[date] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = _key()
    orders: Mapped[int] = _count()
    lines: Mapped[int] = _count()
    units_milli: Mapped[int] = _count()
    revenue_cents: Mapped[int] = _count()


class DailyCategorySales(Base):
    """Order lines that count as sales, by day x channel x country x region x category;
    ``orders`` counts each order once per category."""

    __tablename__ = "reporting_daily_category_sales"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = _key()
    country: Mapped[str] = _key()
    region: Mapped[str] = _key()
    category: Mapped[str] = _key()
    orders: Mapped[int] = _count()
    lines: Mapped[int] = _count()
    units_milli: Mapped[int] = _count()
    revenue_cents: Mapped[int] = _count()


class CustomerDaily(Base):
    """What each customer bought each day, by channel x country x region."""

    __tablename__ = "reporting_customer_daily"
    __table_args__ = (sa.Index("ix_reporting_customer_daily_customer", "customer_id", "day"),)

    day: Mapped[date] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = _key()
    country: Mapped[str] = _key()
    region: Mapped[str] = _key()
    orders: Mapped[int] = _count()
    revenue_cents: Mapped[int] = _count()


class CustomerPeriod(Base):
    """What each customer bought each month, quarter and year: :class:`CustomerDaily`
    added up without the place (``grain`` ``"m"``, ``"q"`` or ``"y"``, ``period`` the
    period's first day). A report by customer reads one row per customer and whole period
    of its range, not one per sale day: a year of a million orders' customers is tens of
    thousands of rows instead of hundreds of thousands
    (:mod:`erpkit_reporting.customer_periods`)."""

    __tablename__ = "reporting_customer_period"
    # SQLite: the rows live in the primary key's B-tree, so a period's rows are read in
    # one ordered range with every column at hand (no lookup of each row by rowid)
    __table_args__ = {"sqlite_with_rowid": False}

    grain: Mapped[str] = mapped_column(sa.String(1), primary_key=True)
    period: Mapped[date] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    orders: Mapped[int] = _count()
    revenue_cents: Mapped[int] = _count()


class StepDuration(Base):
    """How long orders spent in each step, as a histogram: ``bucket`` is
    :func:`erpkit_reporting.histogram.bucket_of` of the seconds, by day the step ended."""

    __tablename__ = "reporting_step_duration"

    day: Mapped[date] = mapped_column(primary_key=True)
    step: Mapped[str] = _key()
    channel: Mapped[str] = _key()
    bucket: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = _count()
    seconds: Mapped[int] = _count()


class DailyQuality(Base):
    """Events the digital process is meant to make rare, counted by day x channel x kind:
    ``created``, ``intake_refused``, ``edited_after_submission``, ``rejected``,
    ``cancelled``, ``returned``."""

    __tablename__ = "reporting_daily_quality"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = _key()
    kind: Mapped[str] = _key()
    count: Mapped[int] = _count()


class IntakeRefusal(Base):
    """An order refused at intake (hook ``erpkit_order_intake_refused``): one row per
    problem, so the quality report can say which fields cause the rework."""

    __tablename__ = "reporting_intake_refusal"
    __table_args__ = (sa.Index("ix_reporting_intake_refusal_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(sa.String(32))
    field: Mapped[str] = mapped_column(sa.String(120))
    code: Mapped[str] = mapped_column(sa.String(40))
    message: Mapped[str] = mapped_column(sa.String(500))
    #: The problems of one refused attempt share it.
    attempt: Mapped[str] = mapped_column(sa.String(32))
    actor: Mapped[str | None] = mapped_column(sa.String(120))


class CustomerFirstSale(Base):
    """Each customer's first day with a sale: new or returning, without a scan; and their
    revenue in the month, quarter and year of that day (their :class:`CustomerPeriod`
    rows of it, kept equal by :func:`erpkit_reporting.customer_periods.refresh_first_revenue`),
    so the revenue of a period's new customers is a sum over its first sales."""

    __tablename__ = "reporting_customer_first_sale"

    customer_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    month_cents: Mapped[int] = _count()
    quarter_cents: Mapped[int] = _count()
    year_cents: Mapped[int] = _count()


class CustomerSpan(Base):
    """How far apart each customer's sales are, counted by (first day, last day).

    A customer's sales sorted by day ``d1 <= d2 <= ...`` give the spans ``(d_i, d_i+1)``
    (``apart`` 1) and ``(d_i, d_i+2)`` (``apart`` 2); ``count`` is how many spans of all
    customers have those two days. A customer with ``k`` sales in a range has ``k - 1``
    spans of apart 1 and ``k - 2`` of apart 2 inside it (both ends in the range), so with
    ``S1``, ``S2`` the counts inside and ``N`` the sales in the range:

    * customers with a sale in the range: ``N - S1``;
    * customers with two sales or more (repeat customers): ``S1 - S2``,

    for any range, without reading a row per customer (:mod:`erpkit_reporting.spans`).

    Each span is counted twice: by its days (``grain`` ``"d"``) and by the first days of
    their months (``"m"``: a few hundred rows for years of sales), so whole months are read
    from the monthly rows and only the days of a partial month at either end from the
    daily ones."""

    __tablename__ = "reporting_customer_span"
    __table_args__ = (sa.Index("ix_reporting_customer_span_last", "grain", "last_day"),)

    grain: Mapped[str] = mapped_column(sa.String(1), primary_key=True)
    apart: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    first_day: Mapped[date] = mapped_column(primary_key=True)
    last_day: Mapped[date] = mapped_column(primary_key=True)
    count: Mapped[int] = _count()


class ReportSchedule(Base):
    """A report mailed on a schedule (:mod:`erpkit_reporting.schedules`): the report, its
    parameters other than the range (filters, options, ``by``), how often (``daily``,
    ``weekly``, ``monthly``: the range is the last complete day, ISO week or month), the
    attachments (``xlsx``, ``csv``) and who gets it (logins and ``role:NAME``)."""

    __tablename__ = "reporting_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    report: Mapped[str] = mapped_column(sa.String(80))
    frequency: Mapped[str] = mapped_column(sa.String(16))
    params: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    formats: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    recipients: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportSending(Base):
    """One mailing of a schedule, for one period: asked for by the periodic task (or by
    hand), sent by the job ``reporting.send_scheduled`` (its run: ``job_run_id``, whose
    status and last error say what became of a failed attempt). One per schedule and
    period, so a period is mailed once however many workers sweep."""

    __tablename__ = "reporting_sending"
    __table_args__ = (sa.UniqueConstraint("schedule_id", "period_from", "manual"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reporting_schedule.id", ondelete="CASCADE"), index=True)
    period_from: Mapped[date]
    period_to: Mapped[date]
    #: 0 for the scheduled mailing of the period; a mailing asked by hand gets its own id.
    manual: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")  # queued | sent
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    addresses: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    attachments: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    rows: Mapped[int | None]
    job_run_id: Mapped[int | None] = mapped_column(sa.BigInteger)


MODELS = (DailySales, DailyProductSales, MonthlyProductSales, DailyCategorySales,
          CustomerDaily, CustomerPeriod, StepDuration, DailyQuality, IntakeRefusal,
          CustomerFirstSale, CustomerSpan, ReportSchedule, ReportSending)
#: The rollups ``erpkit report rebuild`` recomputes and ``erpkit report check`` compares.
ROLLUPS = (DailySales, DailyProductSales, MonthlyProductSales, DailyCategorySales,
           CustomerDaily, CustomerPeriod, StepDuration, DailyQuality, CustomerFirstSale,
           CustomerSpan)
