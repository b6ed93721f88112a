"""Input at the edge and the headers of every response: a bad request is a 4xx naming the
cause, never a 500, and every page says what a browser may do with it."""

from __future__ import annotations

import base64
import hashlib
import html
import re

import pytest

from erpkit.testing import PASSWORD
from erpkit.web_security import DeploymentSettingInvalid, proxy_fix_options

_CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def log_in(client, login, password=PASSWORD, **kwargs):
    """Log in through the login form (CSRF token and all); returns the POST's response."""
    found = _CSRF.search(client.get("/login", **kwargs).get_data(as_text=True))
    assert found
    return client.post("/login", data={"login": login, "password": password,
                                       "csrf_token": found.group(1)}, **kwargs)


def test_a_body_over_the_request_size_limit_is_a_413_in_json_under_api(make_app, users):
    app = make_app(MAX_REQUEST_BYTES=1000)
    response = app.test_client().post(
        "/api/customers", headers=users.headers("admin"),
        json={"name": "Ada", "note": "x" * 5000})

    assert response.status_code == 413
    assert response.is_json
    assert response.get_json()["code"] == "request_entity_too_large"
    assert "1000 bytes" in response.get_json()["message"]


def test_a_body_over_the_request_size_limit_is_a_413_page_elsewhere(make_app):
    app = make_app(MAX_REQUEST_BYTES=1000)
    response = app.test_client().post("/login", data={"login": "a" * 5000, "password": "x"})

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Request too large" in response.get_data(as_text=True)


def test_the_request_size_limit_comes_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("ERPKIT_MAX_REQUEST_BYTES", "12345")

    assert make_app().config["MAX_CONTENT_LENGTH"] == 12345


def test_json_nested_a_hundred_thousand_levels_deep_is_a_400_not_a_recursion_error(
        client, users):
    response = client.post("/api/customers", headers=users.headers("admin"),
                           data="[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert "nests more than" in response.get_json()["message"]


def test_json_nested_deeper_than_the_limit_is_refused_even_when_well_formed(client, users):
    body = "[" * 40 + "]" * 40
    response = client.post("/api/customers", headers=users.headers("admin"),
                           data=body, content_type="application/json")

    assert response.status_code == 400


def test_a_lone_surrogate_in_a_string_field_is_a_422_naming_the_field(client, users):
    response = client.post("/api/customers", headers=users.headers("admin"),
                           data='{"name": "Ada \\ud800"}', content_type="application/json")

    assert response.status_code == 422
    [problem] = response.get_json()["errors"]
    assert problem["field"] == "name"
    assert problem["code"] == "invalid_character"


def test_a_nul_character_in_the_path_is_refused_before_any_query(client):
    response = client.get("/status/a%00b?token=x", headers={"Accept": "application/json"})

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "path"


@pytest.mark.parametrize("next_url", ["/admin/\r\nSet-Cookie: x=1", "/\r\n/evil.example",
                                      "\r\n//evil.example", "/admin/%0d%0aX: y"])
def test_a_cr_or_lf_in_the_login_next_parameter_gives_a_safe_redirect(client, users,
                                                                       next_url):
    users.create("ann", "admin")
    response = log_in(client, "ann", query_string={"next": next_url})

    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert location.startswith("/") and not location.startswith("//")
    assert "Set-Cookie" not in response.headers.get("X", "")


def test_every_response_carries_the_security_headers(client):
    for path in ("/health", "/login", "/api/openapi.json"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_console_pages_run_no_inline_code_the_policy_does_not_name(client, users):
    """Flask-Admin's scripts carry the response's nonce; its inline handlers (the delete
    confirmation) are allowed by their hash, one by one."""
    users.create("ann", "admin")
    users.create("bob", "sales")
    assert log_in(client, "ann").status_code == 302
    handlers = 0
    for path in ("/admin/", "/admin/users/", "/admin/users/new/", "/admin/audit/"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        policy = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy)
        for tag in re.findall(r"<script[^>]*>", page):
            assert nonce and f'nonce="{nonce.group(1)}"' in tag, (path, tag)
        for handler in re.findall(r'\son[a-z]+="([^"]*)"', page):
            digest = hashlib.sha256(html.unescape(handler).encode()).digest()
            assert f"'sha256-{base64.b64encode(digest).decode()}'" in policy, (path, handler)
            handlers += 1
    assert handlers > 0  # the users list has delete buttons with an onclick confirmation


def test_secure_cookies_are_on_unless_switched_off(make_app, monkeypatch):
    assert make_app(TESTING=False, SECRET_KEY="k").config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("ERPKIT_SECURE_COOKIES", "0")
    assert make_app(TESTING=False, SECRET_KEY="k").config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("ERPKIT_SECURE_COOKIES", "1")
    assert make_app().config["SESSION_COOKIE_SECURE"] is True


def test_behind_a_proxy_the_client_address_and_scheme_come_from_its_headers(make_app,
                                                                             monkeypatch):
    monkeypatch.setenv("ERPKIT_PROXY_FIX", "x_for=1,x_proto=1")
    app = make_app()
    seen = {}

    @app.get("/_probe")
    def probe():  # type: ignore[no-untyped-def]
        from flask import request
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    app.test_client().get("/_probe", headers={"X-Forwarded-For": "203.0.113.9",
                                              "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_a_misspelt_proxy_setting_is_refused_with_the_fix():
    with pytest.raises(DeploymentSettingInvalid, match="x_for=1,x_proto=1"):
        proxy_fix_options("x_forwarded=1")
