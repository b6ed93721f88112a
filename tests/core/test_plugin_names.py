"""Names carry their plugin's prefix, and a fact's value its declared type: enforced."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import Schema, fields

from erpkit import FactDefinition, Parameter, TransitionFailed, hookimpl
from erpkit.api import Blueprint
from erpkit.auth import Permission
from erpkit.facts import checked_order_facts
from erpkit.plugins import PluginError, load_plugins
from erpkit.testing import make_plugin

WEIGHT = FactDefinition("alpha.weight", "decimal", "Total weight in kg.")


@pytest.mark.parametrize(("hook", "item", "kind"), [
    ("erpkit_parameters", Parameter(name="limit", type=fields.Integer(), default=1,
                                    description="A limit."), "parameter"),
    ("erpkit_fact_definitions", FactDefinition("weight", "decimal", "Weight."), "fact"),
    ("erpkit_permissions", Permission("beta.tools", "Use the tools."), "permission"),
])
def test_a_name_without_the_plugins_prefix_stops_the_start(hook, item, kind):
    plugin = make_plugin("alpha", **{hook: lambda: [item]})

    with pytest.raises(PluginError) as refused:
        load_plugins({"alpha"}, extra=[plugin])

    message = str(refused.value)
    assert f"plugin 'alpha' declares the {kind} {item.name!r}" in message
    assert "Fix: name it 'alpha." in message


def test_prefixed_names_are_accepted():
    registry = load_plugins({"alpha"}, extra=[make_plugin(
        "alpha",
        erpkit_parameters=lambda: [Parameter(name="alpha.limit", type=fields.Integer(),
                                             default=1, description="A limit.")],
        erpkit_fact_definitions=lambda: [WEIGHT],
        erpkit_permissions=lambda: [Permission("alpha.tools", "Use the tools.")],
    )])

    assert "alpha.limit" in registry.parameters.declared
    assert "alpha.weight" in registry.facts
    assert "alpha.tools" in registry.permissions


def weighing(weight: Any, *, extra: dict[str, Any] | None = None) -> Any:
    return make_plugin("alpha", erpkit_fact_definitions=lambda: [WEIGHT],
                       erpkit_order_facts=lambda order, session: {"alpha.weight": weight,
                                                                  **(extra or {})})


@pytest.mark.parametrize("weight", [Decimal("12.5"), 12, None])
def test_a_fact_of_its_declared_type_is_passed_on(weight):
    registry = load_plugins({"alpha"}, extra=[weighing(weight)])

    assert checked_order_facts(registry, order=object(), session=None) == {
        "alpha.weight": weight}


@pytest.mark.parametrize(("weight", "shown"), [(12.5, "12.5 (float)"), ("12.5", "'12.5' (str)"),
                                              (True, "True (bool)")])
def test_a_fact_of_the_wrong_type_is_refused_naming_the_plugin_and_the_fact(weight, shown):
    registry = load_plugins({"alpha"}, extra=[weighing(weight)])

    with pytest.raises(TransitionFailed) as refused:
        checked_order_facts(registry, order=object(), session=None)

    assert refused.value.plugin == "alpha"
    assert (f"plugin 'alpha' produced the fact 'alpha.weight' = {shown}, but declares it "
            "decimal. Fix: return a Decimal") in str(refused.value)


def test_a_fact_the_plugin_does_not_declare_is_refused():
    registry = load_plugins({"alpha"}, extra=[weighing(Decimal(1), extra={"alpha.height": 3})])

    with pytest.raises(TransitionFailed, match=r"produced the fact 'alpha\.height', but no "
                                               r"plugin declares it"):
        checked_order_facts(registry, order=object(), session=None)


# -- OpenAPI schema names ---------------------------------------------------------------


def plugin_with_an_order_schema(name: str) -> Any:
    """A plugin whose module defines an ``OrderSchema``, as ``erpkit_<name>.schemas`` would."""
    plugin = make_plugin(name)

    class OrderSchema(Schema):
        __module__ = plugin.__name__
        reference = fields.String(metadata={"description": f"{name}'s reference"})

    def blueprints() -> list[Blueprint]:
        blp = Blueprint(name, plugin.__name__, url_prefix=f"/api/{name}", permission=None)

        @blp.get("/order")
        @blp.response(200, OrderSchema)
        def order() -> Any:
            return {"reference": name}

        return [blp]

    plugin.erpkit_blueprints = hookimpl(blueprints)  # type: ignore[attr-defined]
    return plugin


def test_two_plugins_schemas_of_one_class_name_both_appear_prefixed(make_app):
    app = make_app(plugin_with_an_order_schema("alpha"), plugin_with_an_order_schema("beta"))
    spec = app.test_client().get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]

    assert schemas["alpha.Order"]["properties"]["reference"]["description"] == "alpha's reference"
    assert schemas["beta.Order"]["properties"]["reference"]["description"] == "beta's reference"
    assert "orders.Order" in schemas  # an installed plugin's schema, from its package
    assert "Setting" in schemas  # the core's keep their names
    ok = spec["paths"]["/api/v1/alpha/order"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/alpha.Order"}


def test_the_openapi_document_names_and_refers_to_schemas_validly(client):
    spec = client.get("/api/openapi.json").get_json()
    names = set(spec["components"]["schemas"])
    # OpenAPI 3.1: component names match ^[a-zA-Z0-9.\-_]+$
    assert all(re.fullmatch(r"[a-zA-Z0-9.\-_]+", name) for name in names), names
    referred = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert referred and referred <= names
