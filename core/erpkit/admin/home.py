"""The console's home page per person: what waits on them, what is late, their unread
notifications, and what each plugin puts there for their roles (low stock for the
warehouse...), as panels above the page they land on.

The core's panels come from the work queue (hook ``erpkit_work_queue``) and the
notifications; a plugin adds its own with the hook ``erpkit_console_home_panels``, as
:class:`HomePanel` descriptions (text, never HTML: the core renders and escapes them, so
every home looks the same and no plugin can inject markup). Analysts and admins land on
the reporting dashboard (hook ``erpkit_console_home``) with these panels above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import g, url_for
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.service_models import Notification
from erpkit.work import describe_time_left, work_queue

#: How many work items the home reads (its "more" link opens the whole queue).
WORK_SHOWN = 6
WORK_READ = 10
NOTIFICATIONS_SHOWN = 5
TONES = ("", "info", "warning", "danger", "success", "primary", "secondary")


@dataclass(frozen=True)
class HomeLine:
    """One line of a home panel: ``text``, a link to act on it, a right-hand ``detail``
    (``3 left, reorder at 10``) and a ``tone`` (``danger`` for something late)."""

    text: str
    url: str | None = None
    detail: str = ""
    tone: str = ""

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"HomeLine.tone must be one of {TONES}, got {self.tone!r}")


@dataclass(frozen=True)
class HomePanel:
    """A panel of the console's home (hook ``erpkit_console_home_panels``).

    ``title`` names it (``Low stock``); ``lines`` are its first few lines; ``count`` the
    number of things it stands for (shown as a badge; ``None``: no badge) and ``more`` the
    page that lists them all; ``empty`` what it says with no lines; ``tone`` its badge's
    colour; ``order`` where it goes (lower first; the core's panels are 10 to 30); ``testid``
    names it for tests; ``at_least`` says ``count`` is only what was read (``50+``).
    """

    title: str
    lines: Sequence[HomeLine] = field(default_factory=tuple)
    count: int | None = None
    more: str | None = None
    empty: str = "Nothing here."
    tone: str = "info"
    order: int = 50
    testid: str = ""
    at_least: bool = False

    @property
    def count_text(self) -> str:
        """The badge: ``3``, ``50+`` when ``count`` is only what was read."""
        if self.count is None:
            return ""
        return f"{self.count}+" if self.at_least else str(self.count)


def core_panels(session: Session, user: Any) -> list[HomePanel]:
    """What waits on ``user``, what of it is late, and their unread notifications."""
    now = utcnow()
    items = work_queue(session, user, limit=WORK_READ)
    late = [item for item in items if (left := item.time_left_at(now)) is not None
            and left.total_seconds() < 0]
    work_url = _url("core_work.index")

    def line(item: Any) -> HomeLine:
        left = item.time_left_at(now)
        overdue = left is not None and left.total_seconds() < 0
        return HomeLine(f"{item.title}: {item.reference}", item.url,
                        describe_time_left(left), "danger" if overdue else "")

    panels = [
        HomePanel("What waits on you", [line(i) for i in items[:WORK_SHOWN]],
                  count=len(items), at_least=len(items) >= WORK_READ, more=work_url,
                  empty="Nothing waits on you.", tone="primary" if items else "secondary",
                  order=10, testid="home-work"),
    ]
    panels.append(
        HomePanel("Late: steps you can act on", [line(i) for i in late[:WORK_SHOWN]],
                  count=len(late), more=work_url, empty="Nothing you can act on is late.",
                  tone="danger" if late else "secondary", order=20, testid="home-late"))
    unread = list(session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .order_by(Notification.id.desc()).limit(NOTIFICATIONS_SHOWN)))
    if unread:
        panels.append(HomePanel(
            "Unread notifications",
            [HomeLine(n.subject or n.message[:80], n.link) for n in unread],
            count=None, more=_url("core_notifications.index", unread=1), order=30,
            testid="home-notifications"))
    return panels


def home_panels(session: Session, user: Any, registry: Any) -> list[HomePanel]:
    """Every panel of ``user``'s home: the core's and the plugins', in order."""
    found = registry.pm.hook.erpkit_console_home_panels(user=user, session=session)
    panels = core_panels(session, user)
    panels.extend(panel for contributed in found for panel in contributed or ())
    return sorted(panels, key=lambda panel: panel.order)


def show_on_this_page(panels: list[HomePanel]) -> None:
    """Put ``panels`` above this request's page (the console's layout draws them)."""
    g.erpkit_home_panels = panels


def panels_of_this_page() -> list[HomePanel]:
    """The panels :func:`show_on_this_page` put on this request's page (none elsewhere)."""
    return list(g.get("erpkit_home_panels", ()))


def _url(endpoint: str, **values: Any) -> str | None:
    from werkzeug.routing import BuildError

    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None
