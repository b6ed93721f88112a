"""The set-up hooks: what a plugin declares reaches the core, which uses it.

Each ``test_hook_<name>`` here is the test that ``test_docs.py`` requires for a set-up
hook; the lifecycle hooks are tested with the plugins that fire them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
import pytest
import sqlalchemy as sa
from flask import Blueprint, jsonify
from flask_admin import BaseView, expose
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from erpkit import FactDefinition, Parameter
from erpkit.admin.contrib import AdminView
from erpkit.auth import Permission, create_user, ensure_builtin_roles
from erpkit.db import db
from erpkit.demo import load_demo
from erpkit.models import AuditEntry, Role
from erpkit.parameters import get_value
from erpkit.plugins import PluginError, load_plugins
from erpkit.testing import make_plugin


class OwnBase(DeclarativeBase):
    """Models of throwaway plugins live here, off the shared metadata."""


class AlphaThing(OwnBase):
    __tablename__ = "alpha_thing"

    id: Mapped[int] = mapped_column(primary_key=True)


def test_hook_erpkit_models():
    alpha = make_plugin("alpha", erpkit_models=lambda: [AlphaThing])
    registry = load_plugins({"alpha"}, extra=[alpha])

    assert registry.table_owners["alpha_thing"] == "alpha"
    assert registry.table_owners["core_parameter"] == "core"


def _limit() -> Parameter:
    return Parameter(name="alpha.limit", type=fields.Integer(validate=validate.Range(min=1)),
                     default=5, description="How many at most.")


def test_hook_erpkit_parameters(make_app):
    app = make_app(EXTRA_PLUGINS=[make_plugin("alpha", erpkit_parameters=lambda: [_limit()])])
    store = app.extensions["erpkit"].parameters

    assert store.declared["alpha.limit"].owner == "alpha"
    assert store.declared["core.default_currency"].owner == "core"
    with app.app_context():
        assert get_value(db.session, "alpha.limit") == 5
        store.set(db.session, "alpha.limit", "7", actor="tester")
        db.session.commit()
        assert get_value(db.session, "alpha.limit") == 7


def test_two_plugins_declaring_one_parameter_are_refused():
    # beta may not take alpha's name: only its own prefix is allowed
    with pytest.raises(PluginError, match=r"plugin 'beta' declares the parameter 'alpha\.limit'"):
        load_plugins({"alpha", "beta"}, extra=[
            make_plugin("alpha", erpkit_parameters=lambda: [_limit()]),
            make_plugin("beta", erpkit_parameters=lambda: [_limit()]),
        ])


class Greeting(Schema):
    name = fields.String(required=True)


def _blueprints() -> list[Any]:
    plain = Blueprint("alpha_plain", __name__, url_prefix="/alpha")

    @plain.get("/ping")
    def ping() -> Any:
        return jsonify({"pong": True})

    api = ApiBlueprint("alpha_api", __name__, url_prefix="/api/alpha")

    @api.post("/greet")
    @api.arguments(Greeting)
    @api.response(200, Greeting)
    def greet(data: dict[str, str]) -> Any:
        return {"name": f"hello {data['name']}"}

    return [plain, api]


def test_hook_erpkit_blueprints(make_app, users):
    app = make_app(EXTRA_PLUGINS=[make_plugin("alpha", erpkit_blueprints=_blueprints)])
    client = app.test_client()

    assert client.get("/alpha/ping").get_json() == {"pong": True}
    greeted = client.post("/api/alpha/greet", json={"name": "Ada"}, headers=users.headers("admin"))
    assert greeted.get_json() == {"name": "hello Ada"}
    # flask-smorest blueprints are documented in the app's OpenAPI description
    assert "/api/v1/alpha/greet" in client.get("/api/openapi.json").get_json()["paths"]


class ToolsView(BaseView):
    @expose("/")
    def index(self) -> str:
        return "alpha tools"


def test_hook_erpkit_admin_views(make_app, users):
    view = AdminView(view_class=ToolsView, name="Alpha tools", endpoint="tools",
                     permission="alpha.tools")
    app = make_app(EXTRA_PLUGINS=[make_plugin("alpha", erpkit_admin_views=lambda: [view])])
    client = app.test_client()
    users.create("sam", "sales")

    endpoints = [v.endpoint for v in app.extensions["erpkit.admin"]._views]
    assert "alpha_tools" in endpoints  # prefixed with the plugin's name
    json = {"Accept": "application/json"}
    assert client.get("/admin/alpha_tools/", headers=json).status_code == 401
    assert client.get("/admin/alpha_tools/", headers=json | users.headers("sam")).status_code == 403
    allowed = client.get("/admin/alpha_tools/", headers=users.headers("admin"))
    assert allowed.status_code == 200
    assert allowed.get_data(as_text=True) == "alpha tools"


def test_hook_erpkit_cli_commands(distributions, cli_for, database_url, app):
    distributions.add("erpkit-alpha", {"alpha": "erpkit_alpha"}, {"erpkit_alpha.py": '''
        import click
        import sqlalchemy as sa

        from erpkit import PluginMeta, hookimpl
        from erpkit.db import db

        PLUGIN = PluginMeta(name="alpha")


        @click.group("alpha")
        def alpha():
            """The alpha plugin's commands."""


        @alpha.command("count-users")
        def count_users():
            total = db.session.scalar(sa.text("SELECT count(*) FROM core_user"))
            click.echo(f"{total} users")


        @hookimpl
        def erpkit_cli_commands():
            return [alpha]
    '''})
    cli = cli_for(database_url)

    listed = cli("--help")
    assert listed.exit_code == 0, listed.output
    assert "alpha" in listed.output
    ran = cli("alpha", "count-users")
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip() == "0 users"  # it ran in an app context, with a session


def test_hook_erpkit_permissions(make_app):
    permission = Permission("alpha.tools", "Use the alpha tools.", default_roles=("sales",))
    app = make_app(EXTRA_PLUGINS=[make_plugin("alpha", erpkit_permissions=lambda: [permission])])

    registry = app.extensions["erpkit"]
    assert registry.permissions["alpha.tools"] == permission
    with app.app_context():
        db.session.execute(sa.delete(Role))  # as in a new installation (rolled back below)
        ensure_builtin_roles(db.session, list(registry.permissions.values()))
        roles = {r.name: r for r in db.session.scalars(sa.select(Role))}
        assert "alpha.tools" in roles["sales"].permissions
        assert "alpha.tools" not in roles["warehouse"].permissions
        seller = create_user(db.session, "seller", "secret-pass", ["sales"])
        assert seller.can("alpha.tools")
        db.session.rollback()


def test_hook_erpkit_fact_definitions():
    weight = FactDefinition("alpha.weight", "decimal", "Total weight of the order in kg.")
    registry = load_plugins({"alpha"}, extra=[
        make_plugin("alpha", erpkit_fact_definitions=lambda: [weight])])

    assert registry.facts["alpha.weight"] == ("alpha", weight)


def test_two_plugins_declaring_one_fact_are_refused():
    weight = FactDefinition("alpha.weight", "decimal", "Total weight.")
    with pytest.raises(PluginError, match=r"plugin 'beta' declares the fact 'alpha\.weight'"):
        load_plugins({"alpha", "beta"}, extra=[
            make_plugin("alpha", erpkit_fact_definitions=lambda: [weight]),
            make_plugin("beta", erpkit_fact_definitions=lambda: [weight]),
        ])


def test_a_fact_of_an_unknown_type_is_refused_where_it_is_declared():
    with pytest.raises(ValueError, match="type 'weight' is not one of decimal"):
        FactDefinition("alpha.weight", "weight", "Total weight.")


def test_hook_erpkit_demo_data(make_app, app):
    calls: list[tuple[str, list[str]]] = []

    def demo(name: str) -> Any:
        def load(session: Any, users: Any) -> None:
            calls.append((name, sorted(users)))
            session.add(AuditEntry(actor=users["admin"].login, entity="demo", entity_id=name,
                                   action="load"))

        return load

    demo_app = make_app(PLUGINS=["alpha", "yankee", "zulu"], EXTRA_PLUGINS=[
        make_plugin("zulu", erpkit_demo_data=demo("zulu")),
        make_plugin("yankee", requires=("zulu",), erpkit_demo_data=demo("yankee")),
        make_plugin("alpha", erpkit_demo_data=lambda session: calls.append(("alpha", []))),
    ])
    with demo_app.app_context():
        logins = load_demo("demo-password")
        loaded = db.session.scalars(
            sa.select(AuditEntry.entity_id).where(AuditEntry.entity == "demo")).all()

    roles = ["admin", "analyst", "approver", "logistics", "purchasing", "sales",
             "warehouse"]
    names = [name for name, _ in calls]
    assert names == ["alpha", "zulu", "yankee"]  # dependency order, then name order
    assert dict(calls)["zulu"] == roles
    assert logins["admin"] == "admin@demo"
    assert sorted(loaded) == ["yankee", "zulu"]  # committed by the demo loader


def test_the_first_plugin_to_promise_a_delivery_date_wins():
    from datetime import date

    registry = load_plugins({"alpha", "beta", "gamma"}, extra=[
        make_plugin("alpha", erpkit_delivery_promise=lambda order: None),
        make_plugin("beta", erpkit_delivery_promise=lambda order: date(2027, 1, 2)),
        make_plugin("gamma", erpkit_delivery_promise=lambda order: date(2027, 3, 4)),
    ])
    assert registry.hook.erpkit_delivery_promise(order=None, session=None) == date(2027, 1, 2)


def test_a_plugin_facts_are_merged_in_dependency_order():
    registry = load_plugins({"alpha", "beta"}, extra=[
        make_plugin("beta", requires=("alpha",),
                    erpkit_order_facts=lambda order: {"beta.total": Decimal("2")}),
        make_plugin("alpha", erpkit_order_facts=lambda order: {"alpha.total": Decimal("1")}),
    ])
    results = registry.hook.erpkit_order_facts(order=None, session=None)
    assert results == [{"alpha.total": Decimal("1")}, {"beta.total": Decimal("2")}]


def test_a_plugin_command_named_like_a_core_command_does_not_replace_it(distributions, cli_for,
                                                                        database_url):
    distributions.add("erpkit-alpha", {"alpha": "erpkit_alpha"}, {"erpkit_alpha.py": '''
        import click
        from erpkit import PluginMeta, hookimpl

        PLUGIN = PluginMeta(name="alpha")


        @click.command("init")
        def init():
            click.echo("hijacked")


        @hookimpl
        def erpkit_cli_commands():
            return [init]
    '''})
    result = cli_for(database_url)("init")
    assert "hijacked" not in result.output
    assert click.unstyle(result.output).startswith("database ready")
