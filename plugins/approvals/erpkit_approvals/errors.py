"""Refusals with the HTTP status they deserve (the core's handlers read ``status_code``)."""

from __future__ import annotations

from erpkit import TransitionRefused


class NotAllowed(TransitionRefused):
    """The user may not decide this step: not asked, or their own order."""

    status_code = 403


class NotFound(TransitionRefused):
    """No such rule or request."""

    status_code = 404
