"""The core's own console views, contributed through the same hook as any plugin's."""

from __future__ import annotations

from erpkit.admin.access import RoleView, TokenView, UserView
from erpkit.admin.contrib import AdminView
from erpkit.admin.notifications import NotificationsView
from erpkit.admin.settings import AuditView, ParametersView, PluginsView
from erpkit.admin.webhooks import AttemptView, DeliveryView, SubscriptionView
from erpkit.admin.work import WorkView
from erpkit.core_plugin import CONSOLE_PERMISSION
from erpkit.models import AuditEntry, Role, User
from erpkit.webhook_models import WebhookAttempt, WebhookDelivery, WebhookSubscription

CATEGORY = "Administration"
WEBHOOKS = "Webhooks"


def core_admin_views() -> list[AdminView]:
    """My work, then users, roles, API tokens, parameters, plugins and the audit log
    (endpoints ``core_*``)."""
    return [
        # Every console user has a work queue, whatever their roles.
        AdminView(WorkView, "My work", "work", CONSOLE_PERMISSION, kwargs={"url": "work"}),
        AdminView(NotificationsView, "Notifications", "notifications", CONSOLE_PERMISSION,
                  kwargs={"url": "notifications"}),
        AdminView(
            UserView,
            "Users",
            "users",
            "core.users",
            model=User,
            category=CATEGORY,
            kwargs={"url": "users"},
        ),
        AdminView(
            RoleView,
            "Roles",
            "roles",
            "core.roles",
            model=Role,
            category=CATEGORY,
            kwargs={"url": "roles"},
        ),
        AdminView(
            TokenView,
            "API tokens",
            "tokens",
            "core.tokens",
            category=CATEGORY,
            kwargs={"url": "tokens"},
        ),
        AdminView(
            ParametersView,
            "Parameters",
            "parameters",
            "core.parameters",
            category=CATEGORY,
            kwargs={"url": "parameters"},
        ),
        AdminView(
            PluginsView,
            "Plugins",
            "plugins",
            "core.plugins",
            category=CATEGORY,
            kwargs={"url": "plugins"},
        ),
        AdminView(
            AuditView,
            "Audit log",
            "audit",
            "core.audit",
            model=AuditEntry,
            category=CATEGORY,
            kwargs={"url": "audit"},
        ),
        AdminView(SubscriptionView, "Webhooks", "webhooks", "core.webhooks",
                  model=WebhookSubscription, category=WEBHOOKS, kwargs={"url": "webhooks"}),
        AdminView(DeliveryView, "Deliveries", "webhook_deliveries", "core.webhooks",
                  model=WebhookDelivery, category=WEBHOOKS,
                  kwargs={"url": "webhook-deliveries"}),
        AdminView(AttemptView, "Attempts", "webhook_attempts", "core.webhooks",
                  model=WebhookAttempt, category=WEBHOOKS, kwargs={"url": "webhook-attempts"}),
    ]
