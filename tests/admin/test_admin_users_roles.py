"""Users, roles, API tokens and the audit log in the console."""

import pytest
import sqlalchemy as sa

from erpkit.auth import verify_password
from erpkit.models import ApiToken, AuditEntry, Role, User

from .helpers import post_form

# These tests are about what is stored and shown of passwords: hash them for real.
pytestmark = pytest.mark.real_password_hashing


def fresh(session, statement):
    session.rollback()  # see what the requests committed
    return session.scalars(statement).all()


def audit_of(session, entity):
    return fresh(
        session, sa.select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
    )


def role_id(session, name):
    return str(session.scalar(sa.select(Role.id).where(Role.name == name)))


def user_named(session, login):
    session.rollback()
    return session.scalar(sa.select(User).where(User.login == login))


def create_user_in_console(client, session, login="bob", password="long-enough-1", *roles):
    return post_form(
        client,
        "/admin/users/new/",
        {
            "login": login,
            "name": "Bob Builder",
            "email": "bob@example.com",
            "active": "y",
            "roles": [role_id(session, r) for r in roles or ("sales",)],
            "password": password,
        },
    )


# --- users -------------------------------------------------------------------------------


def test_a_user_made_in_the_console_has_a_scrypt_hash_never_the_password(console, session):
    client = console("ann", "admin")
    response = create_user_in_console(client, session, "bob", "long-enough-1")
    assert response.status_code == 302
    bob = user_named(session, "bob")
    assert bob.password_hash.startswith("scrypt:")
    assert "long-enough-1" not in bob.password_hash
    assert verify_password(bob, "long-enough-1")
    assert bob.role_names == {"sales"}
    assert not hasattr(bob, "password")


def test_no_console_page_shows_a_password_hash(console, session):
    client = console("ann", "admin")
    create_user_in_console(client, session)
    bob = user_named(session, "bob")
    for url in (
        "/admin/users/",
        f"/admin/users/details/?id={bob.id}",
        f"/admin/users/edit/?id={bob.id}",
        "/admin/audit/",
    ):
        page = client.get(url).get_data(as_text=True)
        assert "scrypt:" not in page and bob.password_hash not in page, url


def test_a_new_user_needs_a_password_of_eight_characters(console, session):
    client = console("ann", "admin")
    assert create_user_in_console(client, session, "bob", "").status_code == 200
    assert create_user_in_console(client, session, "bob", "short").status_code == 200
    assert user_named(session, "bob") is None


def test_creating_editing_and_deleting_a_user_is_audited(console, session):
    client = console("ann", "admin")
    create_user_in_console(client, session, "bob", "long-enough-1", "sales")
    bob = user_named(session, "bob")
    edit = f"/admin/users/edit/?id={bob.id}"
    response = post_form(
        client,
        edit,
        {
            "login": "bob",
            "name": "Bob Builder",
            "email": "bob@example.com",
            "active": "y",
            "roles": [role_id(session, "sales"), role_id(session, "approver")],
            "password": "",
        },
    )
    assert response.status_code == 302
    assert user_named(session, "bob").role_names == {"sales", "approver"}
    assert verify_password(user_named(session, "bob"), "long-enough-1")  # empty: unchanged

    post_form(client, "/admin/users/delete/", {"id": str(bob.id)}, page="/admin/users/")
    assert user_named(session, "bob") is None

    created, updated, deleted = [e for e in audit_of(session, "user") if e.entity_id == "bob"]
    assert (created.actor, created.action, created.before) == ("ann", "create", None)
    assert created.after["roles"] == ["sales"] and created.after["has_password"] is True
    assert updated.action == "update"
    assert updated.before["roles"] == ["sales"]
    assert updated.after["roles"] == ["approver", "sales"]
    assert (deleted.action, deleted.after) == ("delete", None)
    assert deleted.before["login"] == "bob"


def test_a_password_change_is_audited_without_any_hash(console, session):
    client = console("ann", "admin")
    create_user_in_console(client, session, "bob", "long-enough-1")
    bob = user_named(session, "bob")
    post_form(
        client,
        f"/admin/users/edit/?id={bob.id}",
        {
            "login": "bob",
            "name": "Bob Builder",
            "email": "bob@example.com",
            "active": "y",
            "roles": [role_id(session, "sales")],
            "password": "another-password",
        },
    )
    assert verify_password(user_named(session, "bob"), "another-password")
    change = audit_of(session, "user")[-1]
    assert change.after["password"] == "changed"
    assert "scrypt" not in str(change.before) + str(change.after)


def test_an_admin_cannot_delete_themself(console, session):
    client = console("ann", "admin")
    ann = user_named(session, "ann")
    response = post_form(
        client,
        "/admin/users/delete/",
        {"id": str(ann.id)},
        page="/admin/users/",
        follow_redirects=True,
    )
    assert "you cannot delete the user you are logged in as" in response.get_data(as_text=True)
    assert user_named(session, "ann") is not None


def test_a_change_that_leaves_nobody_able_to_administer_roles_is_refused(console, session):
    client = console("ann", "admin")
    ann = user_named(session, "ann")
    response = post_form(
        client,
        f"/admin/users/edit/?id={ann.id}",
        {
            "login": "ann",
            "name": "ann",
            "email": "",
            "active": "",
            "roles": [role_id(session, "admin")],
            "password": "",
        },
    )
    assert "nobody could administer roles" in response.get_data(as_text=True)
    assert user_named(session, "ann").active is True


# --- roles -------------------------------------------------------------------------------


def test_the_role_form_offers_every_declared_permission_as_a_checkbox(console, app, session):
    client = console("ann", "admin")
    page = client.get(f"/admin/roles/edit/?id={role_id(session, 'sales')}").get_data(as_text=True)
    for name in app.extensions["erpkit"].permissions:
        assert f'type="checkbox" value="{name}"' in page, name
    assert 'checked id="permissions-0" name="permissions" type="checkbox" value="*"' not in page


def test_editing_a_role_is_audited_with_before_and_after(console, session):
    client = console("ann", "admin")
    sales = role_id(session, "sales")
    before = fresh(session, sa.select(Role).where(Role.name == "sales"))[0].permissions
    response = post_form(
        client,
        f"/admin/roles/edit/?id={sales}",
        {
            "name": "sales",
            "description": "Sells",
            "permissions": [*before, "core.audit"],
        },
    )
    assert response.status_code == 302
    assert (
        "core.audit" in fresh(session, sa.select(Role).where(Role.name == "sales"))[0].permissions
    )
    [entry] = audit_of(session, "role")
    assert (entry.actor, entry.entity_id, entry.action) == ("ann", "sales", "update")
    assert "core.audit" not in entry.before["permissions"]
    assert "core.audit" in entry.after["permissions"]
    assert entry.after["description"] == "Sells"


def test_a_role_cannot_be_given_an_undeclared_permission(console, session):
    client = console("ann", "admin")
    response = post_form(
        client,
        f"/admin/roles/edit/?id={role_id(session, 'sales')}",
        {
            "name": "sales",
            "description": "",
            "permissions": ["made.up"],
        },
    )
    assert response.status_code == 200
    assert "not a valid choice" in response.get_data(as_text=True)
    assert audit_of(session, "role") == []


def test_a_built_in_role_keeps_its_name_and_cannot_be_deleted(console, session):
    client = console("ann", "admin")
    sales = role_id(session, "sales")
    post_form(
        client,
        f"/admin/roles/edit/?id={sales}",
        {"name": "sellers", "description": "", "permissions": []},
    )
    post_form(client, "/admin/roles/delete/", {"id": sales}, page="/admin/roles/")
    assert [r.name for r in fresh(session, sa.select(Role).where(Role.id == int(sales)))] == [
        "sales"
    ]
    assert audit_of(session, "role") == []


def test_the_permission_matrix_saves_every_role_at_once_audited(console, session):
    client = console("ann", "admin")
    roles = {r.name: r for r in fresh(session, sa.select(Role))}
    data = {f"role-{r.id}": list(r.permissions) for r in roles.values()}
    data[f"role-{roles['analyst'].id}"] = [*roles["analyst"].permissions, "core.audit"]
    response = post_form(client, "/admin/roles/matrix/", data)
    assert response.status_code == 302
    analyst = fresh(session, sa.select(Role).where(Role.name == "analyst"))[0]
    assert "core.audit" in analyst.permissions
    [entry] = audit_of(session, "role")
    assert entry.entity_id == "analyst" and "core.audit" in entry.after["permissions"]


def test_the_matrix_refuses_to_take_role_administration_from_everyone(console, session):
    client = console("ann", "admin")
    admin = fresh(session, sa.select(Role).where(Role.name == "admin"))[0]
    response = post_form(
        client, "/admin/roles/matrix/", {f"role-{admin.id}": []}, follow_redirects=True
    )
    assert "nobody could administer roles" in response.get_data(as_text=True)
    assert fresh(session, sa.select(Role).where(Role.name == "admin"))[0].permissions == ["*"]


# --- API tokens --------------------------------------------------------------------------


def test_a_token_issued_in_the_console_is_shown_once_works_and_can_be_revoked(
    console, app, session
):
    client = console("ann", "admin")
    ann = user_named(session, "ann")
    page = post_form(
        client,
        "/admin/tokens/issue",
        {"user_id": str(ann.id), "name": "webshop"},
        page="/admin/tokens/",
    ).get_data(as_text=True)
    token = page.split('data-testid="new-token">', 1)[1].split("<", 1)[0]
    assert token.startswith("erpk_")
    assert token not in client.get("/admin/tokens/").get_data(as_text=True)

    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/settings/", headers=bearer).status_code == 200

    row = fresh(session, sa.select(ApiToken).where(ApiToken.name == "webshop"))[0]
    post_form(client, f"/admin/tokens/{row.id}/revoke", {}, page="/admin/tokens/")
    assert api.get("/api/settings/", headers=bearer).status_code == 401
    assert [e.action for e in audit_of(session, "api_token")] == ["create", "delete"]


# --- the audit log -----------------------------------------------------------------------


def test_the_audit_log_cannot_be_created_edited_or_deleted_from_the_console(console, session):
    client = console("ann", "admin")
    post_form(client, "/admin/parameters/core.company_name/", {"value": "Acme"})
    entries = fresh(session, sa.select(AuditEntry))
    entry = entries[-1]
    listing = client.get("/admin/audit/").get_data(as_text=True)
    assert "/admin/audit/edit/" not in listing and "/admin/audit/delete/" not in listing
    assert "/admin/audit/new/" not in listing

    assert client.get("/admin/audit/new/").status_code == 302  # back to the list
    assert client.get(f"/admin/audit/edit/?id={entry.id}").status_code == 302
    post_form(client, "/admin/audit/delete/", {"id": str(entry.id)}, page="/admin/audit/")
    post_form(
        client,
        "/admin/audit/action/",
        {"action": "delete", "rowid": str(entry.id)},
        page="/admin/audit/",
    )
    post_form(
        client, f"/admin/audit/edit/?id={entry.id}", {"actor": "nobody"}, page="/admin/audit/"
    )
    after = fresh(session, sa.select(AuditEntry))
    assert [(e.id, e.actor, e.after) for e in after] == [(e.id, e.actor, e.after) for e in entries]


def test_the_audit_log_filters_by_entity(console, session):
    client = console("ann", "admin")
    post_form(client, "/admin/parameters/core.company_name/", {"value": "Acme"})
    page = client.get("/admin/audit/?search=core.company_name").get_data(as_text=True)
    assert "core.company_name" in page


def test_the_plugins_page_shows_the_core_migrated(console):
    page = console("ann", "admin").get("/admin/plugins/").get_data(as_text=True)
    core = page.split('data-plugin="core"', 1)[1].split("</tr>", 1)[0]
    assert "up to date" in core and "core_0008" in core


def test_the_audit_log_filters_by_time_in_utc(console, app, session):
    client = console("ann", "admin")
    post_form(client, "/admin/parameters/core.company_name/", {"value": "Acme"})
    view = next(v for v in app.extensions["erpkit.admin"]._views if v.endpoint == "core_audit")
    arg = {
        type(f).__name__: key for key, (_i, f) in view._filter_args.items() if f.column.name == "at"
    }
    since = f"/admin/audit/?flt0_{arg['UTCDateTimeGreaterFilter']}="
    assert "core.company_name" in client.get(since + "2000-01-01 00:00:00").get_data(as_text=True)
    assert "core.company_name" not in client.get(since + "2999-01-01 00:00:00").get_data(
        as_text=True
    )
