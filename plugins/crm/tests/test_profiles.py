"""Profiles and preferences through the API, history and suggestions, repeating the last
order, the console's customer pages and the new-order form's panel."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from erpkit.db import db
from erpkit.schemas import StrictDecimal
from erpkit_orders.admin_views import customer_panels
from erpkit_orders.models import Order, Product

from .conftest import delivered_history

ATTRIBUTES = [
    {"name": "size", "type": "choice", "choices": ["S", "M", "L"]},
    {"name": "fabric", "type": "list", "choices": ["wool", "linen", "cotton"]},
    {"name": "colour", "type": "string"},
    {"name": "measurements", "type": "decimals", "keys": ["chest", "waist"]},
]
#: What the core's strict decimal field says of text that is not a number.
NOT_A_NUMBER = StrictDecimal.default_error_messages["strict"]


def define_preferences(shop):
    shop.set("crm.preference_attributes", ATTRIBUTES)


def test_preferences_are_validated_against_the_admins_definitions(shop, as_role):
    define_preferences(shop)
    ada = shop.customer()
    sales, analyst, admin = as_role("sales"), as_role("analyst"), as_role("admin")
    path = f"/api/crm/customers/{ada.id}/profile"

    bad = sales.patch(path, json={"preferences": {
        "size": "XXL", "fabric": ["silk"], "measurements": {"chest": "wide"}, "shoe": "42"}})
    assert bad.status_code == 422
    problems = {p["field"]: p["message"] for p in bad.get_json()["errors"]}
    assert problems == {"preferences.size": "must be one of: S, M, L",
                        "preferences.fabric": "silk not among: wool, linen, cotton",
                        "preferences.measurements": "'wide' is not a decimal number: "
                                                    + NOT_A_NUMBER,
                        "preferences.shoe": "no such preference; defined: size, fabric, "
                                            "colour, measurements"}
    good = sales.patch(path, json={"preferences": {
        "size": "M", "fabric": ["wool", "linen"], "colour": "navy",
        "measurements": {"chest": "102.5", "waist": 88}}, "tags": ["VIP", "vip", " tailor "]})
    assert good.status_code == 200, good.get_json()
    body = good.get_json()
    assert {p["name"]: p["value"] for p in body["preferences"]} == {
        "size": "M", "fabric": ["wool", "linen"], "colour": "navy",
        "measurements": {"chest": "102.5", "waist": "88"}}
    assert body["tags"] == ["tailor", "vip"]
    assert analyst.patch(path, json={"tags": []}).status_code == 403
    shop.session.commit()
    from erpkit import ValidationFailed
    from erpkit.plugins import current_registry

    try:
        current_registry().parameters.set(shop.session, "crm.preference_attributes",
                                          [{"name": "x", "type": "choice"}], actor="test")
    except ValidationFailed as exc:
        assert "choices" in str(exc.problems)
    else:
        raise AssertionError("a choice without choices was accepted")
    shop.session.rollback()
    assert admin.get(path).status_code == 200


def test_profile_shows_contacts_interactions_group_credit_and_segment(shop, as_role):
    ada = shop.customer()
    admin, sales = as_role("admin"), as_role("sales")
    assert admin.put("/api/crm/groups/wholesale", json={
        "code": "wholesale", "name": "Wholesale", "credit_limit": "2000.00"}).status_code == 200
    assert admin.patch(f"/api/crm/customers/{ada.id}/profile",
                       json={"group": "wholesale"}).status_code == 200
    admin.post(f"/api/crm/customers/{ada.id}/contacts",
               json={"name": "Grace", "role": "buyer", "email": "grace@example.com"})
    logged = admin.post(f"/api/crm/customers/{ada.id}/interactions",
                        json={"kind": "complaint", "summary": "late delivery"})
    assert logged.status_code == 201 and logged.get_json()["actor"] == "admin"
    assert admin.post(f"/api/crm/customers/{ada.id}/interactions",
                      json={"kind": "fax", "summary": "x"}).status_code == 422

    profile = sales.get(f"/api/crm/customers/{ada.id}/profile").get_json()

    assert profile["group"] == "wholesale"
    assert profile["credit"] == {"limit": "2000.00", "limit_source": "group",
                                 "open_orders": "0.00", "open_balance": "0.00",
                                 "exposure": "0.00", "available": "2000.00"}
    assert [c["name"] for c in profile["contacts"]] == ["Grace"]
    assert [(i["kind"], i["summary"]) for i in profile["interactions"]] == [
        ("complaint", "late delivery")]
    assert profile["score"] is None
    listed = sales.get("/api/crm/customers?group=wholesale").get_json()["items"]
    assert [r["customer_id"] for r in listed] == [ada.id]
    assert sales.get("/api/crm/customers?group=retail").get_json() == {"items": [],
                                                                        "next": None}
    assert sales.get("/api/crm/customers/999999/profile").status_code == 404


def test_history_summary_frequent_products_and_due_for(shop, as_role):
    ada = shop.customer()
    delivered_history(shop, ada, [(90, {"SHIRT": 2, "TIE": 1}), (60, {"SHIRT": 2}),
                         (30, {"SHIRT": 4}), (10, {"SUIT": 1})])

    body = as_role("sales").get(f"/api/crm/customers/{ada.id}/history").get_json()

    assert body["summary"]["order_count"] == 4
    assert body["summary"]["lifetime_revenue"] == "745.00"
    assert body["summary"]["average_order_value"] == "186.25"
    assert [o["total"] for o in body["orders"]] == ["400.00", "160.00", "80.00", "105.00"]
    assert [(p["sku"], p["orders"]) for p in body["frequent_products"]] == [
        ("SHIRT", 3), ("SUIT", 1), ("TIE", 1)]
    # shirts every 30 days, last 30 days ago: due today
    [due] = body["suggestions"]
    assert (due["sku"], due["interval_days"], due["usual_quantity"]) == ("SHIRT", 30, "2.000")


def test_reorder_the_last_order_at_todays_prices_with_a_note_of_what_changed(shop, as_role):
    ada = shop.customer()
    delivered_history(shop, ada, [(5, {"SHIRT": 2, "TIE": 1})])
    shop.session.execute(sa.update(Product).where(Product.sku == "SHIRT")
                         .values(unit_price=Decimal("45.00")))
    shop.session.execute(sa.update(Product).where(Product.sku == "TIE").values(active=False))
    shop.session.commit()

    sales = as_role("sales")
    answer = sales.post(f"/api/crm/customers/{ada.id}/reorder")

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["changes"] == ["SHIRT: price 40.00 -> 45.00", "TIE left out: no longer sold"]
    assert body["total"] == "90.00"
    order = shop.session.get(Order, body["order_id"])
    assert order.status == "draft"
    assert order.note.startswith("Repeat of order ")
    assert "SHIRT: price 40.00 -> 45.00" in order.note
    shop.session.commit()
    nobody = shop.customer("Nobody Ltd")
    assert sales.post(f"/api/crm/customers/{nobody.id}/reorder").status_code == 422


def test_hook_erpkit_orders_customer_panel(app, shop):
    define_preferences(shop)
    ada = shop.customer()
    shop.set("crm.default_credit_limit", "1000")
    from erpkit_crm import profiles

    profiles.set_preferences(shop.session, ada.id, {"size": "L", "colour": "navy"})
    shop.session.commit()
    with app.test_request_context():
        [panel] = customer_panels(ada.id)
        assert customer_panels(999999) == [] and customer_panels("x") == []
    assert "navy" in panel and "Credit available:" in panel and "1000.00 of 1000.00" in panel
    db.session.commit()


def test_the_console_shows_customers_and_the_order_form_panel(shop, console):
    define_preferences(shop)
    ada = shop.customer("Ada Lovelace")
    delivered_history(shop, ada, [(40, {"SHIRT": 1}), (20, {"SHIRT": 1})])
    client = console("sales")

    listing = client.get("/admin/crm/customers/")
    assert listing.status_code == 200 and "Ada Lovelace" in listing.get_data(as_text=True)
    page = client.get(f"/admin/crm/customers/{ada.id}/").get_data(as_text=True)
    assert "Preferences" in page and "Credit" in page and "2 orders" in page
    assert "Due for" in page and "SHIRT Shirt: every 20 days" in page
    panel = client.get(f"/admin/orders/new/customer-panels?customer_id={ada.id}")
    assert panel.status_code == 200
    assert "crm-order-panel" in panel.get_data(as_text=True)
    form = client.get("/admin/orders/new").get_data(as_text=True)
    assert 'id="customer-panels"' in form


def test_the_openapi_document_lists_the_crm_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/crm/customers/{customer_id}/profile", "/api/v1/crm/customers",
                 "/api/v1/crm/customers/{customer_id}/history",
                 "/api/v1/crm/orders/{order_id}/credit-override", "/api/v1/crm/segments"):
        assert path in paths, sorted(p for p in paths if "crm" in p)
