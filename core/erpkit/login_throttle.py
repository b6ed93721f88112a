"""Throttled logins: wrong passwords are counted per account and per client address.

Once an account (or an address) has had too many wrong passwords in the window, every
login attempt for it is refused with 429, even with the right password, until the window
passes or an admin lifts the lockout (``DELETE /api/login-lockouts/<login>``). Every
wrong password, every refused attempt and every lift is in the audit log.

Counting is Flask-Limiter's (its ``limits`` storage and fixed windows): ``memory://`` by
default, which is right for the embedded server (one process) only; with several
gunicorn workers or hosts set ``ERPKIT_RATELIMIT_STORAGE_URL=redis://host:6379`` so all
of them share the counts.

Settings: ``ERPKIT_RATELIMIT_STORAGE_URL``, ``ERPKIT_LOGIN_ACCOUNT_LIMIT`` (default
``10 per 15 minutes``), ``ERPKIT_LOGIN_ADDRESS_LIMIT`` (default ``50 per 15 minutes``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from marshmallow import Schema, fields

from erpkit.api import Blueprint
from erpkit.auth import permission_required, require_user
from erpkit.db import db
from erpkit.models import audit

DEFAULT_ACCOUNT_LIMIT = "10 per 15 minutes"
DEFAULT_ADDRESS_LIMIT = "50 per 15 minutes"
_ACCOUNT, _ADDRESS = "login-account", "login-address"


class LoginThrottle:
    """Counts wrong passwords and says whether a login attempt may be tried."""

    def __init__(self, limiter: Limiter, prefix: str, account_limit: str,
                 address_limit: str, storage_uri: str) -> None:
        self.limiter = limiter
        self.prefix = prefix
        self.account_limit: RateLimitItem = parse(account_limit)
        self.address_limit: RateLimitItem = parse(address_limit)
        self.storage_uri = storage_uri

    def _keys(self, login: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        return [(self.account_limit, _ACCOUNT, login.lower()),
                (self.address_limit, _ADDRESS, address)]

    def refused(self, login: str, address: str) -> str | None:
        """``"account"`` or ``"address"`` when that one is locked out, else ``None``."""
        for item, scope, key in self._keys(login, address):
            if not self.limiter.limiter.test(item, self.prefix, scope, key):
                return scope.removeprefix("login-")
        return None

    def count_failure(self, login: str, address: str) -> None:
        for item, scope, key in self._keys(login, address):
            self.limiter.limiter.hit(item, self.prefix, scope, key)

    def lift(self, login: str | None = None, address: str | None = None) -> None:
        """Forget the wrong passwords counted for ``login`` and/or ``address``."""
        if login:
            self.limiter.limiter.clear(self.account_limit, self.prefix, _ACCOUNT, login.lower())
        if address:
            self.limiter.limiter.clear(self.address_limit, self.prefix, _ADDRESS, address)

    def forget_everything(self) -> None:
        """Reset every count (tests; only the in-memory storage is reset, never a shared
        Redis)."""
        if self.storage_uri.startswith("memory://"):
            self.limiter.reset()


def init_login_throttle(app: Flask, config: Mapping[str, Any]) -> LoginThrottle:
    storage = str(config.get("RATELIMIT_STORAGE_URI")
                  or os.environ.get("ERPKIT_RATELIMIT_STORAGE_URL") or "memory://")
    prefix = str(config.get("RATELIMIT_KEY_PREFIX") or "erpkit")
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage, key_prefix=prefix,
                      default_limits=[], headers_enabled=False)
    throttle = LoginThrottle(
        limiter, prefix,
        str(config.get("LOGIN_ACCOUNT_LIMIT")
            or os.environ.get("ERPKIT_LOGIN_ACCOUNT_LIMIT") or DEFAULT_ACCOUNT_LIMIT),
        str(config.get("LOGIN_ADDRESS_LIMIT")
            or os.environ.get("ERPKIT_LOGIN_ADDRESS_LIMIT") or DEFAULT_ADDRESS_LIMIT),
        storage)
    app.extensions["erpkit.login_throttle"] = throttle
    return throttle


def login_throttle() -> LoginThrottle:
    return current_app.extensions["erpkit.login_throttle"]  # type: ignore[no-any-return]


def client_address() -> str:
    """The client's address (behind a proxy, as ``ERPKIT_PROXY_FIX`` trusts it)."""
    return request.remote_addr or "unknown"


def audit_login(login: str, action: str, **details: Any) -> None:
    """Record a login event (``failed``, ``throttled``, ``lifted``) and commit it."""
    audit(db.session, actor=details.pop("actor", None) or login[:120] or None,
          entity="login", entity_id=login[:120], action=action,
          after={"address": client_address(), **details})
    db.session.commit()


class LiftQuery(Schema):
    address = fields.String(metadata={"description": "Also lift the lockout of this client "
                                      "address."})


def lockouts_blueprint() -> Blueprint:
    blp = Blueprint("core_login_lockouts", __name__, url_prefix="/api/login-lockouts",
                    permission="core.users",
                    description="Login lockouts after too many wrong passwords.")

    @blp.delete("/<path:login>")
    @permission_required("core.users")
    @blp.arguments(LiftQuery, location="query")
    @blp.response(204)
    def lift(query: dict[str, Any], login: str) -> None:
        """Lift the lockout of an account (and of a client address): it may log in again."""
        login_throttle().lift(login, query.get("address"))
        audit_login(login, "lockout_lifted", actor=require_user().login,
                    lifted_address=query.get("address"))

    return blp
