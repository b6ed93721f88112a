"""A ModelView whose every create, edit and delete lands in the audit log.

The entry is added in the same transaction as the change, so a change that fails to
commit leaves no entry, and no change commits without one.
"""

from __future__ import annotations

from typing import Any

from flask import g

from erpkit.admin.contrib import ModelView
from erpkit.db import db
from erpkit.models import audit


def current_actor() -> str | None:
    """The login of the user acting in this request, for the audit log."""
    from erpkit.auth import current_user

    user = current_user()
    return user.login if user is not None else None


class AuditedModelView(ModelView):
    """Subclasses name ``audit_entity`` and say what to record in :meth:`audit_snapshot`."""

    audit_entity: str = ""
    can_export = False

    def audit_snapshot(self, model: Any) -> dict[str, Any]:
        raise NotImplementedError

    def audit_id(self, model: Any) -> str:
        return str(model.id)

    def update_model(self, form: Any, model: Any) -> bool:
        # Flask-Admin fills the model from the form before any hook runs: take the
        # "before" picture first.
        g.erpkit_audit_before = self.audit_snapshot(model)
        return bool(super().update_model(form, model))

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super().on_model_change(form, model, is_created)
        db.session.flush()  # the new row's id, and the relationships as saved
        before = None if is_created else g.pop("erpkit_audit_before", None)
        after = self.audit_snapshot(model)
        if before == after:
            return
        audit(
            db.session,
            actor=current_actor(),
            entity=self.audit_entity,
            entity_id=self.audit_id(model),
            action="create" if is_created else "update",
            before=before,
            after=after,
        )

    def on_model_delete(self, model: Any) -> None:
        super().on_model_delete(model)
        audit(
            db.session,
            actor=current_actor(),
            entity=self.audit_entity,
            entity_id=self.audit_id(model),
            action="delete",
            before=self.audit_snapshot(model),
            after=None,
        )
