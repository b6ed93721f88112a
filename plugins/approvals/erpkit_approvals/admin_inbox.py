"""The approver's inbox in the console: what waits on them, oldest first, with the time
left before each step's limit; approve or reject with a comment.

Decisions go through :mod:`erpkit_approvals.decisions`, the same code as the JSON API,
so the same people may decide the same steps, and the order moves in the same
transaction that records the decision.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose

from erpkit import TransitionRefused
from erpkit.auth import current_user
from erpkit.db import db, utcnow
from erpkit.durations import format_duration
from erpkit.schemas import one_page
from erpkit_approvals import decisions
from erpkit_approvals.api import InboxQuery
from erpkit_approvals.console_pages import next_url, page_args, read_page


def order_url(order_id: int) -> str | None:
    """The order's console page, when the orders plugin has one."""
    try:
        return url_for("orders_orders.detail", order_id=order_id)
    except Exception:  # no orders console in this installation
        return None


def _document_total(req: Any) -> Any:
    for match in req.matches:
        for name, value in (match.facts or {}).items():
            if name.endswith(".total"):
                return value
    return ""


class InboxView(BaseView):
    """Open approval steps the current user may decide now."""

    @expose("/")
    def index(self) -> Any:
        now = utcnow()
        user = current_user()
        args = page_args(InboxQuery())
        page = one_page(read_page(lambda given: decisions.inbox(
            db.session, user, given["limit"] + 1, after=given.get("after")), args),
            args["limit"], lambda row: row[1].id)
        items = [
            {
                "request": req,
                "step": step,
                "number": req.reference,
                # a document's total is the first fact of its match (purchasing.total)
                "total": req.order.total if req.order is not None else _document_total(req),
                "currency": req.order.currency if req.order is not None else "",
                "order_url": order_url(req.order_id) if req.order_id is not None else None,
                "time_left": format_duration((step.due_at or now) - now),
                "late": step.due_at is not None and step.due_at < now,
            }
            for req, step in page["items"]
        ]
        return self.render("approvals/inbox.html", items=items,
                           next_url=next_url(page["next"]))

    @expose("/<int:request_id>/decide", methods=("POST",))
    def decide(self, request_id: int) -> Any:
        user = current_user()
        comment = request.form.get("comment", "")
        decision = request.form.get("decision")
        try:
            if decision == "approve":
                req = decisions.approve(db.session, request_id, actor=user, comment=comment)
            elif decision == "reject":
                req = decisions.reject(db.session, request_id, actor=user, comment=comment)
            else:
                raise TransitionRefused("choose approve or reject", field="decision")
        except TransitionRefused as exc:
            db.session.rollback()
            flash(f"Not recorded: {exc.message}", "error")
            return redirect(url_for(".index"))
        db.session.commit()
        verb = "approved" if decision == "approve" else "rejected"
        if req.order is not None:
            flash(f"You {verb} order {req.order.number}; it is now {req.order.status}.",
                  "success")
        else:
            flash(f"You {verb} {req.subject[0].lower()}{req.subject[1:]}; the request is "
                  f"now {req.status}.", "success")
        return redirect(url_for(".index"))
