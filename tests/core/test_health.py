"""The app factory serves /health with database and migration state, and every error a
client can cause is JSON: never an HTML page, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, request
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields

from erpkit import ValidationFailed
from erpkit.testing import make_plugin


def test_health_reports_database_and_every_branch_at_head(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migrations"]["core"]["up_to_date"] is True
    assert all(branch["up_to_date"] for branch in body["migrations"].values())
    assert set(body["plugins"]) == set(client.application.extensions["erpkit"].plugins)


def test_health_is_503_while_migrations_are_pending(make_app, fresh_database):
    response = make_app(DATABASE_URL=fresh_database).test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "migrations_pending"
    assert body["database"] == "ok"
    assert body["migrations"]["core"] == {"current": None, "head": "core_0008",
                                          "up_to_date": False}


def test_health_is_503_when_the_database_cannot_be_reached(make_app, tmp_path):
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'erpkit.db'}"
    response = make_app(DATABASE_URL=unreachable).test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"]) == ("error", "unreachable")
    assert "unable to open database file" in body["detail"]


# --- JSON errors ----------------------------------------------------------------------


class Greeting(Schema):
    name = fields.String(required=True)


def _failing_blueprints() -> list[Any]:
    plain = Blueprint("alpha_errors", __name__, url_prefix="/alpha")

    @plain.post("/echo")
    def echo() -> Any:
        return {"got": request.get_json()}

    @plain.get("/refuse")
    def refuse() -> Any:
        raise ValidationFailed.single("quantity", "must be positive")

    @plain.get("/bug")
    def bug() -> Any:
        raise KeyError("secret internals")

    api = ApiBlueprint("alpha_api_errors", __name__, url_prefix="/api/alpha")

    @api.post("/greet")
    @api.arguments(Greeting)
    def greet(data: dict[str, str]) -> Any:
        return {"name": data["name"]}

    return [plain, api]


@pytest.fixture
def erring(make_app, users):
    app = make_app(EXTRA_PLUGINS=[make_plugin("alpha", erpkit_blueprints=_failing_blueprints)])
    return app.test_client(), users.headers("admin")


def assert_json_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status
    assert response.is_json, response.get_data(as_text=True)[:200]
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text
    body = response.get_json()
    if code is not None:
        assert body["code"] == code
    return body


def test_an_unknown_url_is_a_json_404(client):
    assert_json_error(client.get("/no/such/page"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(client, users):
    assert_json_error(client.post("/health", headers=users.headers("admin")), 405,
                      "method_not_allowed")
    assert_json_error(client.delete("/health"), 405)


def test_malformed_json_is_a_json_400(erring):
    client, auth = erring
    body = assert_json_error(
        client.post("/alpha/echo", data="{not json", content_type="application/json",
                    headers=auth), 400, "bad_request")
    assert body["message"]


def test_malformed_json_to_an_api_endpoint_is_a_json_error_naming_the_problem(erring):
    client, auth = erring
    response = client.post("/api/alpha/greet", data="{not json",
                           content_type="application/json", headers=auth)
    assert response.status_code in (400, 422)
    assert_json_error(response, response.status_code)


def test_a_missing_field_is_a_422_naming_the_field(erring):
    client, auth = erring
    body = assert_json_error(client.post("/api/alpha/greet", json={}, headers=auth), 422)
    assert {"field": "name", "message": "Missing data for required field."}.items() <= (
        body["errors"][0].items())


def test_refused_input_is_a_422_naming_the_field_and_the_reason(erring):
    client, auth = erring
    body = assert_json_error(client.get("/alpha/refuse", headers=auth), 422)
    assert body["errors"] == [{"field": "quantity", "message": "must be positive",
                               "code": "invalid", "severity": "error"}]


def test_a_bug_is_a_json_500_without_the_details(erring):
    client, auth = erring
    body = assert_json_error(client.get("/alpha/bug", headers=auth), 500, "internal_error")
    assert "secret internals" not in str(body)


def test_a_write_without_login_or_token_is_refused_as_json(erring):
    client, _auth = erring
    assert_json_error(client.post("/alpha/echo", json={}), 400, "csrf_failed")
