"""Tracking events arrive signed, late and twice; the shipment ends in the same state
whatever their order, the history keeps every one, and the customer's page shows where
the parcel is without a word about people."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from erpkit.db import utcnow
from erpkit_logistics.models import LogisticsShipment, ShipmentEvent, StatusMapping
from erpkit_logistics.tracking import remap

from .conftest import sign, webhook_body


def journey(prefix: str, tracking: str, start):
    """A parcel's life as the carrier reports it, with an exception on the way."""
    steps = [("PU", 1, "Depot Munich", None), ("TR", 120, "Hub Leipzig", 2),
             ("TR", 300, "Hub Berlin", 2), ("OD", 1200, "Berlin", 1),
             ("EX", 1260, "Berlin", None), ("OD", 1500, "Berlin", 0),
             ("DL", 1560, "Berlin Mitte", None)]
    return [{"id": f"{prefix}-{n}", "tracking": tracking, "code": code,
             "occurred_at": (start + timedelta(minutes=minutes)).isoformat(),
             "place": place,
             "eta": (start.date() + timedelta(days=days)).isoformat() if days is not None
             else None,
             "message": "customer not at home" if code == "EX" else ""}
            for n, (code, minutes, place, days) in enumerate(steps)]


def state(world, shipment, start):
    found = world.refresh(shipment)
    order = world.refresh(found.order)
    count = world.session.scalar(sa.select(sa.func.count()).select_from(ShipmentEvent)
                                 .where(ShipmentEvent.shipment_id == found.id))
    return {"status": found.status, "status_after": found.status_at - start,
            "last_place": found.last_place, "eta": found.eta - start.date(),
            "delivered_after": found.delivered_at - start, "events": count,
            "order": order.status, "exception": found.exception_reason}


def post(client, body, **kwargs):
    return client.post("/api/logistics/webhooks/PX", data=body, headers=sign(body, **kwargs))


def test_the_same_events_in_20_random_orders_end_in_the_same_state(world, client):
    world.product("A", weight="1")
    rng = random.Random(15)
    outcomes = []
    for run in range(20):
        order = world.order({"A": 1})
        shipment = world.handed_over(order, f"PX-{run}")
        start = world.refresh(shipment).handed_over_at
        events = journey(f"run{run}", f"PX-{run}", start)
        deliveries = events + rng.sample(events, 4)  # four events delivered twice
        rng.shuffle(deliveries)
        world.session.commit()
        for event in deliveries:
            response = post(client, webhook_body(event), msg_id=f"msg-{event['id']}")
            assert response.status_code == 200, response.json
        outcomes.append(state(world, shipment, start))
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes
    assert outcomes[0]["status"] == "delivered"
    assert outcomes[0]["last_place"] == "Berlin Mitte"
    assert outcomes[0]["order"] == "delivered"
    # 7 carrier events, each once, and the console's picking, packed and hand-over
    assert outcomes[0]["events"] == 7 + 3
    assert outcomes[0]["eta"] == timedelta(days=0)


def test_a_duplicate_is_reported_and_stored_once(world, client):
    world.product("A", weight="1")
    shipment = world.handed_over(world.order({"A": 1}), "PX-D")
    event = journey("dup", "PX-D", utcnow())[1]
    world.session.commit()
    assert post(client, webhook_body(event)).json["stored"] == 1
    again = post(client, webhook_body(event))
    assert again.json == {"stored": 0, "duplicates": 1, "unmatched": [], "unmapped": []}
    assert world.refresh(shipment).status == "in_transit"


def test_a_bad_signature_is_refused_with_401_and_changes_nothing(world, client):
    world.product("A", weight="1")
    shipment = world.handed_over(world.order({"A": 1}), "PX-S")
    body = webhook_body(journey("sig", "PX-S", utcnow())[6])  # "delivered"
    world.session.commit()
    before = state_tuple(world, shipment)
    wrong_secret = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    tampered = body.replace("Berlin Mitte", "Somewhere")
    attempts = [
        client.post("/api/logistics/webhooks/PX", data=body,
                    headers=sign(body, secret=wrong_secret)),
        client.post("/api/logistics/webhooks/PX", data=tampered, headers=sign(body)),
        client.post("/api/logistics/webhooks/PX", data=body,
                    headers={"Content-Type": "application/json"}),
        client.post("/api/logistics/webhooks/PX", data=body,
                    headers={**sign(body), "webhook-signature": "garbage"}),
        client.post("/api/logistics/webhooks/PX", data=body,
                    headers=sign(body, at=utcnow() - timedelta(hours=1))),
        client.post("/api/logistics/webhooks/NOPE", data=body, headers=sign(body)),
    ]
    assert [a.status_code for a in attempts] == [401] * 6
    assert attempts[0].json["code"] == "bad_signature"
    assert state_tuple(world, shipment) == before
    assert post(client, body).status_code == 200  # the genuine one still works
    assert world.refresh(shipment).status == "delivered"


def state_tuple(world, shipment):
    found = world.refresh(shipment)
    events = world.session.scalar(sa.select(sa.func.count()).select_from(ShipmentEvent))
    return (found.status, found.last_place, found.delivered_at, found.order.status, events)


def test_bad_fields_in_a_signed_body_get_422_naming_them(world, client):
    body = json.dumps({"events": [{"id": "x", "tracking": "T", "code": "TR",
                                   "occurred_at": "yesterday"}]})
    response = post(client, body)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "events.0.occurred_at"


def test_an_unmapped_code_counts_once_an_admin_maps_it(world, client, session):
    world.product("A", weight="1")
    shipment = world.handed_over(world.order({"A": 1}), "PX-U")
    event = {**journey("map", "PX-U", utcnow())[1], "code": "HUB"}
    world.session.commit()
    assert post(client, webhook_body(event)).json["unmapped"] == ["map-1"]
    assert world.refresh(shipment).status == "handed_to_carrier"
    mapping = StatusMapping(carrier_id=world.carrier.id, carrier_code="HUB",
                            status="in_transit")
    session.add(mapping)
    session.commit()
    assert remap(session, mapping) == 1
    assert world.refresh(shipment).status == "in_transit"
    assert world.refresh(shipment).last_place == "Hub Leipzig"


def test_events_for_a_parcel_not_yet_handed_over_ship_the_order(world, client):
    world.product("A", weight="1")
    order = world.order({"A": 1})
    shipment = world.ready(world.shipment(order), "PX-P")
    event = journey("pick", "PX-P", utcnow())[1]
    world.session.commit()
    assert post(client, webhook_body(event)).status_code == 200
    assert world.refresh(order).status == "shipped"
    assert world.refresh(shipment).orders_shipment_id is not None


def test_the_import_command_stores_a_file_of_events_once(world, cli, tmp_path):
    world.product("A", weight="1")
    shipment = world.handed_over(world.order({"A": 1}), "PX-F")
    events = journey("file", "PX-F", utcnow())
    path = tmp_path / "events.csv"
    lines = ["id,tracking,code,occurred_at,place,eta,message"] + [
        f"{e['id']},{e['tracking']},{e['code']},{e['occurred_at']},{e['place']},"
        f"{e['eta'] or ''},{e['message']}" for e in events]
    path.write_text("\n".join(lines) + "\n")
    first = cli("logistics", "events", "import", str(path), "--carrier", "PX")
    assert first.exit_code == 0, first.output
    assert "7 stored, 0 already known" in first.output
    second = cli("logistics", "events", "import", str(path), "--carrier", "PX")
    assert "0 stored, 7 already known" in second.output
    assert world.refresh(shipment).status == "delivered"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,tracking,code,occurred_at\nx,PX-F,TR,not-a-time\n")
    refused = cli("logistics", "events", "import", str(bad), "--carrier", "PX")
    assert refused.exit_code == 1
    assert "line 2: occurred_at" in refused.output


def test_the_tracking_page_shows_where_the_parcel_is_and_no_personal_data(world, client):
    world.product("A", weight="1")
    order = world.order({"A": 1})
    world.handed_over(order, "PX-T")
    for event in journey("page", "PX-T", utcnow())[:5]:  # up to the exception
        post(client, webhook_body(event))
    token = world.refresh(order).public_token
    page = client.get(f"/tracking/{order.number}?token={token}")
    assert page.status_code == 200, page.json
    parcel = page.json["shipments"][0]
    assert parcel["status"] == "exception" and parcel["last_place"] == "Berlin"
    assert parcel["tracking"] == ["PX-T"]
    assert [step["status"] for step in parcel["history"]][:2] == ["exception",
                                                                  "out_for_delivery"]
    text = page.get_data(as_text=True)
    for private in ("Ada Ltd", "ada@example.com", "Hauptstr", "packer", "picker",
                    "customer not at home"):
        assert private not in text
    html = client.get(f"/tracking/{order.number}?token={token}",
                      headers={"Accept": "text/html"})
    assert "Delayed: the carrier reported a problem" in html.get_data(as_text=True)
    assert "Ada Ltd" not in html.get_data(as_text=True)
    wrong = client.get(f"/tracking/{order.number}?token=nope")
    unknown = client.get(f"/tracking/SO-NOPE?token={token}")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json == unknown.json
    assert world.session.scalar(sa.select(sa.func.count()).select_from(LogisticsShipment)) == 1
    assert Decimal(1)  # quantities stay Decimal throughout (see the shipments tests)
