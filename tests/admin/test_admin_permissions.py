"""Permissions are enforced on the server, for the console and the JSON API alike."""

import sqlalchemy as sa

from erpkit import PluginMeta, hookimpl
from erpkit.admin import ProtectedView
from erpkit.admin.contrib import AdminView
from erpkit.auth import Permission
from erpkit.models import ParameterValue

from .helpers import csrf_meta_in, csrf_token_in, log_in

CORE_PAGES = (
    "/admin/users/",
    "/admin/roles/",
    "/admin/roles/matrix/",
    "/admin/tokens/",
    "/admin/parameters/",
    "/admin/plugins/",
    "/admin/audit/",
)


def stored_parameters(session):
    session.rollback()
    return dict(session.execute(sa.select(ParameterValue.name, ParameterValue.value)).all())


def test_a_sales_user_gets_403_on_the_parameters_page_and_its_form(console, session):
    client = console("sam", "sales")
    page = client.get("/admin/parameters/")
    assert page.status_code == 403
    assert "core.parameters" in page.get_data(as_text=True)
    token = csrf_meta_in(client.get("/admin/").get_data(as_text=True))
    post = client.post(
        "/admin/parameters/core.company_name/", data={"value": "Hijacked", "csrf_token": token}
    )
    assert post.status_code == 403
    assert stored_parameters(session) == {}


def test_a_sales_user_gets_403_on_the_parameters_api(client, users, session):
    headers = users.headers("sales")
    assert client.get("/api/settings/", headers=headers).status_code == 403
    response = client.put(
        "/api/settings/core.company_name", json={"value": "Hijacked"}, headers=headers
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert "core.parameters" in response.get_json()["message"]
    assert stored_parameters(session) == {}


def test_a_sales_user_opens_the_console_but_none_of_the_administration_pages(console):
    client = console("sam", "sales")
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "Parameters" not in home.get_data(as_text=True)
    for url in CORE_PAGES:
        assert client.get(url).status_code == 403, url


def test_an_admin_opens_every_administration_page(console):
    client = console("ann", "admin")
    for url in CORE_PAGES:
        assert client.get(url).status_code == 200, url


def test_a_user_without_the_console_permission_is_refused_everywhere(console, session):
    from erpkit.models import Role

    session.add(Role(name="auditor", description="reads the log", permissions=["core.audit"]))
    session.commit()
    client = console("aud", "auditor")
    assert client.get("/admin/audit/").status_code == 403
    assert "admin.console" in client.get("/admin/").get_data(as_text=True)


def test_an_admin_reads_and_changes_parameters_through_the_api_with_a_token(client, users):
    headers = users.headers("admin")
    listed = client.get("/api/settings/", headers=headers)
    assert listed.status_code == 200
    company = next(s for s in listed.get_json() if s["name"] == "core.company_name")
    assert company["is_default"] is True and company["type"] == "string"
    changed = client.put("/api/settings/core.company_name", json={"value": "Acme"}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["value"] == "Acme" and changed.get_json()["is_default"] is False


def test_the_api_refuses_a_bad_value_with_the_reason_and_stores_nothing(client, users, session):
    response = client.put(
        "/api/settings/core.default_currency",
        json={"value": "euro"},
        headers=users.headers("admin"),
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {
            "field": "core.default_currency",
            "message": "use a 3-letter ISO 4217 code",
            "code": "invalid",
            "severity": "error",
        }
    ]
    assert stored_parameters(session) == {}


def test_a_json_write_with_the_login_cookie_needs_the_csrf_header(console, session):
    client = console("ann", "admin")
    refused = client.put("/api/settings/core.company_name", json={"value": "Forged"})
    assert refused.status_code == 400
    assert refused.get_json()["code"] == "csrf_failed"
    assert stored_parameters(session) == {}

    token = csrf_meta_in(client.get("/admin/").get_data(as_text=True))
    accepted = client.put(
        "/api/settings/core.company_name", json={"value": "Acme"}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200
    assert stored_parameters(session) == {"core.company_name": "Acme"}


def test_a_bearer_token_request_ignores_the_login_cookie(console, users):
    client = console("sam", "sales")
    # Whatever the cookie says, a request with a bearer token is that token's user.
    bad = client.get("/api/settings/", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_the_core_views_have_endpoints_prefixed_core(app):
    endpoints = {view.endpoint for view in app.extensions["erpkit.admin"]._views[1:]}
    assert endpoints >= {
        "core_users",
        "core_roles",
        "core_tokens",
        "core_parameters",
        "core_plugins",
        "core_audit",
    }
    assert all(
        e.startswith(("core_", *(f"{p}_" for p in app.extensions["erpkit"].plugins)))
        for e in endpoints
    )


class Secret:
    """An in-process plugin whose view forgets access control; the core adds it."""

    PLUGIN = PluginMeta("secretive")

    @hookimpl
    def erpkit_permissions(self):
        return [Permission("secretive.read", "Read the secret page.")]

    @hookimpl
    def erpkit_admin_views(self):
        from flask_admin import BaseView, expose

        class SecretView(BaseView):
            @expose("/")
            def index(self):
                return "the secret"

        return [AdminView(SecretView, "Secret", "secret", "secretive.read")]


def test_a_plugin_view_is_wrapped_in_the_permission_check_and_prefixed(app, database_url, users):
    from erpkit.app import create_app
    from erpkit.db import db

    other = create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "EXTRA_PLUGINS": [Secret()],
        }
    )
    try:
        view = next(
            v for v in other.extensions["erpkit.admin"]._views if v.endpoint == "secretive_secret"
        )
        assert isinstance(view, ProtectedView)
        users.create("sam", "sales")
        users.create("ann", "admin")
        client = other.test_client()
        assert client.get("/admin/secretive_secret/").status_code == 302  # to the login
        log_in(client, "sam")
        assert client.get("/admin/secretive_secret/").status_code == 403
        client = other.test_client()
        log_in(client, "ann")
        assert client.get("/admin/secretive_secret/").get_data(as_text=True) == "the secret"
    finally:
        with other.app_context():
            db.engine.dispose()


def test_a_console_page_asked_for_json_gets_401_not_a_redirect(client):
    response = client.get("/admin/parameters/", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_the_login_page_and_console_forms_carry_a_csrf_token(console):
    client = console("ann", "admin")
    for url in (
        "/admin/users/new/",
        "/admin/roles/new/",
        "/admin/roles/matrix/",
        "/admin/parameters/core.company_name/",
        "/admin/tokens/",
    ):
        assert csrf_token_in(client.get(url).get_data(as_text=True)), url
