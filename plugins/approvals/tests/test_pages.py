"""Every approvals listing that can grow is a page (``{"items", "next"}``, no counts): a
request's work is bounded by its ``limit``, and following ``next`` visits every row once,
in the listing's order, however many inboxes, requests, rules or late steps there are."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit.db import db, utcnow
from erpkit.steps import LateStep, StepDeclaration
from erpkit.testing import every_page
from erpkit_approvals.models import ApprovalRequest, Step

from .conftest import Api, log_in, make_plugin, place_order, request_of, rule_body

CURSORS = {"inbox": "after", "requests": "before", "rules": "after",
           "rules/{rule}/versions": "after", "overdue": "after"}


def _path(listing: str, rule: dict[str, Any]) -> str:
    return "/api/approvals/" + listing.format(rule=rule["id"])


@pytest.fixture
def a_rule(people) -> dict[str, Any]:
    made = people.admin.post("/api/approvals/rules", json=rule_body())
    assert made.status_code == 201, made.get_json()
    return made.get_json()


@pytest.mark.parametrize("listing", CURSORS)
@pytest.mark.parametrize("limit", [0, 501, "all"])
def test_a_page_larger_than_the_cap_or_not_a_number_is_a_422_naming_limit(
        people, a_rule, listing, limit):
    answer = people.admin.get(_path(listing, a_rule), query_string={"limit": limit})

    assert answer.status_code == 422, answer.get_json()
    assert [e["field"] for e in answer.get_json()["errors"]] == ["limit"]


@pytest.mark.parametrize(("listing", "cursor"), [
    ("inbox", "x"), ("inbox", "-1"), ("inbox", "424242"),
    ("requests", "x"), ("requests", "-1"),
    ("rules", "x"), ("rules", "424242"),
    ("rules/{rule}/versions", "x"), ("rules/{rule}/versions", "-1"),
    ("overdue", "x"), ("overdue", "2026-01-01T00:00:00Z~approvals.approval_step~1"),
    ("overdue", "2026-13-01T00:00:00.000000Z~approvals.approval_step~1"),
    ("overdue", "2026-01-01T00:00:00.000000Z~approvals.approval_step~0"),
])
def test_a_cursor_that_no_page_gave_is_a_422_naming_it(people, a_rule, listing, cursor):
    name = CURSORS[listing]

    answer = people.admin.get(_path(listing, a_rule), query_string={name: cursor})

    assert answer.status_code == 422, answer.get_json()
    assert [e["field"] for e in answer.get_json()["errors"]] == [name]


@pytest.mark.parametrize("listing", CURSORS)
def test_a_listing_without_a_limit_is_one_page(people, a_rule, listing):
    answer = people.admin.get(_path(listing, a_rule))

    assert answer.status_code == 200, answer.get_json()
    assert set(answer.get_json()) == {"items", "next"}
    assert answer.get_json()["next"] is None


def test_rules_come_a_page_at_a_time_by_priority_then_id(people):
    for name, priority in (("R1", 20), ("R2", 10), ("R3", 20), ("R4", 5)):
        made = people.admin.post("/api/approvals/rules",
                                 json=rule_body(name=name, priority=priority))
        assert made.status_code == 201, made.get_json()

    ones, nexts = every_page(people.admin.get, "/api/approvals/rules")
    twos, _ = every_page(people.admin.get, "/api/approvals/rules", limit=2)

    assert [[rule["name"] for rule in page] for page in ones] == [
        ["R4"], ["R2"], ["R1"], ["R3"]]
    assert nexts[-1] is None and all(isinstance(n, int) for n in nexts[:-1])
    assert [[rule["name"] for rule in page] for page in twos] == [["R4", "R2"], ["R1", "R3"]]


def test_a_rules_versions_come_a_page_at_a_time_oldest_first(people, a_rule):
    for threshold in ("2000", "3000"):
        changed = people.admin.put(f"/api/approvals/rules/{a_rule['id']}",
                                   json=rule_body(threshold=threshold))
        assert changed.status_code == 200, changed.get_json()

    pages, nexts = every_page(people.admin.get, f"/api/approvals/rules/{a_rule['id']}/versions")

    assert [[(v["version"], v["current"]) for v in page] for page in pages] == [
        [(1, False)], [(2, False)], [(3, True)]]
    assert nexts == [1, 2, None]


def test_requests_come_a_page_at_a_time_newest_first(people, catalogue, a_rule):
    orders = [place_order(people.sales, catalogue, 12) for _ in range(3)]

    pages, _ = every_page(people.ann.get, "/api/approvals/requests", cursor="before")

    assert [[r["order_id"] for r in page] for page in pages] == [
        [orders[2]["id"]], [orders[1]["id"]], [orders[0]["id"]]]


def test_requests_of_one_status_come_a_page_at_a_time(people, catalogue, a_rule):
    orders = [place_order(people.sales, catalogue, 12) for _ in range(3)]
    people.ann.post(f"/api/approvals/requests/{request_of(people.ann, orders[1]['id'])['id']}"
                    "/approve")

    pages, _ = every_page(people.ann.get, "/api/approvals/requests", cursor="before",
                          status="open")

    assert [[r["order_id"] for r in page] for page in pages] == [
        [orders[2]["id"]], [orders[0]["id"]]]


def test_the_inbox_comes_a_page_at_a_time_oldest_first(people, catalogue, a_rule):
    orders = [place_order(people.sales, catalogue, 12) for _ in range(3)]

    pages, nexts = every_page(people.ann.get, "/api/approvals/inbox")

    assert [[item["order_id"] for item in page] for page in pages] == [
        [orders[0]["id"]], [orders[1]["id"]], [orders[2]["id"]]]
    assert nexts[-1] is None


def test_the_inbox_goes_on_after_a_step_decided_between_two_pages(people, catalogue, a_rule):
    orders = [place_order(people.sales, catalogue, 12) for _ in range(3)]
    first = people.ann.get("/api/approvals/inbox", query_string={"limit": 1}).get_json()
    [item] = first["items"]
    assert people.bob.post(f"/api/approvals/requests/{item['request_id']}/approve"
                           ).status_code == 200

    rest = people.ann.get("/api/approvals/inbox", query_string={"after": first["next"]})

    assert [i["order_id"] for i in rest.get_json()["items"]] == [o["id"] for o in orders[1:]]


def test_the_inbox_lists_a_step_asking_a_user_by_name_only_to_them(people, catalogue):
    made = people.admin.post("/api/approvals/rules", json=rule_body(
        steps=[{"users": ["ann"], "required": 1}]))
    assert made.status_code == 201, made.get_json()
    order = place_order(people.sales, catalogue, 12)

    assert [i["order_id"] for i in people.ann.get("/api/approvals/inbox").get_json()["items"]
            ] == [order["id"]]
    assert people.bob.get("/api/approvals/inbox").get_json()["items"] == []


# --- the overdue list: pages across every declaration of late steps -------------------


def _parcels(late: dict[int, datetime]) -> Any:
    """A plugin declaring late parcels (``id -> due``) without a page of its own: the
    core lists it whole and cuts it."""

    def list_late(session, now):
        return [LateStep(subject_id=parcel, step="pick", kind="parcel",
                         reference=f"P-{parcel}", started_at=due - timedelta(hours=1),
                         due_at=due) for parcel, due in late.items() if due < now]

    return make_plugin("parcels", erpkit_steps=lambda: [StepDeclaration(
        name="parcels.pick", list_late=list_late, lock=lambda session, late, now: None)])


def _late_by(app, order_ids: list[int], dues: list[datetime]) -> None:
    """Make each order's approval step due at the matching time."""
    with app.app_context():
        for order_id, due in zip(order_ids, dues, strict=True):
            db.session.execute(sa.update(Step).where(Step.request_id.in_(
                sa.select(ApprovalRequest.id).where(ApprovalRequest.order_id == order_id)))
                .values(due_at=due))
        db.session.commit()


def test_the_overdue_list_comes_a_page_at_a_time_across_every_declaration(
        app, make_app, people, catalogue, a_rule):
    now = utcnow().replace(microsecond=0)
    orders = [place_order(people.sales, catalogue, 12) for _ in range(3)]
    # two approval steps and a parcel due at the same moment: ties go by the step's
    # declaration, then by its subject's id
    _late_by(app, [o["id"] for o in orders],
             [now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=2)])
    with_parcels = make_app(_parcels({7: now - timedelta(hours=2),
                                      8: now - timedelta(hours=1),
                                      9: now + timedelta(hours=1)}))
    admin = Api(with_parcels.test_client(), "root", people.admin.headers)

    pages, nexts = every_page(admin.get, "/api/approvals/overdue")
    whole = admin.get("/api/approvals/overdue").get_json()

    seen = [(item["kind"], item.get("order_id") or item["subject_id"])
            for page in pages for item in page]
    assert all(len(page) == 1 for page in pages)
    assert seen == [("approval_step", orders[0]["id"]), ("approval_step", orders[1]["id"]),
                    ("approval_step", orders[2]["id"]), ("parcel", 7), ("parcel", 8)]
    assert [(i["kind"], i.get("order_id") or i["subject_id"]) for i in whole["items"]] == seen
    assert nexts[-1] is None and whole["next"] is None
    assert all(re.fullmatch(r"\S+Z~[a-z._]+~\d+", n) for n in nexts[:-1])


def test_an_approval_steps_page_reads_at_most_its_limit_of_late_steps(
        app, people, catalogue, a_rule):
    from erpkit_approvals.time_limits import late_approval_steps

    now = utcnow()
    orders = [place_order(people.sales, catalogue, 12) for _ in range(4)]
    _late_by(app, [o["id"] for o in orders],
             [now - timedelta(hours=h) for h in (4, 3, 2, 1)])

    with app.app_context():
        first = late_approval_steps(db.session, now, None, 2)
        assert [late.data["order_id"] for late in first] == [o["id"] for o in orders[:2]]


# --- the console's pages ------------------------------------------------------------


def _next_link(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_console_lists_rules_a_page_at_a_time_with_a_link_to_the_next(client, people):
    for name, priority in (("R1", 20), ("R2", 10), ("R3", 30)):
        people.admin.post("/api/approvals/rules", json=rule_body(name=name, priority=priority))
    log_in(client, "root")

    seen, url = [], "/admin/approval-rules/?limit=2"
    while url is not None and len(seen) < 10:
        html = client.get(url).get_data(as_text=True)
        seen.append(re.findall(r'<tr data-rule="([^"]+)"', html))
        url = _next_link(html)

    assert seen == [["R2", "R1"], ["R3"]]
    assert _next_link(client.get("/admin/approval-rules/").get_data(as_text=True)) is None


def test_the_console_inbox_and_overdue_pages_link_to_the_next_page(
        app, client, people, catalogue, a_rule):
    orders = [place_order(people.sales, catalogue, 12) for _ in range(2)]
    _late_by(app, [o["id"] for o in orders], [utcnow() - timedelta(hours=2)] * 2)
    log_in(client, "ann")  # an approver: the steps ask for her

    for path, row in (("/admin/approval-inbox/", r'<tr data-order="([^"]+)"'),
                      ("/admin/overdue/", r"<tr>\s*<td>([^<]+)</td>")):
        seen, url = [], f"{path}?limit=1"
        while url is not None and len(seen) < 10:
            html = client.get(url).get_data(as_text=True)
            seen.append(re.findall(row, html))
            url = _next_link(html)
        assert seen == [[orders[0]["number"]], [orders[1]["number"]]], path


def test_the_console_shows_the_first_page_when_the_cursor_is_bad(client, people, a_rule):
    log_in(client, "root")

    html = client.get("/admin/approval-rules/?after=424242").get_data(as_text=True)

    assert "Showing the first page" in html
    assert 'data-rule="Large orders"' in html


def test_the_work_queue_lists_every_approval_step_once_a_page_at_a_time(
        app, people, catalogue, a_rule):

    orders = [place_order(people.sales, catalogue, 12) for _ in range(4)]
    # Steps started at distinct, known times, so the queue's order is the orders' order.
    with app.app_context():
        for minutes, order in zip((40, 30, 20, 10), orders, strict=True):
            request_id = request_of(people.admin, order["id"])["id"]
            db.session.execute(sa.update(Step).where(Step.request_id == request_id)
                               .values(started_at=utcnow() - timedelta(minutes=minutes)))
        db.session.commit()

    pages, _ = every_page(people.ann.get, "/api/work", limit=1)

    steps = [item["reference"] for page in pages for item in page
             if item["kind"] == "approval_step"]
    assert steps == [order["number"] for order in orders]
