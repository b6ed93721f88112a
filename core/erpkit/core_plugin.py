"""The core's own hook implementations: parameters, permissions, console views, and the
shared services' API, commands and jobs (notifications, background jobs, step limits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import fields, validate

from erpkit import hookimpl
from erpkit.auth import BUILTIN_ROLES, Permission
from erpkit.parameters import Parameter

if TYPE_CHECKING:
    import click

    from erpkit.admin.contrib import AdminView

#: The permission every console page needs on top of its own: "may use the console at all".
CONSOLE_PERMISSION = "admin.console"


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name="core.default_currency",
            type=fields.String(
                validate=validate.Regexp(r"^[A-Z]{3}$", error="use a 3-letter ISO 4217 code")
            ),
            default="EUR",
            description="Currency of orders that name none (ISO 4217 code).",
        ),
        Parameter(
            name="core.company_name",
            type=fields.String(validate=validate.Length(min=1, max=200)),
            default="erpkit demo company",
            description="Shown in the console title and in e-mails.",
        ),
        Parameter(
            name="core.step_sweep_seconds",
            type=fields.Integer(validate=validate.Range(min=1, max=86400)),
            default=60,
            description="How often the workers look for steps past their time limit, in "
                        "seconds (a change below 60 s applies when the workers restart).",
        ),
        Parameter(
            name="core.session_max_age_minutes",
            type=fields.Integer(validate=validate.Range(min=5, max=60 * 24 * 30)),
            default=60 * 12,
            description="A console login session ends this many minutes after the login "
            "(log in again then).",
        ),
        Parameter(
            name="core.max_report_days",
            type=fields.Integer(validate=validate.Range(min=1, max=3660)),
            default=731,
            description="The longest period, in days, one report request may cover "
            "(inventory figures...); longer periods are refused (ask for several).",
        ),
    ]


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [
        Permission(CONSOLE_PERMISSION, "Open the admin console (each page also checks its own "
                   "permission).", default_roles=tuple(BUILTIN_ROLES)),
        Permission("core.users", "Create, edit and deactivate users; set their passwords."),
        Permission("core.roles", "Edit roles and the permissions they grant."),
        Permission("core.parameters", "Read and change parameters (console and /api/settings)."),
        Permission("core.audit", "Read the audit log."),
        Permission("core.plugins", "See the installed plugins and their migration state."),
        Permission("core.tokens", "Issue and revoke API tokens for integrations."),
    ]


@hookimpl
def erpkit_admin_views() -> list[AdminView]:
    from erpkit.admin.core_views import core_admin_views

    return core_admin_views()


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit.notifications_api import notifications_blueprint

    return [notifications_blueprint()]


@hookimpl
def erpkit_cli_commands() -> list[click.Command]:
    from erpkit.jobs_cli import jobs_group, worker_command
    from erpkit.steps_cli import sla_group

    return [jobs_group, worker_command, sla_group]


@hookimpl
def erpkit_jobs() -> list[Any]:
    from erpkit.jobs import PeriodicTask
    from erpkit.notifications import MAIL
    from erpkit.steps import sweep_job

    return [MAIL, PeriodicTask(name="core.step_sweep", run=sweep_job,
                               every_parameter="core.step_sweep_seconds",
                               description="Act once on every step past its time limit.")]
