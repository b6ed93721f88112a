"""A plugin's JSON blueprint is guarded unless a route says it is public."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import abort

from erpkit.api import LOGGED_IN, Blueprint
from erpkit.auth import Permission, permission_required
from erpkit.db import db
from erpkit.models import Role
from erpkit.testing import make_plugin


def loyalty_blueprint() -> Blueprint:
    blp = Blueprint("loyalty", __name__, url_prefix="/api/loyalty", permission="loyalty.view")

    @blp.get("/points")
    def points() -> Any:
        return {"points": 12}

    @blp.get("/terms")
    @blp.public
    def terms() -> Any:
        return {"terms": "points expire after a year"}

    @blp.get("/report")
    @permission_required("loyalty.report")
    def report() -> Any:
        return {"members": 3}

    @blp.get("/cards/<int:card_id>")
    def card(card_id: int) -> Any:
        abort(404, message=f"no loyalty card {card_id}")

    @blp.route("/tiers")
    class Tiers(MethodView):
        def get(self) -> Any:
            return {"tiers": ["silver", "gold"]}

    return blp


def loyalty_plugin() -> Any:
    return make_plugin(
        "loyalty",
        erpkit_permissions=lambda: [Permission("loyalty.view", "See points"),
                                    Permission("loyalty.report", "Read the report")],
        erpkit_blueprints=lambda: [loyalty_blueprint()],
    )


@pytest.fixture
def loyalty(make_app: Any, app: Any) -> Any:
    """A client of an app with the loyalty plugin; role ``sales`` may view points."""
    with app.app_context():
        sales = db.session.scalar(sa.select(Role).where(Role.name == "sales"))
        sales.permissions = [*sales.permissions, "loyalty.view"]
        db.session.commit()
    return make_app(loyalty_plugin()).test_client()


def test_a_route_without_a_decorator_needs_the_blueprints_permission(loyalty, users):
    assert loyalty.get("/api/loyalty/points").status_code == 401
    refused = loyalty.get("/api/loyalty/points", headers=users.headers("warehouse"))
    assert refused.status_code == 403
    assert "loyalty.view" in refused.get_json()["message"]
    allowed = loyalty.get("/api/loyalty/points", headers=users.headers("sales"))
    assert allowed.status_code == 200
    assert allowed.get_json() == {"points": 12}


def test_a_method_view_is_guarded_too(loyalty, users):
    assert loyalty.get("/api/loyalty/tiers").status_code == 401
    assert loyalty.get("/api/loyalty/tiers", headers=users.headers("warehouse")).status_code == 403
    assert loyalty.get("/api/loyalty/tiers", headers=users.headers("sales")).status_code == 200


def test_a_public_route_answers_without_a_token(loyalty):
    answer = loyalty.get("/api/loyalty/terms")
    assert answer.status_code == 200
    assert answer.get_json() == {"terms": "points expire after a year"}


def test_a_route_naming_another_permission_needs_that_one_instead(loyalty, users):
    assert loyalty.get("/api/loyalty/report").status_code == 401
    # sales may view points, but the report needs loyalty.report
    refused = loyalty.get("/api/loyalty/report", headers=users.headers("sales"))
    assert refused.status_code == 403
    assert "loyalty.report" in refused.get_json()["message"]
    assert loyalty.get("/api/loyalty/report", headers=users.headers("admin")).status_code == 200


def test_abort_keeps_its_message_in_the_json_body(loyalty, users):
    answer = loyalty.get("/api/loyalty/cards/7", headers=users.headers("sales"))
    assert answer.status_code == 404
    assert answer.get_json() == {"message": "no loyalty card 7", "code": "not_found", "field": None}


def test_a_blueprint_must_say_which_permission_it_needs():
    with pytest.raises(TypeError, match="say which permission its routes need"):
        Blueprint("loyalty", __name__)


def test_a_logged_in_blueprint_needs_a_user_but_no_permission(make_app, users):
    blp = Blueprint("loyalty", __name__, url_prefix="/api/loyalty", permission=LOGGED_IN)

    @blp.get("/mine")
    def mine() -> Any:
        return {"mine": []}

    client = make_app(make_plugin("loyalty", erpkit_blueprints=lambda: [blp])).test_client()
    assert client.get("/api/loyalty/mine").status_code == 401
    assert client.get("/api/loyalty/mine", headers=users.headers("warehouse")).status_code == 200


def test_a_public_blueprint_is_public_because_it_says_so(make_app):
    blp = Blueprint("loyalty", __name__, url_prefix="/api/loyalty", permission=None)

    @blp.get("/terms")
    def terms() -> Any:
        return {"terms": "none"}

    client = make_app(make_plugin("loyalty", erpkit_blueprints=lambda: [blp])).test_client()
    assert client.get("/api/loyalty/terms").status_code == 200
