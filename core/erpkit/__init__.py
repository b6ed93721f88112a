"""erpkit: a plugin-based order-management framework.

The names a plugin author needs are importable from here; everything else is an
implementation detail of the core.
"""

import pluggy

__version__ = "0.1.0"

#: Mark a function or method as an implementation of one of the hooks in
#: :mod:`erpkit.hookspecs`.
hookimpl = pluggy.HookimplMarker("erpkit")

from erpkit.api import Blueprint  # noqa: E402
from erpkit.facts import FactDefinition  # noqa: E402
from erpkit.parameters import Parameter  # noqa: E402
from erpkit.plugins import PluginMeta  # noqa: E402
from erpkit.problems import Problem, ValidationFailed  # noqa: E402
from erpkit.transitions import Transition, TransitionFailed, TransitionRefused  # noqa: E402
from erpkit.work import WorkItem  # noqa: E402

__all__ = [
    "Blueprint",
    "FactDefinition",
    "Parameter",
    "PluginMeta",
    "Problem",
    "Transition",
    "TransitionFailed",
    "TransitionRefused",
    "ValidationFailed",
    "WorkItem",
    "__version__",
    "hookimpl",
]
