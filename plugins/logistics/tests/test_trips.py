"""Own-fleet trips: the day's shipments grouped by zone within each vehicle's capacity,
the stops ordered by OR-Tools, run from the driver's tablet."""

from __future__ import annotations

import random
from decimal import Decimal

from erpkit.db import utcnow
from erpkit_logistics import routing, trips
from erpkit_logistics.models import Vehicle


def fleet(world, *, max_weight="500", max_stops=40, depot=("52.520008", "13.404954")):
    world.set("logistics.default_service", "OWN/van")
    van = Vehicle(code="VAN-1", name="Van 1", max_weight_kg=Decimal(max_weight),
                  max_stops=max_stops, depot_latitude=Decimal(depot[0]),
                  depot_longitude=Decimal(depot[1]))
    world.session.add(van)
    world.session.commit()
    return van


def packed_shipments(world, count, *, weight="2", seed=16):
    rng = random.Random(seed)
    world.product("CRATE", weight=weight)
    made = []
    for _ in range(count):
        order = world.order({"CRATE": 1})
        latitude = Decimal(str(round(52.40 + rng.random() * 0.25, 6)))
        longitude = Decimal(str(round(13.20 + rng.random() * 0.40, 6)))
        shipment = world.shipment(order, latitude=latitude, longitude=longitude)
        made.append(world.ready(shipment, f"OWN-{shipment.id}", weight=weight))
    return made


def test_a_trip_of_30_stops_is_shorter_than_the_stops_in_entry_order(world):
    van = fleet(world)
    made = packed_shipments(world, 30)
    report = trips.plan_day(world.session, utcnow().date())
    assert len(report.trips) == 1 and not report.unplanned
    trip = report.trips[0]
    assert len(trip.stops) == 30
    depot = (van.depot_latitude, van.depot_longitude)
    entry_order = routing.route_metres([(s.latitude, s.longitude) for s in made], depot)
    planned = [(stop.shipment.latitude, stop.shipment.longitude) for stop in trip.stops]
    planned_metres = routing.route_metres(planned, depot)
    assert trip.route_km == (Decimal(planned_metres) / 1000).quantize(Decimal("0.001"))
    assert planned_metres < entry_order
    # Guided local search lands far below entry order on random points, not just below.
    assert planned_metres < entry_order * 0.5, (planned_metres, entry_order)
    assert sorted(stop.shipment_id for stop in trip.stops) == sorted(s.id for s in made)


def test_trips_stay_within_the_vehicles_weight_and_stops(world):
    fleet(world, max_weight="9", max_stops=3)
    packed_shipments(world, 8, weight="4")  # 2 fit by weight per trip
    heavy = world.product("SAFE", weight="50")
    too_heavy = world.ready(world.shipment(world.order({"SAFE": 1})), "OWN-H", weight="50")
    report = trips.plan_day(world.session, utcnow().date())
    assert heavy.id and [sid for sid, _why in report.unplanned] == [too_heavy.id]
    assert len(report.trips) == 4
    for trip in report.trips:
        assert len(trip.stops) <= 3
        assert sum(stop.shipment.weight_kg for stop in trip.stops) <= Decimal(9)
    planned = trips.waiting_shipments(world.session)
    assert [s.id for s in planned] == [too_heavy.id]  # the rest are on trips


def test_shipments_without_coordinates_keep_their_entry_order(world):
    fleet(world)
    world.product("CRATE", weight="1")
    made = [world.ready(world.shipment(world.order({"CRATE": 1})), f"OWN-{n}")
            for n in range(4)]
    trip = trips.plan_day(world.session, utcnow().date()).trips[0]
    assert [stop.shipment_id for stop in trip.stops] == [s.id for s in made]
    assert trip.route_km is None


def test_a_trip_run_from_the_tablet_delivers_each_order(world, as_role):
    driver = as_role("logistics")
    fleet(world)
    made = packed_shipments(world, 3)
    trip = trips.plan_day(world.session, utcnow().date()).trips[0]
    world.session.commit()
    started = driver.post(f"/api/logistics/trips/{trip.id}/start", json={"driver": "dana"})
    assert started.status_code == 200, started.json
    assert started.json["driver"] == "dana" and started.json["status"] == "running"
    assert {stop["status"] for stop in started.json["stops"]} == {"out_for_delivery"}
    assert {world.refresh(s).order.status for s in made} == {"shipped"}
    first, *rest = started.json["stops"]
    sheet = driver.post(f"/api/logistics/trips/stops/{first['stop_id']}/deliver",
                        json={"note": "left with the neighbour"}).json
    assert sheet["stops"][0]["delivered_at"] and sheet["status"] == "running"
    delivered = world.refresh(next(s for s in made if s.id == first["shipment_id"]))
    assert delivered.order.status == "delivered"
    for stop in rest:
        sheet = driver.post(f"/api/logistics/trips/stops/{stop['stop_id']}/deliver",
                            json={}).json
    assert sheet["status"] == "done"
    assert {world.refresh(s).order.status for s in made} == {"delivered"}
    again = driver.post(f"/api/logistics/trips/{trip.id}/start", json={})
    assert again.status_code == 409


def test_planning_without_or_tools_is_a_503_naming_the_missing_part(world, as_role,
                                                                  monkeypatch):
    """The optimiser is an extra: a server without it answers 503 with the reason and
    the fix, plans nothing, and leaves the shipments waiting."""
    import sys

    planner = as_role("logistics")
    fleet(world)
    made = packed_shipments(world, 3)
    world.session.commit()
    # A None entry in sys.modules makes the import fail as if OR-Tools were absent.
    monkeypatch.setitem(sys.modules, "ortools", None)
    monkeypatch.setitem(sys.modules, "ortools.constraint_solver", None)
    answer = planner.post("/api/logistics/trips/plan", json={"day": utcnow().date().isoformat()})
    assert answer.status_code == 503, answer.json
    assert answer.json["code"] == "routing_unavailable"
    assert "OR-Tools" in answer.json["message"]
    assert 'pip install "erpkit-logistics[routing]"' in answer.json["message"]
    world.session.expire_all()
    assert {s.id for s in trips.waiting_shipments(world.session)} == {s.id for s in made}
