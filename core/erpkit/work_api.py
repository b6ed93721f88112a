"""``GET /api/work``: the current user's work queue, as the console's "My work" shows it.

Any logged-in user (login session or bearer token) reads their own queue; what is in it
depends on their permissions, which each plugin checks for its items. It is a page,
``{"items": [...], "next": cursor}``: pass ``next`` back as ``after`` for the next one.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields

from erpkit.api import LOGGED_IN, Blueprint
from erpkit.auth import require_user
from erpkit.db import db, utcnow
from erpkit.schemas import PageSize, one_page, page_schema
from erpkit.work import DEFAULT_LIMIT, MAX_LIMIT, WorkItem, WorkKey, work_queue


def work_cursor(item: WorkItem) -> str:
    """The ``next`` of a page ending with ``item``: its key, as URL-safe text."""
    key = item.key
    text = json.dumps([key.waiting_since.isoformat(), key.reference, key.step, key.kind])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


class WorkCursor(fields.String):
    """A ``next`` of ``GET /api/work``, read back as the :class:`WorkKey` it names."""

    default_error_messages = {"cursor": "not a cursor of this queue: pass the `next` of "
                                        "the previous page"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            if len(text) > 2000:
                raise ValueError
            parts = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            since, reference, step, kind = parts
            if not all(isinstance(part, str) for part in parts):
                raise ValueError
            waiting_since = datetime.fromisoformat(since)
            if waiting_since.tzinfo is None:
                raise ValueError
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise self.make_error("cursor") from None
        return WorkKey(waiting_since, reference, step, kind)


class WorkQuery(Schema):
    limit = PageSize(default=DEFAULT_LIMIT, maximum=MAX_LIMIT, metadata={
        "description": f"How many items at most (1 to {MAX_LIMIT}), the oldest first."})
    after = WorkCursor(metadata={"description": "The `next` of the previous page."})


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


WorkPage = page_schema("WorkPage", WorkItemSchema)


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
    @blp.response(200, WorkPage)
    def my_work(query: dict[str, Any]) -> Any:
        """What waits on the current user, from every plugin, oldest first, with the time
        left before each step's limit, a page at a time."""
        now = utcnow()
        items = work_queue(db.session, require_user(), limit=query["limit"] + 1,
                           after=query.get("after"))
        page = one_page(items, query["limit"], work_cursor)
        return {**page, "items": [item.as_dict(now) for item in page["items"]]}

    return blp
