"""The hooks the approvals module calls, each with an in-process plugin that records it:
``erpkit_order_facts`` (and ``erpkit_fact_definitions``) when rules are evaluated,
``erpkit_step_breached`` when the sweep finds a step late."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from erpkit import FactDefinition, PluginMeta, hookimpl, steps
from erpkit.db import db, utcnow
from erpkit.plugins import current_registry
from erpkit_approvals.models import Step
from erpkit_orders.models import Order

from .conftest import Api, place_order, request_of, rule_body


class Probe:
    """A plugin declaring the fact ``probe.vip`` and recording the hooks it receives."""

    PLUGIN = PluginMeta(name="probe", requires=("orders",))

    def __init__(self, vip: bool = True) -> None:
        self.vip = vip
        self.facts_asked: list[tuple[Any, Any]] = []
        self.breaches: list[dict[str, Any]] = []

    @hookimpl
    def erpkit_fact_definitions(self) -> list[FactDefinition]:
        return [FactDefinition("probe.vip", "boolean", "The customer is a VIP.")]

    @hookimpl
    def erpkit_order_facts(self, order: Any, session: Any) -> dict[str, Any]:
        self.facts_asked.append((order, session))
        return {"probe.vip": self.vip}

    @hookimpl
    def erpkit_step_breached(self, subject: Any, step: str, overdue_by: timedelta, action: str,
                             session: Any) -> None:
        order_id = subject.request.order_id if isinstance(subject, Step) else subject.id
        self.breaches.append({"subject": subject, "order_id": order_id, "step": step,
                              "overdue_by": overdue_by, "action": action, "session": session})


def _api(app, users, login, *roles) -> Api:
    users.create(login, *roles)
    return Api(app.test_client(), login, users.headers(login))


def test_hook_erpkit_order_facts(make_app, users, catalogue):
    probe = Probe(vip=True)
    app = make_app(probe)
    admin, sales = _api(app, users, "root", "admin"), _api(app, users, "sam", "sales")
    _api(app, users, "ann", "approver")
    saved = admin.post("/api/approvals/rules", json=rule_body(name="VIPs", conditions=[
        {"fact": "probe.vip", "operator": "is", "value": "true"}]))
    assert saved.status_code == 201, saved.get_json()

    order = place_order(sales, catalogue, 1)

    [(asked_order, session)] = probe.facts_asked
    assert isinstance(asked_order, Order) and asked_order.id == order["id"]
    assert session is not None
    assert order["status"] == "pending_approval"
    [match] = request_of(admin, order["id"])["matches"]
    assert match["facts"] == {"probe.vip": True}
    assert match["why"] == "vip: yes"


def test_hook_erpkit_order_facts_a_value_of_the_wrong_type_fails_the_submit(make_app, users,
                                                                            catalogue):
    probe = Probe(vip="yes")  # a str where a bool is declared
    app = make_app(probe)
    admin, sales = _api(app, users, "root", "admin"), _api(app, users, "sam", "sales")
    admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(sales, catalogue, 1, submit=False)

    refused = sales.post(f"/api/orders/{order['id']}/submit")

    assert refused.status_code == 500
    assert refused.get_json()["plugin"] == "probe"
    assert ("plugin 'probe' produced the fact 'probe.vip' = 'yes' (str), but declares it "
            "boolean") in refused.get_json()["message"]
    assert sales.get(f"/api/orders/{order['id']}").get_json()["status"] == "draft"


def test_hook_erpkit_fact_definitions_reach_the_rule_editor(make_app, users):
    app = make_app(Probe())
    admin = _api(app, users, "root", "admin")

    facts = {f["name"]: f for f in admin.get("/api/approvals/facts").get_json()}

    assert facts["probe.vip"] == {"name": "probe.vip", "type": "boolean", "plugin": "probe",
                                  "description": "The customer is a VIP.", "operators": ["is"]}
    refused = admin.post("/api/approvals/rules", json=rule_body(conditions=[
        {"fact": "probe.vip", "operator": "=", "value": "true"}]))
    assert refused.status_code == 422


def test_a_rule_on_a_fact_whose_plugin_is_gone_holds_the_order_for_a_person(make_app, app,
                                                                             users, catalogue):
    with_probe = make_app(Probe())
    admin = _api(with_probe, users, "root", "admin")
    _api(with_probe, users, "ann", "approver")
    admin.post("/api/approvals/rules", json=rule_body(name="VIPs", conditions=[
        {"fact": "probe.vip", "operator": "is", "value": "true"}]))

    sales = _api(app, users, "sam", "sales")  # the app without the probe plugin
    assert place_order(sales, catalogue, 1)["status"] == "pending_approval"  # fail closed


def test_hook_erpkit_step_breached(make_app, users, catalogue):
    probe = Probe(vip=False)
    app = make_app(probe)
    admin, sales = _api(app, users, "root", "admin"), _api(app, users, "sam", "sales")
    _api(app, users, "ann", "approver")
    admin.post("/api/approvals/rules", json=rule_body(steps=[
        {"role": "approver", "time_limit": "1h", "breach_action": "escalate",
         "escalate_to": "admin"}]))
    order = place_order(sales, catalogue, 12)

    with app.app_context():
        registry = current_registry()
        steps.sweep(db.session, registry, utcnow() + timedelta(hours=2))
        steps.sweep(db.session, registry, utcnow() + timedelta(hours=3))  # once per breach

    [breach] = probe.breaches
    assert isinstance(breach["subject"], Step)
    assert breach["order_id"] == order["id"]
    assert (breach["step"], breach["action"]) == ("Large orders", "escalate")
    assert timedelta(minutes=59) < breach["overdue_by"] <= timedelta(hours=1, minutes=1)
    assert breach["session"] is not None

    with app.app_context():
        # past submitted_to_confirmed
        steps.sweep(db.session, current_registry(), utcnow() + timedelta(hours=5))
    department = [b for b in probe.breaches if b["step"] == "submitted_to_confirmed"]
    assert len(department) == 1
    assert isinstance(department[0]["subject"], Order)
    assert department[0]["action"] == "escalate"
