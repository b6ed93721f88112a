"""The console's notifications page: what the bell counts, newest first, marked read
one by one or all at once (the same rows ``/api/notifications`` serves)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, redirect, request, url_for
from flask_admin import BaseView, expose

from erpkit.auth import current_user
from erpkit.db import db, utcnow
from erpkit.service_models import Notification

PAGE = 50


class NotificationsView(BaseView):
    """The logged-in user's notifications; an unread one is marked read when opened."""

    def is_visible(self) -> bool:
        return False  # reached through the bell, not the menu

    @expose("/")
    def index(self) -> Any:
        user = current_user()
        assert user is not None  # the core's permission check let nobody else in
        unread_only = request.args.get("unread") == "1"
        query = (sa.select(Notification).where(Notification.user_id == user.id)
                 .order_by(Notification.id.desc()).limit(PAGE))
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        return self.render("erpkit/notifications.html",
                           notes=list(db.session.scalars(query)), unread_only=unread_only)

    @expose("/<int:note_id>/read", methods=("POST",))
    def read(self, note_id: int) -> Any:
        note = self._mine(note_id)
        if note.read_at is None:
            note.read_at = utcnow()
            db.session.commit()
        if note.link and note.link.startswith("/") and not note.link.startswith("//"):
            return redirect(note.link)
        return redirect(url_for(".index"))

    @expose("/read-all", methods=("POST",))
    def read_all(self) -> Any:
        user = current_user()
        assert user is not None
        db.session.execute(sa.update(Notification)
                           .where(Notification.user_id == user.id,
                                  Notification.read_at.is_(None))
                           .values(read_at=utcnow()))
        db.session.commit()
        return redirect(url_for(".index"))

    def _mine(self, note_id: int) -> Notification:
        user = current_user()
        note = db.session.get(Notification, note_id)
        if note is None or user is None or note.user_id != user.id:
            abort(404, f"you have no notification {note_id}")
        return note
