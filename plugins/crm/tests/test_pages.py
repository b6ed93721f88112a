"""Every crm listing is a page (``{"items", "next"}``, no counts): customers, a customer's
suggestions, groups and the segment table; and crm reads its decimals strictly."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit.testing import every_page
from erpkit_crm import segments
from erpkit_crm.models import CustomerScore
from erpkit_orders.models import Customer, Order

from .conftest import delivered_history

LISTINGS = ["/api/crm/customers", "/api/crm/customers/{customer}/suggestions",
            "/api/crm/groups", "/api/crm/segments"]


def _base(session):
    """Six customers: four with history (two of them with the same revenue), two never
    ordered; scored by a recompute, so the last two have no score."""
    people = [Customer(name=f"Customer {n}") for n in range(6)]
    session.add_all(people)
    session.flush()
    ids = [p.id for p in people]
    totals = {0: ["10.00"], 1: ["250.00", "50.00"], 2: ["300.00"], 3: ["300.00"]}
    for index, amounts in totals.items():
        for number, amount in enumerate(amounts):
            session.add(Order(number=f"H-{index}-{number}", channel="import", currency="EUR",
                              customer_id=people[index].id, status="delivered",
                              total=Decimal(amount), subtotal=Decimal(amount),
                              ordered_at=datetime(2026, 3, 1 + number, tzinfo=UTC),
                              imported_as_history=True))
    session.commit()
    segments.recompute(session, datetime(2026, 6, 30).date())
    session.commit()
    return ids


def _customer_id(shop):
    """A new customer's id, its transaction ended (an open one holds SQLite's write lock)."""
    customer_id = shop.customer().id
    shop.session.commit()
    return customer_id


def test_customers_come_a_page_at_a_time_best_revenue_first_then_the_unscored_each_once(
        shop, as_role):
    ids = _base(shop.session)
    scores = shop.session.execute(sa.select(CustomerScore.customer_id,
                                            CustomerScore.revenue_cents)).all()
    shop.session.commit()  # a transaction left open holds SQLite's write lock
    scored = [cid for cid, _ in sorted(scores, key=lambda s: (-s[1], -s[0]))]
    expected = scored + sorted(set(ids) - set(scored))

    pages, nexts = every_page(as_role("sales").get, "/api/crm/customers", limit=2)

    assert [len(page) for page in pages] == [2, 2, 2]
    assert [row["customer_id"] for page in pages for row in page] == expected
    assert len(scored) == 4 and expected[:2] == sorted(ids[2:4], reverse=True)  # a tie
    assert nexts[0].count(":") == 1 and nexts[1].startswith("unscored:") is False
    assert nexts[-1] is None


def test_a_page_boundary_between_scored_and_unscored_customers_loses_none(shop, as_role):
    ids = _base(shop.session)

    pages, _ = every_page(as_role("sales").get, "/api/crm/customers", limit=5)

    assert [len(page) for page in pages] == [5, 1]
    assert sorted(row["customer_id"] for page in pages for row in page) == sorted(ids)


def test_a_segment_filter_pages_only_scored_customers(shop, as_role):
    _base(shop.session)
    segment = shop.session.scalar(sa.select(CustomerScore.segment).limit(1))
    members = set(shop.session.scalars(sa.select(CustomerScore.customer_id)
                                       .where(CustomerScore.segment == segment)))
    shop.session.commit()

    pages, _ = every_page(as_role("sales").get, "/api/crm/customers", segment=segment)

    assert {row["customer_id"] for page in pages for row in page} == members


def test_a_customer_s_suggestions_come_a_page_at_a_time_soonest_due_first(shop, as_role):
    ada = shop.customer()
    # ties and suits every 30 days, last 60 days ago; shirts due today
    delivered_history(shop, ada, [(90, {"SHIRT": 1, "TIE": 1, "SUIT": 1}),
                         (60, {"SHIRT": 1, "TIE": 1, "SUIT": 1}), (30, {"SHIRT": 1})])
    everything = as_role("sales").get(f"/api/crm/customers/{ada.id}/history").get_json()

    pages, nexts = every_page(as_role("sales").get,
                              f"/api/crm/customers/{ada.id}/suggestions", limit=1)

    assert [[due["sku"] for due in page] for page in pages] == [["SUIT"], ["TIE"], ["SHIRT"]]
    assert [page[0] for page in pages] == everything["suggestions"]
    assert len(pages) == 3 and nexts[0] == f"{pages[0][0]['due_on']}/{pages[0][0]['sku']}"


def test_groups_come_a_page_at_a_time_by_code(shop, as_role):
    admin = as_role("admin")
    for code in ("retail", "export", "wholesale"):
        assert admin.put(f"/api/crm/groups/{code}", json={
            "code": code, "name": code.title()}).status_code == 200

    pages, nexts = every_page(admin.get, "/api/crm/groups", limit=2)

    assert [[g["code"] for g in page] for page in pages] == [["export", "retail"],
                                                              ["wholesale"]]
    assert nexts == ["retail", None]


def test_the_segment_table_comes_a_page_at_a_time_first_match_first(shop, as_role):
    admin = as_role("admin")

    pages, nexts = every_page(admin.get, "/api/crm/segments", limit=3)

    assert [row["name"] for page in pages for row in page] == [
        s.name for s in segments.DEFAULT_SEGMENTS]
    assert nexts == [3, 6, None]


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("limit", [0, 501, "all"])
def test_a_page_larger_than_the_cap_is_a_422_naming_limit(shop, as_role, listing, limit):
    ada = _customer_id(shop)

    refused = as_role("admin").get(listing.format(customer=ada), query_string={"limit": limit})

    assert refused.status_code == 422, refused.get_json()
    assert [e["field"] for e in refused.get_json()["errors"]] == ["limit"]


@pytest.mark.parametrize("listing,cursor", [
    ("/api/crm/customers", "12"), ("/api/crm/customers", "best:3"),
    ("/api/crm/customers", "unscored:99999999999"), ("/api/crm/customers", "1e3:4"),
    ("/api/crm/customers/{customer}/suggestions", "SHIRT"),
    ("/api/crm/customers/{customer}/suggestions", "2026-02-30/SHIRT"),
    ("/api/crm/groups", "x" * 41), ("/api/crm/segments", "first"), ("/api/crm/segments", -1),
])
def test_a_cursor_that_is_not_one_of_the_list_is_a_422_naming_after(shop, as_role, listing,
                                                                    cursor):
    ada = _customer_id(shop)

    refused = as_role("admin").get(listing.format(customer=ada), query_string={"after": cursor})

    assert refused.status_code == 422, refused.get_json()
    assert [e["field"] for e in refused.get_json()["errors"]] == ["after"]


@pytest.mark.parametrize("value,reason", [
    ("\u0661\u0660\u0660", "Not a valid number"),  # Arabic-Indic 100
    ("100.001", "at most 2 decimal places"),
    (100.5, "Not a valid number"),  # a JSON number with a fraction: a binary float
    ("100.50", None),
])
def test_a_credit_limit_in_other_digits_or_beyond_cents_is_a_422_naming_it(
        shop, as_role, value, reason):
    ada = _customer_id(shop)
    admin, sales = as_role("admin"), as_role("sales")  # users made before any request
    before = sales.get(f"/api/crm/customers/{ada}/credit").get_json()

    answer = admin.put(f"/api/crm/customers/{ada}/credit-limit", json={"credit_limit": value})

    if reason is None:
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["limit"] == "100.50"
        return
    assert answer.status_code == 422, answer.get_json()
    [problem] = answer.get_json()["errors"]
    assert problem["field"] == "credit_limit" and reason in problem["message"]
    assert sales.get(f"/api/crm/customers/{ada}/credit").get_json() == before


def test_the_console_s_customer_list_shows_a_page_and_a_link_to_the_next(shop, console):
    from erpkit_crm.admin import PAGE

    shop.session.add_all(Customer(name=f"Customer {n:03d}") for n in range(PAGE + 1))
    shop.session.commit()
    client = console("sales")

    first = client.get("/admin/crm/customers/").get_data(as_text=True)
    link = re.search(r'data-testid="crm-customers-next"\s+href="([^"]+)"', first)
    assert link and "Customer 000" in first and f"Customer {PAGE:03d}" not in first
    rest = client.get(html.unescape(link.group(1))).get_data(as_text=True)

    assert f"Customer {PAGE:03d}" in rest and "Customer 000" not in rest
    assert "crm-customers-next" not in rest
    assert client.get("/admin/crm/customers/?after=nonsense").status_code == 400
