"""Parameters in the console: listed with type, value, default and description; changed
through a form that validates with the parameter's own type; every change audited."""

import re

import sqlalchemy as sa
from markupsafe import escape

from erpkit.models import AuditEntry, ParameterValue

from .helpers import csrf_meta_in, post_form

EDIT = "/admin/parameters/core.company_name/"


def stored(session):
    session.rollback()  # see what the requests committed
    return dict(session.execute(sa.select(ParameterValue.name, ParameterValue.value)).all())


def parameter_audit(session):
    session.rollback()
    return session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "parameter").order_by(AuditEntry.id)
    ).all()


def test_the_parameters_page_lists_every_declared_parameter(console, app):
    page = console("ann", "admin").get("/admin/parameters/").get_data(as_text=True)
    for name, parameter in app.extensions["erpkit"].parameters.declared.items():
        assert f'data-parameter="{name}"' in page
        assert str(escape(parameter.description)) in page
    row = re.search(r'data-parameter="core.company_name">(.*?)</tr>', page, re.S).group(1)
    assert "string" in row and "erpkit demo company" in row and "Shown in the console" in row


def test_an_admin_changes_a_parameter_through_the_form_and_the_audit_log_shows_it(console, session):
    client = console("ann", "admin")
    response = post_form(client, EDIT, {"value": "Acme Trading"})
    assert response.status_code == 302
    assert stored(session) == {"core.company_name": "Acme Trading"}

    listing = client.get("/admin/parameters/").get_data(as_text=True)
    assert "Saved core.company_name = Acme Trading" in listing
    assert "<strong>Acme Trading</strong>" in listing

    [entry] = parameter_audit(session)
    assert (entry.actor, entry.entity_id, entry.action) == ("ann", "core.company_name", "update")
    assert (entry.before, entry.after) == ("erpkit demo company", "Acme Trading")

    log = client.get("/admin/audit/").get_data(as_text=True)
    assert "core.company_name" in log
    assert ">erpkit demo company</div>" in log and ">Acme Trading</div>" in log
    assert "&#34;" not in log  # no JSON text


def test_the_console_title_shows_the_new_company_name(console):
    client = console("ann", "admin")
    post_form(client, EDIT, {"value": "Acme Trading"})
    assert 'data-testid="brand">Acme Trading</a>' in client.get("/admin/").get_data(as_text=True)


def test_a_form_post_without_csrf_token_changes_nothing(console, session):
    client = console("ann", "admin")
    response = client.post(EDIT, data={"value": "Forged Ltd"})
    assert response.status_code == 400
    assert "nothing changed" in response.get_data(as_text=True)
    response = client.post(EDIT, data={"value": "Forged Ltd", "csrf_token": "made-up"})
    assert response.status_code == 400
    assert stored(session) == {}
    assert parameter_audit(session) == []


def test_a_bad_value_is_refused_with_the_reason_and_nothing_is_stored(console, session):
    client = console("ann", "admin")
    url = "/admin/parameters/core.default_currency/"
    response = post_form(client, url, {"value": "euro"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Not saved: use a 3-letter ISO 4217 code" in page
    assert 'value="euro"' in page  # what was typed stays in the box to be corrected
    assert stored(session) == {}
    assert parameter_audit(session) == []


def test_an_empty_company_name_is_refused(console, session):
    response = post_form(console("ann", "admin"), EDIT, {"value": "   "})
    assert response.status_code == 422
    assert "Not saved: Length must be between 1 and 200." in response.get_data(as_text=True)
    assert stored(session) == {}


def test_reset_brings_back_the_default_and_is_audited(console, session):
    client = console("ann", "admin")
    post_form(client, EDIT, {"value": "Acme"})
    response = post_form(
        client, "/admin/parameters/core.company_name/reset", {}, page="/admin/parameters/"
    )
    assert response.status_code == 302
    assert stored(session) == {}
    reset = parameter_audit(session)[-1]
    assert (reset.action, reset.before, reset.after) == ("reset", "Acme", "erpkit demo company")


def test_an_unknown_parameter_is_reported_not_a_crash(console):
    client = console("ann", "admin")
    response = client.get("/admin/parameters/no.such_thing/", follow_redirects=True)
    assert "No installed plugin declares a parameter &#39;no.such_thing&#39;" in response.get_data(
        as_text=True
    )


def test_the_api_and_the_console_write_the_same_audit_trail(console, session):
    client = console("ann", "admin")
    token = csrf_meta_in(client.get("/admin/").get_data(as_text=True))
    client.put(
        "/api/settings/core.company_name", json={"value": "Via API"}, headers={"X-CSRFToken": token}
    )
    [entry] = parameter_audit(session)
    assert (entry.actor, entry.after) == ("ann", "Via API")
