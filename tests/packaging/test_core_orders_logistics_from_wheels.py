"""Issue 15: core + orders + logistics alone, installed from wheels without the routing
extra (no OR-Tools), prices shipping, ships an order through the API, takes a signed
carrier event, shows the customer's tracking page and serves its console."""

from __future__ import annotations

import base64
import json
import textwrap
from datetime import UTC, datetime

import pytest
import requests
from standardwebhooks import Webhook

from .wheel_installs import (
    ADMIN_PASSWORD,
    api_client,
    assert_page,
    console_login,
    create_admin,
    enabled_plugins,
    must,
)

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"wheel-test-carrier-secret-32byte").decode()

#: The shipping set-up an admin enters in the console's Logistics set-up pages (there is
#: no API for it): a carrier with its webhook secret, a service, a zone, a rate, and what
#: the carrier's "DL" code means.
SET_UP = textwrap.dedent(f'''
    from decimal import Decimal

    from erpkit.app import create_app
    from erpkit.db import db
    from erpkit_logistics.models import (Carrier, CarrierService, ShippingRate,
                                         StatusMapping, Zone)

    app = create_app({{"SECRET_KEY": "packaging-test"}})
    with app.app_context():
        session = db.session
        carrier = Carrier(code="PX", name="Parcel Express", webhook_secret="{SECRET}")
        zone = Zone(code="GB", name="United Kingdom", country="GB")
        session.add_all([carrier, zone])
        session.flush()
        service = CarrierService(carrier_id=carrier.id, code="standard", name="Standard")
        session.add(service)
        session.flush()
        session.add_all([
            ShippingRate(service_id=service.id, zone_id=zone.id, basis="value", up_to=None,
                         price=Decimal("5.90")),
            StatusMapping(carrier_id=carrier.id, carrier_code="DL", status="delivered"),
        ])
        session.commit()
    print("set up")
''')


def signed(body: str, msg_id: str) -> dict[str, str]:
    at = datetime.now(UTC)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(SECRET).sign(msg_id, at, body),
            "Content-Type": "application/json"}


def test_core_orders_and_logistics_alone_from_wheels_ship_and_track_an_order(
        logistics_venv):
    venv = logistics_venv
    must(venv.erpkit("init"))
    assert enabled_plugins(venv) == ["logistics", "orders"]
    # The routing extra was not installed: the rest of logistics must not need OR-Tools.
    absent = must(venv.python(
        "import importlib.util as u; print([m for m in ('ortools', 'erpkit_inventory', "
        "'erpkit_approvals') if u.find_spec(m)])"))
    assert absent.strip() == "[]"
    assert must(venv.python(SET_UP)).strip() == "set up"
    must(venv.erpkit("settings", "set", "logistics.default_service", "PX/standard"))
    create_admin(venv, "ship-admin")
    api = api_client(venv, "ship-admin")

    with venv.serve() as base:
        def post(path: str, body: dict[str, object], expect: int = 200) -> dict:
            answer = api.post(f"{base}{path}", json=body, timeout=30)
            assert answer.status_code == expect, f"{path}: {answer.text}"
            return answer.json()

        post("/api/products", {"sku": "LAMP", "name": "Lamp", "unit_price": "30.00"}, 201)
        ada = post("/api/customers", {"name": "Ada Lovelace", "country": "GB",
                                      "city": "London", "postal_code": "NW1 6XE",
                                      "address": "12 Baker Street"}, 201)
        order = post("/api/orders", {"customer_id": ada["id"], "lines": [
            {"sku": "LAMP", "quantity": "2"}]}, 201)
        assert order["shipping_charge"] == "5.90", order
        assert post(f"/api/orders/{order['id']}/submit", {})["status"] == "confirmed"

        shipment = post("/api/logistics/shipments", {"order_id": order["id"]}, 201)
        route = f"/api/logistics/shipments/{shipment['id']}"
        assert post(f"{route}/pick", {})["status"] == "picking"
        packed = post(f"{route}/pack", {"packages": [{"weight_kg": "1.5",
                                                      "tracking": "PX-0001"}]})
        assert packed["status"] == "packed"
        assert post(f"{route}/hand-over", {})["status"] == "handed_to_carrier"
        shipped = api.get(f"{base}/api/orders/{order['id']}", timeout=30).json()
        assert shipped["status"] == "shipped"

        body = json.dumps({"events": [{
            "id": "evt-1", "tracking": "PX-0001", "code": "DL",
            "occurred_at": datetime.now(UTC).isoformat(), "place": "London NW1"}]})
        # The carrier signs with its secret and holds no token.
        delivered = requests.post(f"{base}/api/logistics/webhooks/PX", data=body,
                                  headers=signed(body, "msg-1"), timeout=30)
        assert delivered.status_code == 200, delivered.text
        final = api.get(f"{base}/api/orders/{order['id']}", timeout=30).json()
        assert final["status"] == "delivered"

        tracking = requests.get(  # the customer has no login, only the order's token
            f"{base}/tracking/{order['number']}", params={"token": order["public_token"]},
            headers={"Accept": "text/html"}, timeout=30)
        assert tracking.status_code == 200, tracking.text
        assert tracking.headers["Content-Type"].startswith("text/html")
        assert "PX-0001" in tracking.text and "London NW1" in tracking.text
        assert "Ada Lovelace" not in tracking.text and "Baker Street" not in tracking.text

        console = console_login(base, "ship-admin", ADMIN_PASSWORD)
        assert "Logistics" in assert_page(console, f"{base}/admin/")
        assert_page(console, f"{base}/admin/logistics/shipments/")
        assert "PX-0001" in assert_page(
            console, f"{base}/admin/logistics/shipments/{shipment['id']}/")
        assert "Parcel Express" in assert_page(console, f"{base}/admin/logistics/carriers/")
        assert_page(console, f"{base}/admin/logistics/trips/")
