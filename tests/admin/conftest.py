"""Fixtures of the console's tests: logging in through the real login form, and a real
browser (Debian's chromium driven by Playwright) against the real app on a local port.

Browser tests are marked ``browser``. Without chromium they are skipped, unless
``ERPKIT_REQUIRE_BROWSER=1`` (CI) makes that a failure. Screenshots land in
``test-artifacts/<backend>/<test name>/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from erpkit.testing import artifact_folder

from .browser import LiveServer, Pages
from .helpers import log_in

_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def console(client: FlaskClient, users: Any) -> Callable[..., FlaskClient]:
    """``console("ann", "admin")``: the test client, logged in as a new user with those
    roles (role = login when none is given)."""

    def as_user(login: str, *roles: str) -> FlaskClient:
        users.create(login, *(roles or (login,)))
        response = log_in(client, login)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return as_user


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The run's app, on the run's database, served at ``live_server.url``."""
    with LiveServer(app) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def pages(
    chromium: Any, live_server: LiveServer, app: Flask, request: pytest.FixtureRequest
) -> Iterator[Pages]:
    """Browser pages on the live app (clean tables, like every test that uses ``app``);
    screenshots go to ``test-artifacts/<backend>/<test name>/``."""
    tabs = Pages(
        chromium, live_server.url, artifact_folder(request.config.rootpath, request.node.name)
    )
    yield tabs
    tabs.close(failed=request.node.stash.get(_FAILED, False))
