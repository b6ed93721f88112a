"""Optimistic concurrency for the public API: ``ETag`` from a record's version, and
``If-Match`` checked where the record is locked, so a stale update is a 412, never a lost
update.

    order = ...                       # locked in the transition
    check_version(expected, order.version, what=f"order {order.number}")

The ETag is strong and opaque to clients (``"7"``); a client sends back what it got.
"""

from __future__ import annotations

from erpkit.transitions import TransitionRefused


class PreconditionFailed(TransitionRefused):
    """``If-Match`` names a version that is no longer current: HTTP 412."""

    status_code = 412

    def __init__(self, message: str) -> None:
        super().__init__(message, field="If-Match", code="precondition_failed")


def etag(version: int) -> str:
    """The ``ETag`` header value of a record at ``version``."""
    return f'"{version}"'


def expected_version(header: str | None) -> int | None:
    """The version an ``If-Match`` header asks for (``None``: no header, or ``*``)."""
    if header is None or header.strip() == "*":
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed(f"If-Match {header!r} is not an ETag this API gave. Fix: "
                                 "send the ETag header of your last read of the record.")
    return int(value)


def check_version(expected: int | None, current: int, *, what: str) -> None:
    """Refuse (412) when ``expected`` is given and is not ``current``."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"{what} changed since you read it (your version {expected}, now {current}). "
            "Fix: read it again (GET), reapply your change and send the new ETag.")
