"""The console's "My work": what waits on the logged-in user, from every plugin.

Any console user may open it; what it lists depends on their permissions, which each
plugin checks for its own items (hook ``erpkit_work_queue``).
"""

from __future__ import annotations

from typing import Any

from flask_admin import BaseView, expose

from erpkit.auth import current_user
from erpkit.db import db, utcnow
from erpkit.work import DEFAULT_LIMIT, describe_time_left, work_queue


class WorkView(BaseView):
    """The current user's work queue, oldest first, with the time left on each step."""

    @expose("/")
    def index(self) -> Any:
        items = work_queue(db.session, current_user(), limit=DEFAULT_LIMIT)
        return self.render(
            "erpkit/work.html",
            items=items,
            now=utcnow(),
            limit=DEFAULT_LIMIT,
            describe_time_left=describe_time_left,
        )
