"""Every lifecycle move in the console, through the same lifecycle functions as the API:
a button only for whoever holds the permission and only in a status that allows the
move; shipping chosen line by line with tracking numbers; corrections after a rejection."""

from decimal import Decimal

import pytest

from .helpers import csrf_meta_in, log_in, post_form

pytest.importorskip("erpkit_orders")


@pytest.fixture
def stocked_shop(app, users):
    """Two products in stock, a customer, orders confirmed as soon as they are approved,
    and the people: sam (sales), wes (warehouse), lou (logistics)."""
    from erpkit.db import db
    from erpkit.plugins import current_registry
    from erpkit_orders.models import Customer, Product

    for login in ("sam", "wes", "lou"):
        users.create(login, {"sam": "sales", "wes": "warehouse", "lou": "logistics"}[login])
    with app.app_context():
        session = db.session
        desk = Product(sku="DESK-1", name="Standing desk", unit_price=Decimal("400.00"))
        lamp = Product(sku="LAMP-1", name="Desk lamp", unit_price=Decimal("30.00"))
        customer = Customer(name="Ada Ltd", email="ada@example.com", country="GB")
        session.add_all([desk, lamp, customer])
        session.flush()
        try:
            from erpkit_inventory import stock
            from erpkit_inventory.models import Warehouse
        except ImportError:
            pass
        else:
            warehouse = Warehouse(code="MAIN", name="Main warehouse")
            session.add(warehouse)
            session.flush()
            for product in (desk, lamp):
                stock.receive(session, product, warehouse, 100, actor="setup", reason="opening")
        current_registry().parameters.set(session, "orders.auto_confirm", "true", actor="setup")
        session.commit()
        return {"desk": desk.id, "lamp": lamp.id, "customer": customer.id}


def client_of(app, login):
    client = app.test_client()
    assert log_in(client, login).status_code == 302
    return client


def order_of(session, order_url):
    from erpkit_orders.models import Order

    session.rollback()
    return session.get(Order, int(order_url.rstrip("/").rsplit("/", 1)[1]))


def create_and_submit(client, shop, lines):
    form = {"customer_id": str(shop["customer"]), "channel": "phone", "line_rows": "5"}
    for index, (product, quantity) in enumerate(lines):
        form[f"lines-{index}-product_id"] = str(shop[product])
        form[f"lines-{index}-quantity"] = quantity
    url = post_form(client, "/admin/orders/new", form).headers["Location"]
    post_form(client, f"{url}submit", {}, page=url)
    return url


def buttons(page):
    return {label for label in ("Submit", "Confirm", "Mark delivered", "Record return",
                                "Close order", "Cancel order", "Back to draft to correct",
                                "Record shipment") if f">{label}</button>" in page}


def test_the_warehouse_ships_in_two_parts_and_logistics_delivers_and_closes(
    app, stocked_shop, session
):
    sales = client_of(app, "sam")
    url = create_and_submit(sales, stocked_shop, [("desk", "3"), ("lamp", "4")])
    order = order_of(session, url)
    assert order.status == "confirmed"
    desk_line, lamp_line = sorted(order.lines, key=lambda line: line.line_no)
    # sales may cancel a confirmed order but not ship it
    sales_page = sales.get(url).get_data(as_text=True)
    assert "Record shipment" not in sales_page
    assert sales.post(f"{url}ship", data={"csrf_token": csrf_meta_in(sales_page),
                                          f"ship-{desk_line.id}": "1"}).status_code == 403

    warehouse = client_of(app, "wes")
    page = warehouse.get(url).get_data(as_text=True)
    assert buttons(page) == {"Record shipment"}
    first = post_form(warehouse, f"{url}ship",
                      {f"ship-{desk_line.id}": "2", f"ship-{lamp_line.id}": "",
                       "tracking": "TRACK-001"}, page=url, follow_redirects=True)
    assert "is now partly shipped" in first.get_data(as_text=True)
    order = order_of(session, url)
    assert order.status == "partially_shipped"
    assert [s.tracking for s in order.shipments] == ["TRACK-001"]

    too_many = post_form(warehouse, f"{url}ship", {f"ship-{lamp_line.id}": "5"}, page=url,
                         follow_redirects=True)
    assert "cannot ship 5, open quantity is 4" in too_many.get_data(as_text=True)
    assert order_of(session, url).status == "partially_shipped"

    post_form(warehouse, f"{url}ship", {f"ship-{desk_line.id}": "1",
                                        f"ship-{lamp_line.id}": "4",
                                        "tracking": "TRACK-002"}, page=url)
    order = order_of(session, url)
    assert order.status == "shipped"
    assert [s.tracking for s in order.shipments] == ["TRACK-001", "TRACK-002"]
    shipped_page = warehouse.get(url).get_data(as_text=True)
    assert "TRACK-002" in shipped_page
    assert "Record shipment" not in shipped_page

    logistics = client_of(app, "lou")
    assert buttons(logistics.get(url).get_data(as_text=True)) == {"Mark delivered"}
    post_form(logistics, f"{url}deliver", {}, page=url)
    assert order_of(session, url).status == "delivered"
    assert buttons(logistics.get(url).get_data(as_text=True)) == {"Record return", "Close order"}
    post_form(logistics, f"{url}close", {}, page=url)
    assert order_of(session, url).status == "closed"
    assert buttons(logistics.get(url).get_data(as_text=True)) == set()


def test_a_delivered_order_that_comes_back_is_returned_then_closed(app, stocked_shop, session):
    url = create_and_submit(client_of(app, "sam"), stocked_shop, [("lamp", "2")])
    warehouse = client_of(app, "wes")
    line = order_of(session, url).lines[0]
    post_form(warehouse, f"{url}ship", {f"ship-{line.id}": "2"}, page=url)
    post_form(warehouse, f"{url}deliver", {}, page=url)
    post_form(warehouse, f"{url}return", {"reason": "damaged in transit"}, page=url)
    order = order_of(session, url)
    assert order.status == "returned"
    from erpkit_orders.timeline import events

    assert any(e.message == "damaged in transit" for e in events(session, order.id))
    post_form(warehouse, f"{url}close", {}, page=url)
    assert order_of(session, url).status == "closed"


def test_a_move_the_status_does_not_allow_is_refused_and_changes_nothing(
    app, stocked_shop, session
):
    url = create_and_submit(client_of(app, "sam"), stocked_shop, [("lamp", "2")])
    warehouse = client_of(app, "wes")
    refused = post_form(warehouse, f"{url}deliver", {}, page=url, follow_redirects=True)
    assert "Mark delivered: refused. order" in refused.get_data(as_text=True)
    assert "cannot go from confirmed to delivered" in refused.get_data(as_text=True)
    assert order_of(session, url).status == "confirmed"


def test_shipping_nothing_or_nonsense_is_refused_with_a_reason(app, stocked_shop, session):
    url = create_and_submit(client_of(app, "sam"), stocked_shop, [("lamp", "2")])
    warehouse = client_of(app, "wes")
    line = order_of(session, url).lines[0]
    empty = post_form(warehouse, f"{url}ship", {f"ship-{line.id}": ""}, page=url,
                      follow_redirects=True).get_data(as_text=True)
    assert "type a quantity to ship on at least one line" in empty
    nonsense = post_form(warehouse, f"{url}ship", {f"ship-{line.id}": "two"}, page=url,
                         follow_redirects=True).get_data(as_text=True)
    assert "quantity &#39;two&#39; is not a number" in nonsense
    assert order_of(session, url).status == "confirmed"


def test_a_rejected_order_is_corrected_in_the_console_and_submitted_again(
    app, stocked_shop, session, users
):
    from erpkit.db import db
    from erpkit_orders import lifecycle

    users.create("abe", "approver")
    approvals = pytest.importorskip("erpkit_approvals.rules")
    with app.app_context():
        approvals.create_rule(db.session, approvals.load_definition({
            "name": "Large orders", "priority": 10, "match": "all",
            "conditions": [{"fact": "orders.total", "operator": ">", "value": "1000"}],
            "steps": [{"name": "Manager approval", "role": "approver", "required": 1}],
        }), actor="setup")
        db.session.commit()
    sales = client_of(app, "sam")
    url = create_and_submit(sales, stocked_shop, [("desk", "3")])
    order = order_of(session, url)
    assert order.status == "pending_approval"
    order_id = order.id
    session.rollback()  # SQLite: the reading transaction would block the writer
    with app.app_context():
        lifecycle.reject(db.session, order_id, actor="abe", reason="too big")
        db.session.commit()
    page = sales.get(url).get_data(as_text=True)
    assert "Edit lines" not in page
    assert "Back to draft to correct" in page
    post_form(sales, f"{url}reopen", {"reason": "customer wants fewer"}, page=url)
    assert order_of(session, url).status == "draft"

    edit = sales.get(f"{url}edit").get_data(as_text=True)
    assert 'value="3"' in edit  # the quantity as typed, never 3.000 or 3E+0
    saved = post_form(sales, f"{url}edit", {
        "customer_id": str(stocked_shop["customer"]), "channel": "phone", "line_rows": "6",
        "lines-0-product_id": str(stocked_shop["desk"]), "lines-0-quantity": "1",
        "lines-1-product_id": str(stocked_shop["lamp"]), "lines-1-quantity": "2",
    }, follow_redirects=True)
    assert "Saved order" in saved.get_data(as_text=True)
    order = order_of(session, url)
    assert sorted((line.product.sku, line.quantity) for line in order.lines) == [
        ("DESK-1", Decimal("1")), ("LAMP-1", Decimal("2"))]
    assert order.total == Decimal("460.00")

    bad = post_form(sales, f"{url}edit", {
        "customer_id": str(stocked_shop["customer"]), "channel": "phone", "line_rows": "6",
        "lines-0-product_id": str(stocked_shop["desk"]), "lines-0-quantity": "-1",
    })
    assert bad.status_code == 422
    assert "lines.0.quantity" in bad.get_data(as_text=True)
    assert len(order_of(session, url).lines) == 2


def test_a_quantity_above_the_limit_is_refused_in_plain_numbers_with_readable_fields(
    app, stocked_shop, session
):
    from erpkit.db import db
    from erpkit_orders.models import Product

    with app.app_context():
        db.session.get(Product, stocked_shop["lamp"]).max_quantity = Decimal("30")
        db.session.commit()
    refused = post_form(client_of(app, "sam"), "/admin/orders/new", {
        "customer_id": str(stocked_shop["customer"]), "channel": "phone", "line_rows": "5",
        "lines-0-product_id": str(stocked_shop["lamp"]), "lines-0-quantity": "40",
    })
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "LAMP-1: at most 30 " in page
    assert "got 40" in page
    assert "E+" not in page
