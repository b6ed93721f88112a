"""What a plugin hands the core to put a view in the admin console."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AdminView:
    """A view a plugin contributes (hook ``erpkit_admin_views``).

    ``view_class`` is a Flask-Admin view class (``ModelView`` subclass or ``BaseView``);
    ``model`` its model for a ``ModelView``; ``permission`` the permission a user needs
    to open it (``orders.view``). The core builds the view, names its endpoint
    ``<plugin>_<endpoint>`` and checks the permission on every request.
    """

    view_class: type
    name: str
    endpoint: str
    permission: str
    model: type | None = None
    category: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
