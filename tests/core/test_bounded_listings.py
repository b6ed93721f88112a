"""No GET endpoint answers a bare JSON array that grows with the data: a listing is a page
(``{"items": [...], "next": cursor}``, see :func:`erpkit.schemas.one_page`), so the work
of one request is bounded by its ``limit`` however many rows there are.

An array is allowed only where something other than the data's size bounds it; each such
endpoint is in :data:`BOUNDED` with what bounds it. A new endpoint returning a list fails
here until it is a page or says why it is bounded.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from erpkit.plugins import ENTRY_POINT_GROUP

#: GET endpoints whose 200 answer may be a JSON array, and what bounds each one.
BOUNDED: dict[str, str] = {
    "/api/v1/settings/": "the parameters the installed plugins declare",
    "/api/v1/webhooks/events": "the event catalogue: the events the installed plugins send",
    "/api/v1/inventory/figures": "one page of at most `limit` (<= 500) products, `after` the "
                                 "last SKU; the period at most core.max_report_days days",
    "/api/v1/logistics/figures": "one row per carrier and zone (set-up rows, not traffic), "
                                 "over at most core.max_report_days days",
    "/api/v1/approvals/facts": "the facts the installed plugins declare",
    "/api/v1/approvals/order-steps": "one order's steps within the statuses it entered",
    "/api/v1/purchasing/figures": "one page of at most `limit` (<= 500) products, `after` "
                                  "the last SKU; the period at most core.max_report_days days",
    "/api/v1/purchasing/spend": "one row per supplier (set-up rows) and period (month, "
                                "quarter or year) over at most core.max_report_days days",
    "/api/v1/logistics/promise-performance": "one row per group (`by`: all orders, carrier, "
                                             "zone, warehouse or product), over at most "
                                             "core.max_report_days days",
}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_array(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "array" or (isinstance(kind, list) and "array" in kind)


def _listings_answering_arrays(spec: dict[str, Any]) -> set[str]:
    components = spec["components"]["schemas"]
    found = set()
    for path, operations in spec["paths"].items():
        ok = operations.get("get", {}).get("responses", {}).get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None and _is_array(_resolve(schema, components)):
            found.add(path)
    return found


def test_the_app_under_test_runs_every_installed_plugin(app):
    installed = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}

    assert installed <= set(app.extensions["erpkit"].plugins)
    assert {"orders", "crm", "logistics", "inventory", "approvals", "purchasing"} <= installed


def test_no_get_endpoint_answers_an_array_unless_something_bounds_it(client):
    spec = client.get("/api/openapi.json").get_json()

    unbounded = _listings_answering_arrays(spec) - set(BOUNDED)

    assert not unbounded, (
        f"these GET endpoints answer a bare JSON array: {sorted(unbounded)}. Fix: make each "
        "a keyset page (erpkit.schemas PageSize, one_page, page_schema), or add it to "
        "BOUNDED in this test with what bounds it")


def test_every_allowed_array_is_still_an_endpoint_that_answers_one(client):
    """A stale entry would let a later endpoint of that path through unseen."""
    spec = client.get("/api/openapi.json").get_json()

    assert set(BOUNDED) - _listings_answering_arrays(spec) == set()
