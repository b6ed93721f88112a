"""Refusals with the HTTP status they deserve (the core's handlers read ``status_code``)."""

from __future__ import annotations

from erpkit import NotFound, TransitionRefused

__all__ = ["NotAllowed", "NotFound"]


class NotAllowed(TransitionRefused):
    """The user may not decide this step: not asked, or their own order."""

    status_code = 403
