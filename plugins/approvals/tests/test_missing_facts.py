"""A rule on a fact whose plugin went away is flagged everywhere and holds orders (fail
closed) instead of letting them through."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from erpkit import FactDefinition
from erpkit.cli import main
from erpkit.db import db
from erpkit.facts import fact_uses

from .conftest import Api, log_in, make_plugin, order_status, place_order, request_of

TIER = FactDefinition("loyalty.tier", "string", "The customer's loyalty tier.")


def loyalty_plugin() -> Any:
    """Declares ``loyalty.tier`` and says every customer is ``silver``."""
    return make_plugin("loyalty", erpkit_fact_definitions=lambda: [TIER],
                       erpkit_order_facts=lambda order, session: {"loyalty.tier": "silver"})


def gold_rule() -> dict[str, Any]:
    """Holds orders of gold customers: none of ours is gold, so with the plugin none waits."""
    return {"name": "Gold customers", "priority": 10, "match": "all",
            "conditions": [{"fact": "loyalty.tier", "operator": "=", "value": "gold"}],
            "steps": [{"role": "approver", "required": 1}]}


@pytest.fixture
def loyalty_app(make_app: Any) -> Any:
    return make_app(loyalty_plugin())


@pytest.fixture
def rule_on_loyalty(loyalty_app: Any, people: Any) -> dict[str, Any]:
    """The rule, saved while the loyalty plugin was enabled."""
    with_plugin = Api(loyalty_app.test_client(), "root", people.admin.headers)
    saved = with_plugin.post("/api/approvals/rules", json=gold_rule())
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["missing_facts"] == []
    return dict(saved.get_json())


def test_with_its_plugin_the_rule_tests_the_fact(loyalty_app, rule_on_loyalty, people,
                                                 catalogue):
    sales = Api(loyalty_app.test_client(), "sam", people.sales.headers)
    assert place_order(sales, catalogue)["status"] == "confirmed"  # silver: not held


def test_without_its_plugin_the_rule_holds_the_order_for_a_person(rule_on_loyalty, people,
                                                                  catalogue):
    # the app of these tests has orders and approvals only: nobody declares loyalty.tier
    order = place_order(people.sales, catalogue)

    assert order["status"] == "pending_approval"
    assert order_status(people.sales, order["id"]) == "pending_approval"
    request = request_of(people.admin, order["id"])
    assert request["summary"] == ("Gold customers (v1): missing fact loyalty.tier "
                                  "(no enabled plugin declares it)")


def test_the_rules_api_flags_the_rule(rule_on_loyalty, people):
    listed = people.admin.get("/api/approvals/rules").get_json()["items"]
    assert [(r["name"], r["missing_facts"]) for r in listed] == [
        ("Gold customers", ["loyalty.tier"])]
    one = people.admin.get(f"/api/approvals/rules/{rule_on_loyalty['id']}").get_json()
    assert one["missing_facts"] == ["loyalty.tier"]


def test_the_console_flags_the_rule_in_the_list_and_the_editor(rule_on_loyalty, client):
    log_in(client, "root")

    listing = client.get("/admin/approval-rules/").get_data(as_text=True)
    assert 'data-testid="missing-facts"' in listing
    assert "No enabled plugin declares loyalty.tier" in listing
    editor = client.get(f"/admin/approval-rules/{rule_on_loyalty['id']}/").get_data(as_text=True)
    assert "No enabled plugin declares loyalty.tier" in editor
    # the condition is still shown, not silently dropped from the form
    assert '<option value="loyalty.tier" selected>loyalty.tier (missing)</option>' in editor


def test_the_console_does_not_flag_a_rule_whose_facts_are_declared(loyalty_app,
                                                                   rule_on_loyalty):
    console = loyalty_app.test_client()
    log_in(console, "root")
    assert 'data-testid="missing-facts"' not in console.get(
        "/admin/approval-rules/").get_data(as_text=True)


def test_plugins_list_warns_of_the_rule(app, rule_on_loyalty):
    listed = CliRunner().invoke(main, ["plugins", "list"], obj={"app": app})

    assert listed.exit_code == 0, listed.output
    assert ("warning: approval rule 'Gold customers' (v1, on) tests the fact 'loyalty.tier', "
            "which no enabled plugin declares: it holds every order it tests for a person. "
            "Fix: enable the plugin 'loyalty' again, or change the rule.") in listed.stderr
    as_json = CliRunner().invoke(main, ["plugins", "list", "--json"], obj={"app": app})
    assert as_json.stdout.startswith("[")  # the warning goes to stderr, the JSON stays JSON
    assert "Gold customers" in as_json.stderr


def test_plugins_list_says_nothing_while_the_fact_is_declared(loyalty_app, rule_on_loyalty):
    listed = CliRunner().invoke(main, ["plugins", "list"], obj={"app": loyalty_app})

    assert listed.exit_code == 0, listed.output
    assert "warning" not in listed.stderr


def test_the_downgrade_prompt_names_the_rules_on_the_plugins_facts(loyalty_app,
                                                                  rule_on_loyalty):
    asked = CliRunner().invoke(main, ["db", "downgrade", "loyalty"], input="n\n",
                               obj={"app": loyalty_app})

    assert ("these test facts of 'loyalty'; once it is disabled or uninstalled they hold "
            "every order they test for a person (fail closed):\n"
            "  approval rule 'Gold customers' (v1, on) tests the fact 'loyalty.tier'\n"
            "Proceed?") in asked.output
    assert "nothing changed" in asked.output


def test_hook_erpkit_fact_uses(make_app, rule_on_loyalty):
    campaigns = make_plugin("campaigns", erpkit_fact_uses=lambda session: {
        "loyalty.tier": ["campaign 'Gold week'"]})
    app = make_app(campaigns)

    with app.app_context():
        uses = fact_uses(app.extensions["erpkit"], db.session)
    assert {name: sorted(found) for name, found in uses.items()} == {"loyalty.tier": [
        "approval rule 'Gold customers' (v1, on)", "campaign 'Gold week'"]}
    listed = CliRunner().invoke(main, ["plugins", "list"], obj={"app": app})
    assert "warning: campaign 'Gold week' tests the fact 'loyalty.tier'" in listed.stderr
