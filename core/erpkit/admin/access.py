"""Console views for who may do what: users, roles with their permission matrix, API tokens."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_admin import BaseView, expose
from wtforms import PasswordField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from erpkit.admin.audited import AuditedModelView, current_actor
from erpkit.auth import (
    BUILTIN_ROLES,
    current_user,
    issue_token,
    role_snapshot,
    set_password,
    user_snapshot,
)
from erpkit.db import db
from erpkit.models import ApiToken, Role, User, audit
from erpkit.plugins import current_registry

MIN_PASSWORD_LENGTH = 8
#: The permission that keeps the console administrable; no change may take it from everyone.
KEEPER_PERMISSION = "core.roles"


def declared_permissions() -> dict[str, str]:
    """Permission name -> description, for every permission the core and plugins declare."""
    return {name: p.description for name, p in sorted(current_registry().permissions.items())}


def permission_choices(extra: list[str] | None = None) -> list[SelectChoice]:
    """``*`` first, then each declared permission; names a role holds that no installed
    plugin declares any more stay listed, so saving a role never drops them silently."""
    declared = declared_permissions()
    choices = [SelectChoice("*", "* (every permission, present and future)")]
    choices += [SelectChoice(name, f"{name}: {text}") for name, text in declared.items()]
    for name in sorted(set(extra or ()) - set(declared) - {"*"}):
        choices.append(SelectChoice(name, f"{name}: (no installed plugin declares it)"))
    return choices


class PermissionsField(SelectMultipleField):
    """One checkbox per permission (the role editor's column of the permission matrix)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.pop("choices", None)
        super().__init__(
            label,
            validators,
            choices=lambda form, field: permission_choices(field.object_data),
            **kwargs,
        )

    def process_data(self, value: Any) -> None:
        super().process_data(value or [])


class NewPasswordField(PasswordField):
    """A password box that never copies its text onto the model: the view hashes it."""

    def populate_obj(self, obj: Any, name: str) -> None:
        pass


def refuse_unless_someone_administers() -> None:
    """Refuse a change after which no active user could edit roles any more."""
    users = db.session.scalars(sa.select(User).where(User.active.is_(True)))
    if not any(user.can(KEEPER_PERMISSION) for user in users):
        raise ValidationError(
            f"refused: after this change no active user would hold {KEEPER_PERMISSION!r}, "
            "so nobody could administer roles any more"
        )


class UserView(AuditedModelView):
    """People and integrations; passwords are set here and stored only as hashes."""

    audit_entity = "user"
    column_list = ("login", "name", "email", "active", "roles", "created_at")
    column_details_list = column_list
    column_searchable_list = ("login", "name", "email")
    column_filters = ("active",)
    column_default_sort = "login"
    form_columns = ("login", "name", "email", "active", "roles", "password")
    form_extra_fields = {
        "password": NewPasswordField(
            "Password",
            validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH)],
            description=f"At least {MIN_PASSWORD_LENGTH} characters. When editing, leave "
            "empty to keep the current password.",
            render_kw={"autocomplete": "new-password"},
        )
    }
    column_descriptions = {"active": "A deactivated user can no longer log in or use tokens."}

    def create_form(self, obj: Any = None) -> Any:
        form = super().create_form(obj)
        form.password.validators = [InputRequired(), Length(min=MIN_PASSWORD_LENGTH)]
        return form

    def audit_id(self, model: Any) -> str:
        return str(model.login)

    def audit_snapshot(self, model: Any) -> dict[str, Any]:
        snapshot = user_snapshot(model)
        if g.get("erpkit_password_changed"):
            snapshot["password"] = "changed"
        return snapshot

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        g.pop("erpkit_password_changed", None)
        if form.password.data:
            set_password(model, form.password.data)  # also ends the user's sessions
            g.erpkit_password_changed = not is_created
        super().on_model_change(form, model, is_created)
        refuse_unless_someone_administers()

    def on_model_delete(self, model: Any) -> None:
        me = current_user()
        if me is not None and me.id == model.id:
            raise ValidationError("refused: you cannot delete the user you are logged in as")
        super().on_model_delete(model)
        model.active = False  # the check below must not count this user
        refuse_unless_someone_administers()


class RoleView(AuditedModelView):
    """Roles and the permissions each grants; the matrix page edits all roles at once."""

    audit_entity = "role"
    column_list = ("name", "description", "permissions")
    column_searchable_list = ("name",)
    column_default_sort = "name"
    form_columns = ("name", "description", "permissions")
    form_extra_fields = {"permissions": PermissionsField("Permissions")}
    # A list of checkboxes, not one input box: no form-control frame around it.
    form_widget_args = {"permissions": {"class": "list-unstyled ml-1"}}
    column_formatters = {
        "permissions": lambda view, context, model, name: (
            ", ".join(sorted(model.permissions)) or "(none)"
        )
    }
    list_template = "erpkit/roles_list.html"

    def audit_id(self, model: Any) -> str:
        return str(model.name)

    def audit_snapshot(self, model: Any) -> dict[str, Any]:
        return role_snapshot(model)

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        before = g.get("erpkit_audit_before")
        if (
            not is_created
            and before
            and before["name"] in BUILTIN_ROLES
            and model.name != before["name"]
        ):
            raise ValidationError(
                f"refused: {before['name']!r} is a built-in role and keeps its name"
            )
        model.permissions = sorted(set(model.permissions or []))
        super().on_model_change(form, model, is_created)
        refuse_unless_someone_administers()

    def on_model_delete(self, model: Any) -> None:
        if model.name in BUILTIN_ROLES:
            raise ValidationError(
                f"refused: {model.name!r} is a built-in role; remove its permissions instead"
            )
        super().on_model_delete(model)

    @expose("/matrix/", methods=("GET", "POST"))
    def matrix(self) -> Any:
        """Every permission against every role, as checkboxes, saved in one go."""
        roles = list(db.session.scalars(sa.select(Role).order_by(Role.name)))
        held = sorted({p for role in roles for p in role.permissions})
        choices = permission_choices(held)
        if request.method == "POST":
            allowed = {c.value for c in choices}
            try:
                changed = self._save_matrix(roles, allowed)
            except ValidationError as exc:
                db.session.rollback()
                flash(str(exc), "error")
                return redirect(url_for(".matrix"))
            db.session.commit()
            flash(f"Saved the permission matrix ({changed} role(s) changed).", "success")
            return redirect(url_for(".matrix"))
        return self.render("erpkit/roles_matrix.html", roles=roles, choices=choices)

    def _save_matrix(self, roles: list[Role], allowed: set[str]) -> int:
        changed = 0
        for role in roles:
            wanted = sorted(set(request.form.getlist(f"role-{role.id}")) & allowed)
            if wanted == sorted(role.permissions):
                continue
            before = role_snapshot(role)
            role.permissions = wanted
            audit(
                db.session,
                actor=current_actor(),
                entity="role",
                entity_id=role.name,
                action="update",
                before=before,
                after=role_snapshot(role),
            )
            changed += 1
        db.session.flush()
        refuse_unless_someone_administers()
        return changed


class TokenView(BaseView):
    """API tokens for integrations: issued here, shown once, revocable; only hashes kept."""

    @expose("/")
    def index(self) -> Any:
        tokens = db.session.scalars(
            sa.select(ApiToken).join(ApiToken.user).order_by(User.login, ApiToken.name)
        ).all()
        users = db.session.scalars(
            sa.select(User).where(User.active.is_(True)).order_by(User.login)
        ).all()
        return self.render("erpkit/tokens.html", tokens=tokens, users=users)

    @expose("/issue", methods=("POST",))
    def issue(self) -> Any:
        user = db.session.get(User, request.form.get("user_id", type=int) or 0)
        name = request.form.get("name", "").strip()
        if user is None or not name:
            flash("Pick a user and name the token (what integration uses it).", "error")
            return redirect(url_for(".index"))
        token = issue_token(db.session, user, name[:120])
        audit(
            db.session,
            actor=current_actor(),
            entity="api_token",
            entity_id=user.login,
            action="create",
            after={"user": user.login, "name": name[:120]},
        )
        db.session.commit()
        # Rendered, never flashed: a flash would store the secret in the session cookie.
        return self.render("erpkit/token_issued.html", token=token, user=user, name=name)

    @expose("/<int:token_id>/revoke", methods=("POST",))
    def revoke(self, token_id: int) -> Any:
        row = db.session.get(ApiToken, token_id)
        if row is None:
            flash("That token does not exist (any more).", "error")
            return redirect(url_for(".index"))
        audit(
            db.session,
            actor=current_actor(),
            entity="api_token",
            entity_id=row.user.login,
            action="delete",
            before={"user": row.user.login, "name": row.name},
            after=None,
        )
        db.session.delete(row)
        db.session.commit()
        flash(f"Revoked token {row.name!r} of {row.user.login}.", "success")
        return redirect(url_for(".index"))
