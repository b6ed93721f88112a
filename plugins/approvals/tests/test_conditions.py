"""Conditions and durations are plain data: typed parsing, a fixed operator table, and
sentences people read. No app needed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from erpkit.durations import format_duration, parse_duration
from erpkit.facts import FactDefinition
from erpkit_approvals.conditions import BadValue, evaluate, holds, parse_value, sentence

TOTAL = FactDefinition("orders.total", "decimal", "")
LINES = FactDefinition("orders.line_count", "integer", "")
CHANNEL = FactDefinition("orders.channel", "string", "")
NOTE = FactDefinition("crm.segment", "string", "")  # no declared shape
CATEGORIES = FactDefinition("orders.categories", "string_list", "")
NEW = FactDefinition("orders.customer_is_new", "boolean", "")
DECLARED = {f.name: f for f in (TOTAL, LINES, CHANNEL, NOTE, CATEGORIES, NEW)}


@pytest.mark.parametrize(("fact", "operator", "raw"), [
    (TOTAL, ">", "__import__('os')"),
    (TOTAL, ">", "1e3"),
    (TOTAL, ">", "NaN"),
    (TOTAL, ">", True),
    (LINES, ">", "2.5"),
    (NEW, "is", "maybe"),
    (CHANNEL, "=", "__import__('os')"),
    (CHANNEL, "in", []),
    (NOTE, "=", ""),
])
def test_a_value_that_is_not_data_of_the_fact_type_is_refused(fact, operator, raw):
    with pytest.raises(BadValue):
        parse_value(fact, operator, raw)


def test_a_string_fact_without_a_declared_shape_takes_any_text_literally():
    value = parse_value(NOTE, "=", "__import__('os')")

    assert value == "__import__('os')"
    assert holds(NOTE, "=", "__import__('os')", value)
    assert not holds(NOTE, "=", "gold", value)


@pytest.mark.parametrize(("fact", "operator", "actual", "expected", "result"), [
    (TOTAL, ">", Decimal("12400.00"), "10000", True),
    (TOTAL, "<=", Decimal("10000.00"), "10000", True),
    (TOTAL, "!=", Decimal("10000.00"), "10000.0", False),
    (LINES, ">=", 3, "3", True),
    (CHANNEL, "in", "web", ["phone", "web"], True),
    (CHANNEL, "not_in", "web", ["phone"], True),
    (CHANNEL, "contains", "webshop", "shop", True),
    (CATEGORIES, "contains", ["tools"], "machines", False),
    (CATEGORIES, "any_of", ["tools", "paint"], ["paint", "wood"], True),
    (CATEGORIES, "none_of", ["tools"], ["paint"], True),
    (NEW, "is", False, "false", True),
    (TOTAL, ">", None, "1", False),  # an unknown value never matches
])
def test_operators_compare_typed_values(fact, operator, actual, expected, result):
    assert holds(fact, operator, actual, expected) is result


def test_sentences_show_the_value_that_made_a_rule_match():
    assert sentence(TOTAL, ">", Decimal("12400"), "10000") == "total 12,400.00 > 10,000.00"
    assert sentence(CATEGORIES, "any_of", ["tools"], ["tools", "paint"]) == (
        "categories (tools) any of (tools, paint)")
    assert sentence(NEW, "is", True, True) == "customer is new: yes"


def test_all_needs_every_condition_and_any_one_of_them():
    conditions = [{"fact": "orders.total", "operator": ">", "value": "1000"},
                  {"fact": "orders.channel", "operator": "=", "value": "phone"}]
    facts = {"orders.total": Decimal("1500.00"), "orders.channel": "web"}

    assert evaluate({"match": "all", "conditions": conditions}, facts, DECLARED)[0] is False
    matched, why, tested = evaluate({"match": "any", "conditions": conditions}, facts, DECLARED)
    assert (matched, why) == (True, "total 1,500.00 > 1,000.00")
    assert tested == {"orders.total": "1500.00", "orders.channel": "web"}
    assert evaluate({"conditions": []}, facts, DECLARED)[:2] == (True, "every order")


def test_a_condition_on_a_fact_no_plugin_declares_holds_so_the_order_waits_for_a_person():
    definition = {"conditions": [{"fact": "gone.fact", "operator": "is", "value": False}]}

    matched, why, tested = evaluate(definition, {}, DECLARED)
    assert matched is True  # fail closed: nobody can tell what the fact would say
    assert why == "missing fact gone.fact (no enabled plugin declares it)"
    assert tested == {"gone.fact": None}


def test_a_missing_fact_does_not_make_the_other_conditions_hold():
    definition = {"match": "all", "conditions": [
        {"fact": "gone.fact", "operator": "is", "value": True},
        {"fact": "orders.total", "operator": ">", "value": "1000"}]}

    assert evaluate(definition, {"orders.total": Decimal("10")}, DECLARED)[0] is False
    matched, why, _ = evaluate(definition, {"orders.total": Decimal("1500")}, DECLARED)
    assert matched is True
    assert why == ("missing fact gone.fact (no enabled plugin declares it) and "
                   "total 1,500.00 > 1,000.00")


@pytest.mark.parametrize(("text", "duration", "shown"), [
    ("4h", timedelta(hours=4), "4h"),
    ("90m", timedelta(minutes=90), "1h30m"),
    ("1d 12h", timedelta(hours=36), "1d12h"),
    ("2D", timedelta(days=2), "2d"),
])
def test_durations_are_written_with_units(text, duration, shown):
    assert parse_duration(text) == duration
    assert format_duration(duration) == shown


@pytest.mark.parametrize("text", ["4", "4 hours", "-1h", "0m", "400d", "1h+__import__"])
def test_a_duration_without_a_unit_or_out_of_range_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_negative_duration_reads_as_late():
    assert format_duration(timedelta(hours=-2, minutes=-5)) == "-2h5m"
