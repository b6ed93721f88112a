"""Numbers, money and times as people read them, in the console's locale (``core.locale``).

babel does the formatting (grouping, decimal signs, currency symbols, month names for
every locale) so no template writes ``'{:f}'.format(...)`` or ``strftime`` again. A
Decimal is normalised first, so ``3E+1`` reads ``30`` and ``30.000`` reads ``30``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, format_percent
from flask import Flask, g

from erpkit.db import db
from erpkit.plugins import Registry

DEFAULT_LOCALE = "en_GB"


def plain(number: Any) -> str:
    """A quantity as a person types it into a form: ``30``, never ``3E+1`` or ``30.000``."""
    if number is None or number == "":
        return ""
    value = Decimal(str(number)).normalize()
    return f"{value:f}"


def words(code: Any) -> str:
    """A stored code as words for people: ``handed_to_carrier`` reads "Handed to carrier"."""
    if code is None:
        return ""
    text = str(getattr(code, "value", code)).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def console_locale(registry: Registry) -> str:
    """The locale of this request's pages (read once per request)."""
    if "erpkit_locale" not in g:
        try:
            g.erpkit_locale = str(registry.parameters.get(db.session, "core.locale"))
        except Exception:  # the console must render even when the database is not ready
            g.erpkit_locale = DEFAULT_LOCALE
    return str(g.erpkit_locale)


def install_filters(app: Flask, registry: Registry) -> None:
    """Register the ``number``, ``money``, ``percent``, ``when``, ``day``, ``plain`` and
    ``words`` filters on ``app``."""

    def number(value: Any) -> str:
        if value is None:
            return ""
        return format_decimal(Decimal(str(value)).normalize(), locale=console_locale(registry))

    def money(value: Any, currency: str | None = None) -> str:
        if value is None:
            return ""
        amount = Decimal(str(value))
        if not currency:
            return format_decimal(amount, format="#,##0.00", locale=console_locale(registry))
        return format_currency(amount, currency, locale=console_locale(registry))

    def when(value: datetime | None) -> str:
        """A moment to the minute, in UTC (the time zone every erpkit time is kept in)."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value, locale = value.astimezone(UTC), console_locale(registry)
        return (f"{format_date(value, 'medium', locale=locale)}, "
                f"{format_time(value, 'short', tzinfo=UTC, locale=locale)} UTC")

    def day(value: date | None) -> str:
        if value is None:
            return ""
        return format_date(value, "medium", locale=console_locale(registry))

    def percent(value: Any) -> str:
        """A ratio as a percentage: ``0.4444`` reads ``44.4%``."""
        if value is None:
            return ""
        return format_percent(Decimal(str(value)), format="#,##0.#%",
                              locale=console_locale(registry))

    app.jinja_env.filters.update(number=number, money=money, when=when, day=day, plain=plain,
                                 words=words, percent=percent)


def valid_locale(text: str) -> bool:
    """Whether babel knows ``text`` (``en_GB``, ``de_DE``, ``fr``)."""
    try:
        Locale.parse(text)
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True
