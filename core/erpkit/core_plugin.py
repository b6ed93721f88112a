"""The core's own hook implementations: parameters, permissions, console views, and the
shared services' API, commands and jobs (notifications, background jobs, step limits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import fields, validate

from erpkit import hookimpl
from erpkit.auth import BUILTIN_ROLES, Permission
from erpkit.outbox import (  # noqa: F401  (the outbox's hook implementations)
    erpkit_inventory_low_stock,
    erpkit_order_approval_requested,
    erpkit_order_approved,
    erpkit_order_cancelled,
    erpkit_order_confirmed,
    erpkit_order_created,
    erpkit_order_delivered,
    erpkit_order_rejected,
    erpkit_order_returned,
    erpkit_order_shipped,
    erpkit_order_status_changed,
    erpkit_order_submitted,
    erpkit_step_breached,
)
from erpkit.parameters import Parameter

if TYPE_CHECKING:
    import click

    from erpkit.admin.contrib import AdminView

#: The permission every console page needs on top of its own: "may use the console at all".
CONSOLE_PERMISSION = "admin.console"


def _known_locale(text: str) -> None:
    from marshmallow import ValidationError

    from erpkit.admin.formatting import valid_locale

    if not valid_locale(text):
        raise ValidationError(f"{text!r} is not a locale babel knows; use one such as "
                              "en_GB, en_US, de_DE")


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
            name="core.locale",
            type=fields.String(validate=_known_locale),
            default="en_GB",
            description="How the console writes numbers, money and dates (a locale such "
                        "as en_GB, en_US, de_DE, fr_FR).",
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
        *_webhook_parameters(),
    ]


def _webhook_parameters() -> list[Parameter]:
    return [
        Parameter(
            name="core.webhooks_allow_http",
            type=fields.Boolean(),
            default=False,
            description="Allow webhook URLs with plain http (tests and closed networks "
                        "only; production webhooks are https).",
        ),
        Parameter(
            name="core.webhooks_allowed_networks",
            type=fields.List(fields.String(validate=_cidr)),
            default=[],
            description="Networks (CIDR, e.g. 10.0.0.0/8) webhooks may reach although "
                        "they are loopback, link-local or private. Empty: public only.",
        ),
        Parameter(
            name="core.webhooks_timeout_seconds",
            type=fields.Integer(validate=validate.Range(min=1, max=60)),
            default=10,
            description="How long a webhook receiver has to connect and answer.",
        ),
        Parameter(
            name="core.webhooks_retry_schedule",
            type=fields.List(fields.Integer(validate=validate.Range(min=0, max=86400)),
                             validate=validate.Length(max=30)),
            default=list(DEFAULT_RETRY_SCHEDULE),
            description="Seconds before each retry of a failed webhook (each +-20 % "
                        "jitter); after the last the delivery is dead-lettered. The "
                        "default spans about a day.",
        ),
        Parameter(
            name="core.webhooks_sweep_seconds",
            type=fields.Integer(validate=validate.Range(min=1, max=3600)),
            default=30,
            description="How often the workers look for webhook deliveries a lost "
                        "wake-up or a stopped worker left behind.",
        ),
    ]


#: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h: about 23.7 hours in all.
DEFAULT_RETRY_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800)


def _cidr(value: str) -> None:
    import ipaddress

    from marshmallow import ValidationError

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValidationError(f"not a network: {exc}") from None


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
        Permission("core.webhooks", "Register webhook endpoints, see their deliveries and "
                   "replay events."),
    ]


@hookimpl
def erpkit_admin_views() -> list[AdminView]:
    from erpkit.admin.core_views import core_admin_views

    return core_admin_views()


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit.notifications_api import notifications_blueprint
    from erpkit.webhooks_api import webhooks_blueprint

    return [notifications_blueprint(), webhooks_blueprint()]


@hookimpl
def erpkit_cli_commands() -> list[click.Command]:
    from erpkit.jobs_cli import jobs_group, worker_command
    from erpkit.steps_cli import sla_group

    return [jobs_group, worker_command, sla_group]


@hookimpl
def erpkit_jobs() -> list[Any]:
    from erpkit.job_reclaim import TASK as RECLAIM
    from erpkit.jobs import PeriodicTask
    from erpkit.notifications import MAIL
    from erpkit.steps import sweep_job
    from erpkit.webhooks import JOBS as WEBHOOK_JOBS

    return [MAIL, PeriodicTask(name="core.step_sweep", run=sweep_job,
                               every_parameter="core.step_sweep_seconds",
                               description="Act once on every step past its time limit."),
            RECLAIM, *WEBHOOK_JOBS]


@hookimpl
def erpkit_events() -> list[Any]:
    from erpkit.events import core_events

    return core_events()
