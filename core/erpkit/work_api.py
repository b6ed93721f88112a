"""``GET /api/work``: the current user's work queue, as the console's "My work" shows it.

Any logged-in user (login session or bearer token) reads their own queue; what is in it
depends on their permissions, which each plugin checks for its items.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from erpkit.api import LOGGED_IN, Blueprint
from erpkit.auth import require_user
from erpkit.db import db, utcnow
from erpkit.work import DEFAULT_LIMIT, MAX_LIMIT, work_queue


class WorkQuery(Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "How many items at most (the oldest)."},
    )


class WorkItemSchema(Schema):
    kind = fields.String(metadata={"description": "What it is: order, approval_step..."})
    title = fields.String(metadata={"description": "What to do."})
    reference = fields.String(metadata={"description": "What it is about: an order number."})
    url = fields.String(allow_none=True, metadata={"description": "The console page."})
    step = fields.String(metadata={"description": "The step it waits in."})
    waiting_since = fields.String(metadata={"description": "ISO 8601, UTC."})
    due_at = fields.String(allow_none=True, metadata={"description": "The step's limit."})
    time_left_seconds = fields.Integer(
        allow_none=True, metadata={"description": "Negative when overdue; null: no limit."}
    )
    time_left = fields.String(metadata={"description": "'3h20m left', 'overdue by 1d2h'."})
    overdue = fields.Boolean()


def work_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint(
        "work",
        __name__,
        url_prefix="/api/work",
        description="Work queues: what waits on the current user.",
        permission=LOGGED_IN,
    )

    @blp.get("")
    @blp.arguments(WorkQuery, location="query")
    @blp.response(200, WorkItemSchema(many=True))
    def my_work(query: dict[str, Any]) -> Any:
        """What waits on the current user, from every plugin, oldest first, with the time
        left before each step's limit."""
        now = utcnow()
        items = work_queue(db.session, require_user(), limit=query["limit"])
        return [item.as_dict(now) for item in items]

    return blp
