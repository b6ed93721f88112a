"""Every JSON endpoint, fed generated input from its own OpenAPI document: no input a
client sends may produce a server error (a 500), and the document must be valid. Then a
stateful run (:class:`OrderLives`): orders taken through their lives by a hypothesis state
machine, wrong and invalid steps mixed in.

Two passes over every operation: **positive** (input the document allows) and
**negative** (input it forbids: wrong types, out-of-range numbers, missing fields, odd
strings). The run's seed is printed; repeat a failing run with ``ERPKIT_FUZZ_SEED=<seed>``.
The database holds the demo catalogue first, so ids in paths find rows and the
generated requests reach the business code, not only the 404s.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from decimal import Decimal
from typing import Any, ClassVar

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from schemathesis import GenerationMode

from erpkit.db import db

EXAMPLES = int(os.environ.get("ERPKIT_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def fuzz_seed() -> int:
    chosen = int(os.environ.get("ERPKIT_FUZZ_SEED") or random.randrange(2**32))
    print(f"\nerpkit fuzz seed: {chosen} (repeat with ERPKIT_FUZZ_SEED={chosen})")
    return chosen


@pytest.fixture
def demo_data(app) -> None:
    from erpkit.demo import load_demo

    with app.app_context():
        load_demo("demo-password")
        db.session.commit()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_no_generated_request_gets_a_server_error(app, users, demo_data, fuzz_seed, mode):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = users.headers("admin")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # every module's endpoints are in the document
    failures: list[str] = []
    tried = 0

    for operation in operations:

        @seed(fuzz_seed)
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}: "
                f"{response.status_code} {response.text[:300]}")

        try:
            no_server_error()
            tried += 1
        except Unsatisfiable:
            # Negative mode: an operation without parameters or body has nothing to break.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0][:600])

    assert tried > 30, tried
    assert not failures, f"seed {fuzz_seed}:\n" + "\n".join(failures)


# -- stateful: an order's life, with wrong and invalid steps mixed in ---------------------

#: What each example of the state machine runs: about ``STEPS`` calls, ``RUNS`` times.
RUNS = int(os.environ.get("ERPKIT_FUZZ_RUNS", "12"))
STEPS = int(os.environ.get("ERPKIT_FUZZ_STEPS", "15"))
MOVES = ("submit", "confirm", "ship", "deliver", "close", "cancel", "return", "reopen")
#: Ids no row has, at the edges of what a URL or a body may carry.
MISSING_IDS = (0, 2**31 - 1, 2**31, 2**63, -1)

#: Quantities and prices as clients send them, good and bad: decimal strings, JSON numbers
#: (erpkit reads them as Decimals), too many places, too large, not ASCII digits, not numbers.
amounts = st.one_of(
    st.decimals(min_value=0, max_value=50, places=3, allow_nan=False).map(str),
    st.integers(min_value=-5, max_value=20),
    st.sampled_from(["0", "-1", "0.0001", "1e15", "1E3", "999999999999999999", "\u0665",
                     "NaN", "Infinity", " 2 ", "", "1,5"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(), st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2))
#: Bodies of any JSON shape, for the moves whose body says nothing or little.
junk = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


class OrderLives(RuleBasedStateMachine):
    """Orders created, changed, submitted, approved or rejected, confirmed, shipped in
    parts, delivered, returned, reopened, in any order, with bad input and missing ids:
    no call gets a 5xx, and a refused move leaves the order exactly as it was."""

    #: Set by the test: the Flask test client and each role's headers.
    world: ClassVar[dict[str, Any]] = {}
    orders = Bundle("orders")

    def call(self, method: str, path: str, who: str = "admin", **kwargs: Any) -> Any:
        response = self.world["client"].open(path, method=method,
                                             headers=self.world["headers"][who], **kwargs)
        step = path.rstrip("/").rsplit("/", 1)[-1]
        self.world["walked"][(method, step if step.isalpha() else "<id>",
                              response.status_code)] += 1
        assert response.status_code < 500, (
            f"{method} {path} {kwargs!r}: {response.status_code} "
            f"{response.get_data(as_text=True)[:400]}")
        return response

    def order(self, order_id: int) -> Any:
        return self.call("GET", f"/api/orders/{order_id}").get_json()

    def customer(self, pick: int) -> int:
        customers = self.world["customers"]
        return customers[pick % len(customers)] if pick >= 0 else MISSING_IDS[pick]

    @initialize(target=orders, customer=st.integers(min_value=0, max_value=4),
                good=st.lists(st.tuples(st.integers(min_value=0, max_value=7),
                                        st.integers(min_value=1, max_value=3)),
                              min_size=1, max_size=3))
    def one_whole_life(self, customer: int, good: list[tuple[int, int]]) -> int:
        """First, one order the whole good way: create, submit, approve (two lines or
        more), confirm, ship, deliver; each step must be taken."""
        order_id = self.create(customer, good)
        for _step in range(10):  # an approval may take a decision per rule and step
            status = self.order(order_id)["status"]
            if status == "delivered":
                return order_id
            self.advance(order_id, "close")
            assert status == "pending_approval" or self.order(order_id)["status"] != status, (
                f"stuck in {status}")
        raise AssertionError(f"order {order_id} did not reach delivered")

    @rule(target=orders, customer=st.integers(min_value=0, max_value=4),
          good=st.lists(st.tuples(st.integers(min_value=0, max_value=7),
                                  st.integers(min_value=1, max_value=9)),
                        min_size=1, max_size=3))
    def create(self, customer: int, good: list[tuple[int, int]]) -> Any:
        skus = self.world["skus"]
        lines = [{"sku": skus[index % len(skus)], "quantity": str(quantity)}
                 for index, quantity in good]
        response = self.call("POST", "/api/orders",
                             json={"customer_id": self.customer(customer), "lines": lines})
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()["id"]

    @rule(target=orders, customer=st.integers(min_value=-len(MISSING_IDS), max_value=4),
          odd=st.lists(st.fixed_dictionaries(
              {"sku": st.one_of(st.sampled_from(["", "NOPE", "\x00"]), st.integers(0, 7)),
               "quantity": amounts},
              optional={"unit_price": amounts, "discount_percent": amounts}), max_size=3))
    def create_odd(self, customer: int, odd: list[dict[str, Any]]) -> Any:
        """Unknown customers and products, amounts of every shape: mostly refused."""
        skus = self.world["skus"]
        lines = [{**line, "sku": skus[line["sku"] % len(skus)]
                  if isinstance(line["sku"], int) else line["sku"]} for line in odd]
        response = self.call("POST", "/api/orders",
                             json={"customer_id": self.customer(customer), "lines": lines})
        if response.status_code in (200, 201):
            return response.get_json()["id"]
        assert response.status_code in (400, 404, 409, 422), response.status_code
        return multiple()

    @rule(order_id=orders, after_delivery=st.sampled_from(["close", "return"]))
    def advance(self, order_id: int, after_delivery: str) -> None:
        """The next move of the good path, as the people in charge would make it."""
        status = self.order(order_id)["status"]
        if status == "pending_approval":
            self.decide(order_id, "approve", "looks fine")
            return
        move = {"draft": "submit", "approved": "confirm", "confirmed": "ship",
                "partially_shipped": "ship", "shipped": "deliver",
                "delivered": after_delivery, "rejected": "reopen"}.get(status)
        if move is not None:
            self.call("POST", f"/api/orders/{order_id}/{move}", json={})

    @rule(order_id=orders, move=st.sampled_from(MOVES),
          body=st.one_of(st.just({}), st.fixed_dictionaries({"reason": st.text(max_size=20)}),
                         junk))
    def move(self, order_id: int, move: str, body: Any) -> None:
        before = self.order(order_id)
        response = self.call("POST", f"/api/orders/{order_id}/{move}", json=body)
        if response.status_code >= 400:
            after = self.order(order_id)
            assert after == before, f"a refused {move} ({response.status_code}) changed it"

    @rule(order_id=orders, share=st.sampled_from([None, "1", "0.5", "all", "too much"]),
          tracking=st.one_of(st.none(), st.text(max_size=130)))
    def ship_part(self, order_id: int, share: str | None, tracking: str | None) -> None:
        before = self.order(order_id)
        lines = []
        for line in before["lines"]:
            open_quantity = Decimal(line["quantity"]) - Decimal(line["shipped_quantity"])
            amount = {None: None, "1": Decimal(1), "0.5": Decimal("0.5"),
                      "all": open_quantity, "too much": open_quantity + 1}[share]
            if amount is not None:
                lines.append({"line_id": line["id"], "quantity": str(amount)})
        body: dict[str, Any] = {"tracking": tracking}
        if lines:
            body["lines"] = lines
        response = self.call("POST", f"/api/orders/{order_id}/ship", json=body)
        if response.status_code >= 400:
            assert self.order(order_id) == before, "a refused shipment changed the order"

    @rule(order_id=orders, decision=st.sampled_from(["approve", "reject"]),
          comment=st.one_of(st.just("looks fine"), st.just(""), junk))
    def decide(self, order_id: int, decision: str, comment: Any) -> None:
        found = self.call("GET", "/api/approvals/requests", who="approver",
                          query_string={"order_id": order_id}).get_json()["items"]
        for request in (r for r in found if r["status"] == "open"):
            self.call("POST", f"/api/approvals/requests/{request['id']}/{decision}",
                      who="approver", json={"comment": comment})

    @rule(order_id=orders, change=st.fixed_dictionaries({}, optional={
        "note": st.one_of(st.none(), st.text(max_size=30)),
        "requested_date": st.one_of(st.none(), st.dates().map(str), st.text(max_size=10)),
        "lines": st.lists(st.fixed_dictionaries({"sku": st.just("NOPE"), "quantity": amounts}),
                          max_size=2),
        "customer_id": st.sampled_from(MISSING_IDS)}))
    def change(self, order_id: int, change: dict[str, Any]) -> None:
        before = self.order(order_id)
        response = self.call("PATCH", f"/api/orders/{order_id}", json=change)
        if response.status_code >= 400:
            assert self.order(order_id) == before, "a refused change changed the order"

    @rule(order_id=st.sampled_from(MISSING_IDS), move=st.sampled_from(MOVES), body=junk)
    def move_a_missing_order(self, order_id: int, move: str, body: Any) -> None:
        response = self.call("POST", f"/api/orders/{order_id}/{move}", json=body)
        assert response.status_code in (404, 405, 422), response.status_code

    @invariant()
    def statuses_are_known(self) -> None:
        # Cheap: one listing page, newest first.
        page = self.call("GET", "/api/orders", query_string={"limit": 5}).get_json()
        assert all(order["status"] in self.world["statuses"] for order in page["items"])


@pytest.mark.slow
def test_order_lives_with_wrong_steps_never_get_a_server_error(app, users, demo_data,
                                                               fuzz_seed):
    from erpkit_orders.schemas import STATUSES

    client = app.test_client()
    headers = {"admin": users.headers("admin")}
    users.create("fuzz-approver", "approver", "admin")  # may decide every step
    headers["approver"] = users.headers("fuzz-approver")
    products = client.get("/api/products", headers=headers["admin"],
                          query_string={"limit": 100, "active": "true"}).get_json()["items"]
    # Products any small quantity fits: the good path is not refused for its quantities.
    skus = [p["sku"] for p in products
            if Decimal(p["min_quantity"] or 1) <= 1 and Decimal(p["pack_size"] or 1) == 1
            and (p["max_quantity"] is None or Decimal(p["max_quantity"]) >= 10)][:8]
    customers = [c["id"] for c in client.get("/api/customers", headers=headers["admin"],
                                             query_string={"limit": 5}).get_json()["items"]]
    assert skus and customers
    # Plenty of stock, so a confirmation is never refused for a shortage the run made.
    [warehouse, *_] = client.get("/api/inventory/warehouses",
                                 headers=headers["admin"]).get_json()["items"]
    for sku in skus:
        assert client.post("/api/inventory/receipts", headers=headers["admin"], json={
            "sku": sku, "warehouse": warehouse["code"], "quantity": "100000"}
        ).status_code == 201
    # Orders of two lines or more wait for an approver: both paths get walked.
    assert client.post("/api/approvals/rules", headers=headers["admin"], json={
        "name": "fuzz: two lines or more", "gate": "submit",
        "conditions": [{"fact": "orders.line_count", "operator": ">=", "value": 2}],
        "steps": [{"role": "approver", "required": 1}]}).status_code == 201
    OrderLives.world = {"client": client, "headers": headers, "skus": skus,
                        "customers": customers, "statuses": set(STATUSES),
                        "walked": Counter()}
    run_state_machine_as_test(
        seed(fuzz_seed)(OrderLives),
        settings=settings(max_examples=RUNS, stateful_step_count=STEPS, deadline=None,
                          database=None, suppress_health_check=list(HealthCheck)))
    walked = OrderLives.world["walked"]
    print("walked:", ", ".join(f"{m} {p} {c}: {n}" for (m, p, c), n in sorted(walked.items())))
