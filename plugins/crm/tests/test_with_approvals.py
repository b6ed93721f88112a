"""With approvals: a rule "crm.over_credit_limit is true -> finance approves" holds an
order over the limit, finance's approval lets it be confirmed beyond the limit; without
crm the rule editor no longer offers the fact."""

from __future__ import annotations

from decimal import Decimal

from erpkit.testing import plugin_fixtures
from erpkit_crm import credit

#: Orders, approvals and crm, on a database of these tests' own.
database_url, app, make_app = plugin_fixtures({"orders", "approvals", "crm"},
                                              "crm_approvals")

RULE = {"name": "Over the credit limit", "priority": 10, "match": "all",
        "conditions": [{"fact": "crm.over_credit_limit", "operator": "is", "value": True}],
        "steps": [{"role": "finance", "required": 1, "time_limit": "1d",
                   "breach_action": "remind"}]}


def test_over_limit_rule_sends_the_order_to_finance_whose_approval_confirms_it(
        shop, users, client):
    from erpkit.models import Role
    from erpkit.testing import ApiClient

    shop.session.add(Role(name="finance", description="Finance",
                          permissions=["approvals.view", "approvals.decide", "orders.view"]))
    shop.session.commit()
    admin = ApiClient(client, users.headers("admin"))
    finance = ApiClient(client, users.headers("finance"))  # a user with the role finance
    ada = shop.customer()
    shop.set("crm.default_credit_limit", "500")
    facts = {f["name"] for f in admin.get("/api/approvals/facts").get_json()}
    assert {"crm.over_credit_limit", "crm.credit_available", "crm.segment"} <= facts
    created = admin.post("/api/approvals/rules", json=RULE)
    assert created.status_code == 201, created.get_json()

    small = shop.order(ada, {"SHIRT": 2})           # 80: within the limit
    large = shop.order(ada, {"SUIT": 1, "TIE": 1})  # 425: 80 + 425 > 500
    assert shop.status(small) == "confirmed"
    assert shop.status(large) == "pending_approval"

    request = finance.get(f"/api/approvals/requests?order_id={large.id}&status=open")
    [found] = request.get_json()["items"]
    assert found["matches"][0]["facts"] == {"crm.over_credit_limit": True}
    decided = finance.post(f"/api/approvals/requests/{found['id']}/approve",
                           json={"comment": "customer paid upfront"})
    assert decided.status_code == 200, decided.get_json()

    assert shop.status(large) == "confirmed"
    figures = credit.credit_of(shop.session, ada.id)
    assert figures.exposure == Decimal("505.00")  # beyond the limit, as approved
    shop.session.commit()


def test_the_rule_editor_no_longer_offers_crm_facts_when_crm_is_disabled(make_app):
    without_crm = make_app(PLUGINS=["orders", "approvals"])
    client = without_crm.test_client()
    from erpkit.testing import ApiClient, Users

    admin = ApiClient(client, Users(without_crm).headers("admin"))
    facts = {f["name"] for f in admin.get("/api/approvals/facts").get_json()}
    assert "orders.total" in facts
    assert not any(name.startswith("crm.") for name in facts)
    refused = admin.post("/api/approvals/rules", json=RULE)
    assert refused.status_code == 422
    assert "crm.over_credit_limit" in str(refused.get_json())
