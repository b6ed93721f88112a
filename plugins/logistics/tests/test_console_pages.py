"""Every logistics console page opens for the people who use it, and only for them."""

from __future__ import annotations

import pytest

SETUP = ["carriers", "services", "zones", "transit", "rates", "mappings", "vehicles", "bins",
         "weights", "calendars", "closed-days", "work-centres", "made-to-order", "bom"]


@pytest.mark.parametrize("page", [*SETUP, "shipments", "trips"])
def test_every_logistics_page_and_its_form_opens_for_an_admin(client, users, world, page):
    headers = users.headers("admin")
    world.product("A", weight="1")
    world.shipment(world.order({"A": 1}))
    world.session.commit()
    answer = client.get(f"/admin/logistics/{page}/", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    if page in SETUP:
        form = client.get(f"/admin/logistics/{page}/new/", headers=headers)
        assert form.status_code == 200, form.get_data(as_text=True)[:500]


def test_the_warehouse_works_shipments_but_does_not_edit_carriers(client, users, world):
    headers = users.headers("warehouse") | {"Accept": "application/json"}
    assert client.get("/admin/logistics/shipments/", headers=headers).status_code == 200
    assert client.get("/admin/logistics/carriers/", headers=headers).status_code == 403
