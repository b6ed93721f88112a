"""Text no database can store is refused as bad input, naming the field, before any view."""

import sqlalchemy as sa

from erpkit_orders.models import Customer


def test_a_nul_character_in_a_json_body_is_a_422_naming_the_field(client, users, session):
    response = client.post("/api/customers", headers=users.headers("admin"), json={
        "name": "Ada", "addresses": [{"line1": "1 Main\x00 St", "city": "Leeds",
                                      "country": "GB"}]})

    assert response.status_code == 422
    [problem] = response.get_json()["errors"]
    assert problem["field"] == "addresses.0.line1"
    assert "NUL" in problem["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


def test_a_nul_character_in_the_query_string_is_refused_too(client, users):
    response = client.get("/api/orders?number=SO%00", headers=users.headers("admin"))

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "number"
