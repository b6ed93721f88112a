"""erpkit: a plugin-based order-management framework.

The names a plugin author needs are importable from here; everything else is an
implementation detail of the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from erpkit.app import create_app

__version__ = "0.1.0"

#: Mark a function or method as an implementation of one of the hooks in
#: :mod:`erpkit.hookspecs`.
hookimpl = pluggy.HookimplMarker("erpkit")

from erpkit.api import Blueprint  # noqa: E402
from erpkit.facts import FactDefinition  # noqa: E402
from erpkit.parameters import Parameter  # noqa: E402
from erpkit.plugins import PluginMeta, Registry, open_session, registry_of  # noqa: E402
from erpkit.problems import Problem, ValidationFailed  # noqa: E402
from erpkit.transitions import (  # noqa: E402
    NotFound,
    Transition,
    TransitionFailed,
    TransitionRefused,
)
from erpkit.work import WorkItem, WorkKey  # noqa: E402

__all__ = [
    "Blueprint",
    "FactDefinition",
    "NotFound",
    "Parameter",
    "PluginMeta",
    "Problem",
    "Registry",
    "Transition",
    "TransitionFailed",
    "TransitionRefused",
    "ValidationFailed",
    "WorkItem",
    "WorkKey",
    "__version__",
    "create_app",
    "hookimpl",
    "open_session",
    "registry_of",
]


def __getattr__(name: str) -> Any:
    # The app factory imports Flask, the admin console and every plugin's blueprints,
    # which import erpkit themselves: importing it on first use keeps
    # ``from erpkit import hookimpl`` light and free of import cycles.
    if name == "create_app":
        from erpkit.app import create_app

        return create_app
    raise AttributeError(f"module 'erpkit' has no attribute {name!r}")
