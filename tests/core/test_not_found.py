"""One "not found" style across the APIs: ``{"message", "code": "not_found", "field"}``."""

from __future__ import annotations

from flask_smorest import Blueprint, abort

from erpkit import NotFound
from erpkit.testing import make_plugin

from .test_health import assert_json_error


def _blueprint() -> Blueprint:
    blueprint = Blueprint("finder", __name__, url_prefix="/api/finder")

    @blueprint.get("/aborted")
    def aborted() -> None:
        abort(404, message="no parcel 7 in the depot")

    @blueprint.get("/raised")
    def raised() -> None:
        raise NotFound("no parcel 8", field="parcel")

    return blueprint


def test_abort_404_keeps_its_message_and_a_raised_not_found_names_its_field(make_app):
    client = make_app(make_plugin("finder", erpkit_blueprints=lambda: [_blueprint()])) \
        .test_client()

    aborted = assert_json_error(client.get("/api/finder/aborted"), 404, "not_found")
    raised = assert_json_error(client.get("/api/finder/raised"), 404, "not_found")

    assert aborted == {"message": "no parcel 7 in the depot", "code": "not_found",
                       "field": None}
    assert raised == {"message": "no parcel 8", "code": "not_found", "field": "parcel"}


def test_an_unknown_url_answers_the_same_shape(client):
    body = assert_json_error(client.get("/api/no-such-thing"), 404, "not_found")
    assert set(body) == {"message", "code", "field"} and body["field"] is None
