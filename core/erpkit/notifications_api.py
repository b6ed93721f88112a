"""``/api/notifications``: the logged-in user's notifications, and marking them read.

The same blueprint gives the console's templates ``console_unread_notifications()`` for
the bell with the unread count.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields

from erpkit.api import LOGGED_IN, Blueprint
from erpkit.auth import current_user, require_user
from erpkit.db import db, utcnow
from erpkit.notifications import unread_count
from erpkit.schemas import Cursor, PageSize, one_page, page_schema
from erpkit.service_models import Notification
from erpkit.transitions import TransitionRefused


class NotificationNotFound(TransitionRefused):
    status_code = 404


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    subject = fields.String()
    message = fields.String()
    link = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True, metadata={
        "description": "References for clients, such as order_id and request_id."})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    read = fields.Boolean()


class NotificationQuery(Schema):
    unread = fields.Boolean(load_default=False)
    limit = PageSize()
    before = Cursor(metadata={"description": "The `next` of the previous page: "
                                             "notifications older than this id."})


NotificationPage = page_schema("NotificationPage", NotificationOut, fields.Integer,
                               "Pass as `before` for the next page; null on the last page.")


class NotificationsMarkedOut(Schema):
    marked = fields.Integer()


def _logged_in(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_user()  # 401 for nobody; everyone may read their own
        return view(*args, **kwargs)

    return wrapper


def _out(note: Notification) -> dict[str, Any]:
    return {"id": note.id, "kind": note.kind, "subject": note.subject, "message": note.message,
            "link": note.link, "data": note.data, "created_at": note.created_at,
            "read_at": note.read_at, "read": note.read_at is not None}


def notifications_blueprint() -> Blueprint:
    blp = Blueprint("notifications", __name__, url_prefix="/api/notifications",
                    permission=LOGGED_IN,
                    description="Each user's notifications, from every module.")

    def _mine(notification_id: int) -> Notification:
        note = db.session.get(Notification, notification_id)
        if note is None or note.user_id != require_user().id:
            raise NotificationNotFound(f"no notification {notification_id}",
                                       field="notification", code="not_found")
        return note

    @blp.get("/")
    @_logged_in
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationPage)
    def list_notifications(query: dict[str, Any]) -> Any:
        """The current user's notifications, newest first, a page at a time
        (``?unread=true``: unread only)."""
        # Walks the (user_id, id) index backwards: a page costs `limit` rows however
        # many notifications the user has.
        select = (sa.select(Notification).where(Notification.user_id == require_user().id)
                  .order_by(Notification.id.desc()).limit(query["limit"] + 1))
        if query["unread"]:
            select = select.where(Notification.read_at.is_(None))
        if query.get("before") is not None:
            select = select.where(Notification.id < query["before"])
        page = one_page(list(db.session.scalars(select)), query["limit"], lambda n: n.id)
        return {**page, "items": [_out(note) for note in page["items"]]}

    @blp.post("/<int:notification_id>/read")
    @_logged_in
    @blp.response(200, NotificationOut)
    def mark_read(notification_id: int) -> Any:
        note = _mine(notification_id)
        note.read_at = note.read_at or utcnow()
        db.session.commit()
        return _out(note)

    @blp.post("/read-all")
    @_logged_in
    @blp.response(200, NotificationsMarkedOut)
    def mark_all_read() -> Any:
        result: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
            sa.update(Notification)
            .where(Notification.user_id == require_user().id, Notification.read_at.is_(None))
            .values(read_at=utcnow()))
        db.session.commit()
        return {"marked": result.rowcount}

    @blp.app_context_processor
    def bell() -> dict[str, Any]:
        def console_unread_notifications() -> int:
            user = current_user()
            return unread_count(db.session, user.id) if user is not None else 0

        return {"console_unread_notifications": console_unread_notifications}

    return blp
