"""Deployment settings and the headers every response carries.

* ``ERPKIT_SECURE_COOKIES`` (default on): the session cookie is sent over HTTPS only.
  Turn it off (``0``) only for a plain-HTTP deployment (a closed network).
* ``ERPKIT_PROXY_FIX`` (default off), e.g. ``x_for=1,x_proto=1``: how many reverse proxies
  in front of erpkit set each ``X-Forwarded-*`` header. werkzeug's ``ProxyFix`` then takes
  the client address (login throttling, logs) and the scheme from them. Never set it
  without a proxy: any client could then claim any address.
* ``ERPKIT_MAX_REQUEST_BYTES`` (default 5 MB): larger request bodies are refused with 413.
* Security headers: a Content-Security-Policy with no inline scripts (Flask-Admin's own
  ``<script>`` blocks carry a per-response nonce; its four inline ``onclick`` handlers are
  allowed by hash, nothing else), frame denial and ``nosniff``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, render_template_string, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

DEFAULT_MAX_REQUEST_BYTES = 5 * 1024 * 1024
PROXY_FIX_KEYS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")
_FALSE = {"0", "false", "no", "off"}

#: The inline event handlers Flask-Admin's templates write (delete confirmation, adding
#: an inline row, bulk actions, the filter menu). Only handlers of these shapes get their
#: hash into the policy: an attribute injected by a bug would not match.
_ADMIN_HANDLERS = re.compile(
    r"return faHelpers\.safeConfirm\('[^'<>]*'\);"
    r"|return false;"
    r"|faForm\.addInlineField\(this, '[\w-]+'\);"
    r"|return modelActions\.execute\('[\w-]+'\);")
_HANDLER_ATTRIBUTE = re.compile(r'\son[a-z]+="([^"]*)"')


class DeploymentSettingInvalid(ValueError):
    """A deployment setting (environment variable) cannot be read; the message says why."""


def secure_cookies(config: Mapping[str, Any]) -> bool:
    """``SECURE_COOKIES`` from the config, else ``ERPKIT_SECURE_COOKIES``; on unless the
    app is a test or the demo (plain HTTP on localhost)."""
    if "SECURE_COOKIES" in config:
        return bool(config["SECURE_COOKIES"])
    raw = os.environ.get("ERPKIT_SECURE_COOKIES")
    if raw is not None:
        return raw.strip().lower() not in _FALSE
    return not (config.get("TESTING") or config.get("DEMO"))


def proxy_fix_options(raw: str) -> dict[str, int]:
    """``"x_for=1,x_proto=1"`` as ProxyFix arguments; refuses unknown keys."""
    options: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, _, value = item.partition("=")
        key = key.strip().lower()
        if key not in PROXY_FIX_KEYS or not value.strip().isdigit():
            raise DeploymentSettingInvalid(
                f"ERPKIT_PROXY_FIX: {item!r} is not understood. Fix: a list such as "
                f"x_for=1,x_proto=1 with keys from {', '.join(PROXY_FIX_KEYS)}")
        options[key] = int(value)
    return options


def max_request_bytes(config: Mapping[str, Any]) -> int:
    raw = config.get("MAX_REQUEST_BYTES") or os.environ.get("ERPKIT_MAX_REQUEST_BYTES")
    if raw is None:
        return DEFAULT_MAX_REQUEST_BYTES
    if not str(raw).strip().isdigit():
        raise DeploymentSettingInvalid(
            f"ERPKIT_MAX_REQUEST_BYTES={raw!r} is not a number of bytes. Fix: e.g. 5242880")
    return int(raw)


def _csp_nonce() -> str:
    if "erpkit_csp_nonce" not in g:
        g.erpkit_csp_nonce = secrets.token_urlsafe(16)
    return str(g.erpkit_csp_nonce)


def _handler_hashes(body: str) -> list[str]:
    handlers = {html.unescape(m) for m in _HANDLER_ATTRIBUTE.findall(body)}
    return sorted(
        "'sha256-" + base64.b64encode(hashlib.sha256(h.encode()).digest()).decode() + "'"
        for h in handlers if _ADMIN_HANDLERS.fullmatch(h))


def content_security_policy(response: Response) -> str:
    scripts = ["'self'"]
    if "erpkit_csp_nonce" in g:
        scripts.append(f"'nonce-{g.erpkit_csp_nonce}'")
    if response.mimetype == "text/html" and not response.is_streamed:
        hashes = _handler_hashes(response.get_data(as_text=True))
        if hashes:
            scripts += ["'unsafe-hashes'", *hashes]
    return "; ".join([
        "default-src 'self'",
        f"script-src {' '.join(scripts)}",
        # Bootstrap and our templates use style attributes; styles cannot run code.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", content_security_policy(response))
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


_TOO_LARGE_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Request too large</title></head><body><h1>Request too large</h1>
<p>The request is larger than {{ limit }} bytes, the most this server accepts.</p>
</body></html>"""


def _too_large(exc: RequestEntityTooLarge) -> Any:
    limit = request.max_content_length
    message = (f"the request is larger than {limit} bytes, the most this server accepts "
               "(ERPKIT_MAX_REQUEST_BYTES)")
    if request.path.startswith("/api"):
        return jsonify({"message": message, "code": "request_entity_too_large"}), 413
    return render_template_string(_TOO_LARGE_PAGE, limit=limit), 413


def init_web_security(app: Flask, config: Mapping[str, Any]) -> None:
    """Apply the deployment settings to ``app`` and add the security headers."""
    app.config["SESSION_COOKIE_SECURE"] = secure_cookies(config)
    app.config["MAX_CONTENT_LENGTH"] = max_request_bytes(config)
    proxies = config.get("PROXY_FIX", os.environ.get("ERPKIT_PROXY_FIX", ""))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, **proxy_fix_options(proxies))  # type: ignore[method-assign]
    app.after_request(_security_headers)
    app.register_error_handler(RequestEntityTooLarge, _too_large)


def csp_nonce_generator() -> str:
    """The nonce Flask-Admin puts on its inline ``<script>`` blocks (one per response)."""
    return _csp_nonce()
