"""Every report's period is bounded: days the code cannot step past are refused, and a
request asks for at most ``core.max_report_days`` days (a report: ``reporting.max_periods``
periods), so no report, figure or performance request runs away with a worker."""

from __future__ import annotations

import pytest


@pytest.fixture
def analyst(client, users):
    headers = users.headers("admin")
    return lambda path, **query: client.get(path, headers=headers, query_string=query)


def _report_names(analyst):
    return [report["name"] for report in analyst("/api/reports").get_json()["reports"]]


@pytest.mark.parametrize("field,day", [("from", "0001-01-01"), ("to", "9999-12-31")])
def test_no_report_takes_a_day_outside_the_years_the_code_holds(analyst, field, day):
    names = _report_names(analyst)
    assert len(names) > 10
    answers = {name: analyst(f"/api/reports/{name}", **{field: day, "by": "day"})
               for name in names}

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(names, 422)
    for answer in answers.values():
        assert [p["field"] for p in answer.get_json()["errors"]] == [field]


def test_a_report_of_more_periods_than_the_parameter_is_refused_naming_to(analyst):
    answer = analyst("/api/reports/demand-forecast", **{"from": "1900-01-01",
                                                       "to": "2999-12-31", "by": "week"})

    assert answer.status_code == 422
    [problem] = answer.get_json()["errors"]
    assert (problem["field"], problem["code"]) == ("to", "too_long")
    assert "reporting.max_periods" in problem["message"]


def test_a_long_range_by_a_long_period_is_still_answered_from_the_rollups(analyst):
    answer = analyst("/api/reports/sales-by-year", **{"from": "2000-01-01",
                                                     "to": "2099-12-31", "by": "year"})

    assert answer.status_code == 200, answer.get_json()


@pytest.mark.parametrize("query,field", [
    ({"from": "0001-01-01"}, "from"),
    ({"to": "9999-12-31"}, "to"),
    ({"from": "2020-01-01", "to": "2023-01-01"}, "to"),
])
def test_shipping_figures_of_a_period_the_parameter_does_not_allow_are_a_422(
        analyst, query, field):
    answer = analyst("/api/logistics/figures", **query)

    assert answer.status_code == 422, answer.get_json()
    assert [p["field"] for p in answer.get_json()["errors"]] == [field]


@pytest.mark.parametrize("query,field", [
    ({"since": "1900-01-01", "until": "2999-12-31"}, "until"),
    ({"since": "2001-01-01"}, "since"),
    ({"until": "9999-12-31"}, "until"),
])
def test_promise_performance_of_a_period_the_parameter_does_not_allow_is_a_422(
        analyst, query, field):
    answer = analyst("/api/logistics/promise-performance", **query)

    assert answer.status_code == 422, answer.get_json()
    assert [p["field"] for p in answer.get_json()["errors"]] == [field]


@pytest.mark.parametrize("path", ["/api/logistics/figures",
                                  "/api/logistics/promise-performance"])
def test_without_a_period_the_default_one_is_answered(analyst, path):
    assert analyst(path).status_code == 200
