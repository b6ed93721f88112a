"""Helpers of the console's tests: the login form and CSRF tokens through Flask's client."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

PASSWORD = "secret-pass"  # what tests/conftest.py's ``users.create`` gives every user

_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token_in(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no form with a csrf_token field"
    return found.group(1)


def csrf_meta_in(html: str) -> str:
    """The CSRF token a console page hands to scripts (``<meta name="csrf-token">``)."""
    found = _CSRF_META.search(html)
    assert found, "the page has no csrf-token meta tag"
    return found.group(1)


def log_in(client: FlaskClient, login: str, password: str = PASSWORD) -> Any:
    """Log in through the login form, CSRF token and all; returns the POST's response."""
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token})


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], *, page: str | None = None, **kwargs: Any
) -> Any:
    """Open ``page`` (default ``url``) and post ``data`` to ``url`` with the page's token,
    the way the browser submits the page's form."""
    token = csrf_token_in(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)
