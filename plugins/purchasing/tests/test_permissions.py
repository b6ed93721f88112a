"""Who may do what in purchasing: the purchasing role buys, the warehouse role receives,
analysts and approvers read; everyone else is refused with 403, over the API and in the
console, and a refusal changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit_purchasing.models import PurchaseOrder, Supplier

from .conftest import CSRF, log_in

PERIOD = "first=2026-01-01&last=2026-01-31"

ROLES = {"purchasing", "warehouse", "analyst", "approver", "sales", "logistics"}
READERS = {"purchasing", "warehouse", "analyst", "approver"}
BUYERS, RECEIVERS = {"purchasing"}, {"warehouse"}

# (method, path, body, the roles allowed): every other role is refused with 403.
REFUSED = [(method, path, body, ROLES - allowed) for method, path, body, allowed in [
    ("GET", "/api/purchasing/suppliers", None, READERS),
    ("GET", "/api/purchasing/orders", None, READERS),
    ("GET", f"/api/purchasing/figures?{PERIOD}", None, READERS),
    ("GET", f"/api/purchasing/simulation?{PERIOD}", None, READERS),
    ("GET", f"/api/purchasing/spend?{PERIOD}", None, READERS),
    ("GET", "/api/purchasing/orders/1/pdf", None, READERS),
    ("POST", "/api/purchasing/suppliers", {"code": "S", "name": "S"}, BUYERS),
    ("POST", "/api/purchasing/orders/from-suggestions", None, BUYERS),
    ("POST", "/api/purchasing/orders/1/send", None, BUYERS),
    ("POST", "/api/purchasing/plan/apply?central=A", None, BUYERS),
    ("POST", "/api/purchasing/orders/1/receipts", {"line_id": 1, "quantity": "1"}, RECEIVERS),
    ("POST", "/api/purchasing/transfers",
     {"sku": "X", "source": "A", "warehouse": "B", "quantity": "1"}, RECEIVERS),
]]


@pytest.mark.parametrize(("method", "path", "body", "refused"), REFUSED,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _b, _r in REFUSED])
def test_each_endpoint_refuses_the_roles_without_its_permission(as_role, method, path, body,
                                                                refused):
    for role in sorted(ROLES):
        answer = as_role(role).open(method, path, json=body)
        if role in refused:
            assert answer.status_code == 403, (role, answer.get_json())
            assert "purchasing." in answer.get_json()["message"]
        else:  # allowed: whatever the answer, it is not a refusal (404/422 for made-up ids)
            assert answer.status_code not in (401, 403), (role, answer.get_json())


def test_a_refused_write_changes_nothing(app, as_role):
    assert as_role("warehouse").post("/api/purchasing/suppliers",
                                      json={"code": "S", "name": "S"}).status_code == 403
    assert as_role("warehouse").post("/api/purchasing/orders/from-suggestions"
                                     ).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Supplier)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)) == 0


@pytest.mark.parametrize(("role", "page", "allowed"), [
    ("purchasing", "desk", True), ("purchasing", "suppliers", True),
    ("purchasing", "simulation", True), ("purchasing", "figures", True),
    ("warehouse", "desk", True), ("warehouse", "receipts", True),
    ("warehouse", "suppliers", False), ("warehouse", "offers", False),
    ("warehouse", "routes", False), ("analyst", "figures", True),
    ("analyst", "simulation", True), ("analyst", "suppliers", False),
    ("sales", "desk", False), ("sales", "figures", False), ("sales", "simulation", False),
])
def test_console_pages_open_for_the_roles_that_may_see_them(app, users, role, page, allowed):
    client = log_in(app.test_client(), users, f"{role}-user", role)
    status = client.get(f"/admin/purchasing/{page}/").status_code
    assert (status == 200) == allowed, status
    if not allowed:
        assert status == 403


def test_the_desk_refuses_a_draft_to_the_warehouse_and_shows_it_no_draft_button(app, users):
    client = log_in(app.test_client(), users, "wes", "warehouse")
    desk = client.get("/admin/purchasing/desk/").get_data(as_text=True)
    assert "Draft purchase orders" not in desk
    page = client.post("/admin/purchasing/desk/draft",
                       data={"csrf_token": CSRF.search(desk).group(1)}, follow_redirects=True)
    assert "Not done: you need purchasing.order" in page.get_data(as_text=True)
