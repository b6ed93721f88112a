"""The orders and approvals plugins' console pages, through the real app: permissions on
the server, CSRF on their forms, and the same lifecycle as the API."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit.models import AuditEntry

from .helpers import csrf_meta_in, log_in, post_form

pytest.importorskip("erpkit_orders")
pytest.importorskip("erpkit_approvals")

RULE = {
    "name": "Large orders",
    "priority": 10,
    "match": "all",
    "conditions": [{"fact": "orders.total", "operator": ">", "value": "1000"}],
    "steps": [{"name": "Manager approval", "role": "approver", "required": 1}],
}


@pytest.fixture
def shop(app, users):
    """A customer, a product (no stock needed: nothing here gets past approval), the
    approver abe and the rule that orders over 1000 wait for an approver."""
    from erpkit.db import db
    from erpkit_approvals import rules
    from erpkit_orders.models import Customer, Product

    users.create("abe", "approver")
    with app.app_context():
        product = Product(sku="DESK-1", name="Standing desk", unit_price=Decimal("400.00"))
        customer = Customer(name="Ada Ltd", email="ada@example.com", country="GB")
        db.session.add_all([product, customer])
        db.session.flush()
        rule = rules.create_rule(db.session, rules.load_definition(RULE), actor="setup")
        db.session.commit()
        return {"product": product.id, "customer": customer.id, "rule": rule.id}


def new_order(client, shop, quantity="5"):
    return post_form(
        client,
        "/admin/orders/new",
        {
            "customer_id": str(shop["customer"]),
            "channel": "phone",
            "line_rows": "5",
            "lines-0-product_id": str(shop["product"]),
            "lines-0-quantity": quantity,
        },
    )


def order_number(page):
    return page.split('data-testid="order-number">', 1)[1].split("<", 1)[0]


def logged_in(app, users, login, role=None):
    """A client of its own, logged in as ``login`` (a new user when ``role`` is given)."""
    if role:
        users.create(login, role)
    client = app.test_client()
    assert log_in(client, login).status_code == 302
    return client


def order_status(session, number):
    from erpkit_orders.models import Order

    session.rollback()
    return session.scalar(sa.select(Order.status).where(Order.number == number))


def test_a_sales_user_gets_403_on_rule_editing_in_the_console_and_the_api(console, shop, session):
    client = console("sam", "sales")
    assert client.get("/admin/approval-rules/").status_code == 403
    assert client.get(f"/admin/approval-rules/{shop['rule']}/").status_code == 403
    token = csrf_meta_in(client.get("/admin/").get_data(as_text=True))
    edit = client.post(
        f"/admin/approval-rules/{shop['rule']}/",
        data={
            "name": "Large orders",
            "csrf_token": token,
            "conditions-0-fact": "orders.total",
            "conditions-0-operator": ">",
            "conditions-0-value": "1",
        },
    )
    assert edit.status_code == 403
    api = client.put(
        f"/api/approvals/rules/{shop['rule']}", json=RULE, headers={"X-CSRFToken": token}
    )
    assert api.status_code == 403
    assert api.get_json()["code"] == "forbidden"
    session.rollback()
    assert (
        session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.entity == "approval_rule", AuditEntry.action == "update"
            )
        ).all()
        == []
    )


def test_a_sales_user_creates_and_submits_an_order_that_then_waits(console, shop, session):
    client = console("sam", "sales")
    created = new_order(client, shop)
    assert created.status_code == 302
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    number = order_number(page)
    assert 'data-testid="order-status" data-status="draft">Draft<' in page

    url = created.headers["Location"]
    submitted = post_form(client, f"{url}submit", {}, page=url, follow_redirects=True)
    page = submitted.get_data(as_text=True)
    assert f"Submit: order {number} is now waiting for approval." in page
    assert order_status(session, number) == "pending_approval"


def test_a_bad_order_is_refused_with_the_line_and_field_named(console, shop):
    response = new_order(console("sam", "sales"), shop, quantity="-2")
    assert response.status_code == 422
    assert "lines.0.quantity" in response.get_data(as_text=True)


def test_a_warehouse_user_sees_orders_but_may_not_create_or_submit_them(app, console, shop, users):
    url = new_order(console("sam", "sales"), shop).headers["Location"]
    client = logged_in(app, users, "wes", "warehouse")
    assert client.get("/admin/orders/").status_code == 200
    assert client.get("/admin/orders/new").status_code == 403
    page = client.get(url).get_data(as_text=True)
    assert ">Submit</button>" not in page
    assert client.post(f"{url}submit", data={"csrf_token": csrf_meta_in(page)}).status_code == 403


def test_an_order_action_without_csrf_token_changes_nothing(console, shop, session):
    client = console("sam", "sales")
    url = new_order(client, shop).headers["Location"]
    number = order_number(client.get(url).get_data(as_text=True))
    assert client.post(f"{url}submit").status_code == 400
    assert order_status(session, number) == "draft"


def test_an_approver_rejects_from_the_inbox_only_with_a_comment(app, console, shop, users, session):
    sales = console("sam", "sales")
    url = new_order(sales, shop).headers["Location"]
    post_form(sales, f"{url}submit", {}, page=url)
    number = order_number(sales.get(url).get_data(as_text=True))

    approver = logged_in(app, users, "abe")
    inbox = approver.get("/admin/approval-inbox/").get_data(as_text=True)
    assert f'data-order="{number}"' in inbox
    decide = re.search(r"/admin/approval-inbox/\d+/decide", inbox).group(0)

    refused = post_form(
        approver,
        decide,
        {"decision": "reject", "comment": ""},
        page="/admin/approval-inbox/",
        follow_redirects=True,
    )
    assert "Not recorded: say why you reject the order" in refused.get_data(as_text=True)
    assert order_status(session, number) == "pending_approval"

    rejected = post_form(
        approver,
        decide,
        {"decision": "reject", "comment": "too big"},
        page="/admin/approval-inbox/",
        follow_redirects=True,
    )
    assert f"You rejected order {number}; it is now rejected." in rejected.get_data(as_text=True)
    assert order_status(session, number) == "rejected"


def test_a_sales_user_has_no_inbox(console):
    assert console("sam", "sales").get("/admin/approval-inbox/").status_code == 403


def test_the_order_list_pages_by_keyset_without_counting(console, shop):
    client = console("sam", "sales")
    for _ in range(3):
        new_order(client, shop)
    page = client.get("/admin/orders/?status=draft").get_data(as_text=True)
    assert page.count('data-order="SO-') == 3
    assert "Older orders" not in page
    assert (
        client.get("/admin/orders/?status=confirmed")
        .get_data(as_text=True)
        .count('data-order="SO-')
        == 0
    )


def test_the_order_list_filters_by_creation_day_and_ignores_days_no_column_holds(
        console, shop):
    client = console("sam", "sales")
    for _ in range(2):
        new_order(client, shop)
    today = client.get("/admin/orders/").get_data(as_text=True)
    assert today.count('data-order="SO-') == 2

    def listed(**query):
        page = client.get("/admin/orders/", query_string=query)
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        return page.get_data(as_text=True).count('data-order="SO-')

    assert listed(created_to="2000-01-01") == 0
    assert listed(created_from="2000-01-01") == 2
    # Days past the columns' range (9999-12-31 + 1 day overflowed: a 500) or a cursor no
    # id can reach are taken as no filter, never an error page.
    assert listed(created_to="9999-12-31") == 2
    assert listed(created_from="0001-01-01", before="9" * 30) == 2
