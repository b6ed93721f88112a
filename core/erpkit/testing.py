"""erpkit's pytest plugin: the fixtures every plugin's tests are built on.

Installed with the core and loaded by pytest through the ``pytest11`` entry point, so a
plugin's ``tests/conftest.py`` needs one line to run its tests against the real app and a
real database of their own::

    from erpkit.testing import plugin_fixtures

    database_url, app, make_app = plugin_fixtures({"orders", "loyalty"}, "loyalty")

Fixtures offered (override any of them in a conftest):

- ``new_database``: a factory of empty databases on the run's backend, dropped at the end;
- ``database_url``, ``app``, ``make_app``: by default every installed plugin, migrated;
  :func:`plugin_fixtures` makes the three for a chosen set of plugins;
- ``app_context``, ``session``, ``client``;
- ``users``: users with roles and their bearer tokens (``users.headers("admin")``);
- ``as_role``: ``as_role("sales").post("/api/orders", json=...)``, a client acting as a
  user with that built-in role;
- ``worker``: a real job worker (huey consumer threads) running in this process for the
  test's ``app``, on its own queue, emptied first;
- ``artifacts``: the test's folder for screenshots, ``test-artifacts/<backend>/<test>/``
  (:func:`artifact_folder`).

Each test that uses ``app`` starts from empty tables plus the built-in roles.

The backend comes from the environment: ``ERPKIT_TEST_DB=sqlite`` (the default; a file in
a temporary folder) or ``postgresql`` (a database of its own, ``erpkit_test_<pid>_<random>``,
on the server at ``ERPKIT_TEST_PG_URL``), so two runs never see each other's rows.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from erpkit import PluginMeta, auth, hookimpl, setup_cache
from erpkit.app import create_app
from erpkit.auth import create_user, ensure_builtin_roles, issue_token
from erpkit.db import Base, db
from erpkit.migrate import upgrade
from erpkit.models import User
from erpkit.plugins import load_plugins

__all__ = [
    "BACKEND",
    "BACKEND_IS_POSTGRESQL",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PASSWORD",
    "ApiClient",
    "Users",
    "app_config",
    "artifact_folder",
    "chromium_missing",
    "every_page",
    "make_plugin",
    "plugin_fixtures",
]

BACKEND = os.environ.get("ERPKIT_TEST_DB", "sqlite")
BACKEND_IS_POSTGRESQL = BACKEND == "postgresql"
PG_SERVER_URL = os.environ.get(
    "ERPKIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: The password ``users.create`` gives everyone unless told otherwise.
PASSWORD = "secret-pass"


def pytest_report_header() -> str:
    return f"erpkit test database backend: {BACKEND}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_password_hashing: keep scrypt password hashing (tests about hashing)"
    )


# -- databases ------------------------------------------------------------------------


def _create_pg_database(name: str) -> str:
    server = sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return sa.make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    server = sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(scope="session")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """A factory of empty databases on the run's backend, all dropped at the end."""
    made: list[str] = []

    def make(label: str = "db") -> str:
        if BACKEND == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp(label) / 'erpkit.db'}"
        name = f"erpkit_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        made.append(name)
        return _create_pg_database(name)

    yield make
    # Each DROP DATABASE waits for a checkpoint (2 s here); dropped together they share it.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(_drop_pg_database, made))


# -- apps with a chosen set of plugins ------------------------------------------------


def app_config(database_url: str, enabled: Iterable[str] | None = None,
               plugins: Iterable[Any] = (), **config: Any) -> dict[str, Any]:
    """Config of a test app: ``enabled`` installed plugins (all when ``None``) plus the
    in-process ``plugins`` (and any in ``config["EXTRA_PLUGINS"]``), enabled too."""
    extra = [*plugins, *config.pop("EXTRA_PLUGINS", [])]
    base: dict[str, Any] = {"DATABASE_URL": database_url, "TESTING": True,
                            "SECRET_KEY": "test-secret", "EXTRA_PLUGINS": extra,
                            # Login counts of this run only, even in a shared Redis.
                            "RATELIMIT_KEY_PREFIX": f"erpkit-test-{os.getpid()}-{uuid.uuid4().hex}"}
    if enabled is not None:
        base["PLUGINS"] = sorted({*enabled, *(p.PLUGIN.name for p in extra)})
    if not database_url.startswith("sqlite"):
        # The job queue's default lives in the instance folder; a test run keeps its own.
        name = sa.make_url(database_url).database
        base["JOBS_URL"] = f"sqlite:///{Path(tempfile.gettempdir()) / f'{name}-jobs.db'}"
    return {**base, **config}


def _dispose(application: Flask) -> None:
    with application.app_context():
        db.engine.dispose()


def plugin_fixtures(enabled: set[str] | None, label: str) -> tuple[Any, Any, Any]:
    """The fixtures ``database_url``, ``app`` and ``make_app`` for tests that run with the
    plugins ``enabled`` (every installed plugin when ``None``).

    Assign them at the top of a conftest: ``database_url, app, make_app =
    plugin_fixtures({"orders"}, "orders")``. The database is migrated with just those
    plugins' branches, once per run.
    """

    @pytest.fixture(scope="session")
    def database_url(new_database: Callable[[str], str]) -> str:
        """A database of these tests' own, migrated with their plugins' branches."""
        url = new_database(label)
        upgrade(load_plugins(enabled), url)
        return url

    @pytest.fixture(scope="session")
    def app(database_url: str) -> Iterator[Flask]:
        application = create_app(app_config(database_url, enabled))
        yield application
        _dispose(application)

    @pytest.fixture
    def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
        """``make_app(plugin, ..., **config)``: another app on the same database (or on
        ``DATABASE_URL=...``) with in-process plugins beside the enabled ones."""
        made: list[Flask] = []

        def make(*plugins: Any, **config: Any) -> Flask:
            application = create_app(app_config(database_url, enabled, plugins, **config))
            made.append(application)
            return application

        yield make
        for application in made:
            _dispose(application)

    return database_url, app, make_app


def make_plugin(
    name: str,
    *,
    requires: tuple[str, ...] = (),
    core: str = ">=0.1",
    migrations: str | None = None,
    **hooks: Callable[..., Any],
) -> types.ModuleType:
    """An in-process plugin: a module object with ``PLUGIN`` and the given hook functions.

    ``make_plugin("alpha", erpkit_parameters=lambda: [...])`` is what a plugin package
    with one hook implementation looks like once imported. Pass it to ``make_app``.
    """
    module = types.ModuleType(f"inprocess_{name}")
    module.PLUGIN = PluginMeta(  # type: ignore[attr-defined]
        name=name, requires=requires, core=core, migrations=migrations
    )
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


#: The default: every installed plugin enabled, on the run's main database.
database_url, app, make_app = plugin_fixtures(None, "main")


def _empty_all_tables(connection: sa.Connection) -> None:
    """DELETE, children first: the tables hold a few rows, and on PostgreSQL a TRUNCATE
    of every table costs about 0.35 s a test."""
    present = set(sa.inspect(connection).get_table_names())
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in present:
            connection.execute(table.delete())
    if "core_cache_generation" in present:
        # An emptied database is a new one: nothing a process kept of it may be used.
        setup_cache.new_epoch(connection)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request: pytest.FixtureRequest,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests log in with many users: skip scrypt's deliberate slowness, unless a test is
    about hashing itself (mark it ``real_password_hashing``)."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        monkeypatch.setattr(auth, "hash_password",
                            lambda password: generate_password_hash(password, "pbkdf2:sha256:1"))


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test that uses the app starts from empty tables plus the built-in roles."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        with db.engine.begin() as connection:
            _empty_all_tables(connection)
        registry = application.extensions["erpkit"]
        ensure_builtin_roles(db.session, list(registry.permissions.values()))
        db.session.commit()
    application.extensions["erpkit.login_throttle"].forget_everything()
    yield


@pytest.fixture
def worker(app: Flask) -> Iterator[Any]:
    """A job worker in this process for ``app`` while the test runs (its queue emptied
    first: messages of earlier tests point at rows the table cleaning removed)."""
    from erpkit.jobs import embedded_worker, jobs_of

    jobs_of(app).huey.flush()
    with embedded_worker(app, workers=2) as consumer:
        yield consumer


def sweeps_at_once(app: Flask, now: Any, monkeypatch: pytest.MonkeyPatch,
                   count: int = 2) -> list[Any]:
    """Run ``count`` sweeps of the core's step time limits (as at ``now``) in threads that
    meet just before each claims its breaches: the race exactly-once escalation must win.
    Returns their reports; a sweep that raised fails the test."""
    import contextlib

    from erpkit import steps
    from erpkit.plugins import current_registry

    meeting = threading.Barrier(count, timeout=10)
    claim = steps.claim

    def claim_together(session: Any, late: Any, when: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait()
        return claim(session, late, when)

    def sweep() -> Any:
        with app.app_context():
            return steps.sweep(db.session, current_registry(), now)

    monkeypatch.setattr(steps, "claim", claim_together)
    try:
        with ThreadPoolExecutor(count) as pool:
            return [future.result(timeout=30)
                    for future in [pool.submit(sweep) for _ in range(count)]]
    finally:
        monkeypatch.setattr(steps, "claim", claim)


def artifact_folder(rootpath: Path | str, *names: str) -> Path:
    """``test-artifacts/<backend>/<names...>/`` under ``rootpath``, emptied: where a test
    leaves its screenshots. The backend keeps the SQLite and PostgreSQL runs, which
    ``make test`` runs at the same time, from emptying each other's folders."""
    folder = Path(rootpath) / "test-artifacts" / BACKEND
    for name in names:
        folder /= re.sub(r"[^\w.-]+", "_", name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder, ``test-artifacts/<backend>/<test name>/``, emptied."""
    return artifact_folder(request.config.rootpath, request.node.name)


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def session(app_context: None) -> sa.orm.Session:
    """The app's session, inside an app context."""
    return db.session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- people ------------------------------------------------------------------------------


class Users:
    """Make users with roles and their API tokens, through the real auth code."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.tokens: dict[str, str] = {}

    def create(self, login: str, *roles: str, password: str = PASSWORD) -> User:
        with self.app.app_context():
            user = create_user(db.session, login, password, list(roles) or ["sales"])
            self.tokens[login] = issue_token(db.session, user, "tests")
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    def headers(self, login: str) -> dict[str, str]:
        """Authorization headers for ``login`` (created with role = login if new)."""
        if login not in self.tokens:
            self.create(login, login)
        return {"Authorization": f"Bearer {self.tokens[login]}"}


@pytest.fixture
def users(app: Flask) -> Users:
    """``users.headers("admin")`` makes a user ``admin`` with role admin, and its token."""
    return Users(app)


class ApiClient:
    """A test client that sends one user's bearer token with every request."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def open(self, method: str, path: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Any:
        return self.client.open(path, method=method, headers={**self.headers, **(headers or {})},
                                **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.open("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.open("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.open("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.open("DELETE", path, **kwargs)


def every_page(get: Callable[..., Any], path: str, *, cursor: str = "after", limit: int = 1,
               most: int = 100, **query: Any) -> tuple[list[list[Any]], list[Any]]:
    """Walk a keyset listing (``{"items", "next"}``) from its first page to its last:
    ``(the items of each page, each page's next)``. ``get`` is a test client's or an
    :class:`ApiClient`'s ``get``; ``cursor`` the argument ``next`` is passed back as
    (``after`` or ``before``). Stops after ``most`` pages, so a cursor that never ends
    fails the test instead of hanging it."""
    pages: list[list[Any]] = []
    nexts: list[Any] = []
    arguments: dict[str, Any] = {"limit": limit, **query}
    while len(pages) < most:
        answer = get(path, query_string=arguments)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        assert set(body) == {"items", "next"}, body
        pages.append(body["items"])
        nexts.append(body["next"])
        if body["next"] is None:
            break
        arguments = {**arguments, cursor: body["next"]}
    return pages, nexts


@pytest.fixture
def as_role(client: FlaskClient, users: Users) -> Callable[[str], ApiClient]:
    """``as_role("sales")``: a client acting as a user with that built-in role."""
    return lambda role: ApiClient(client, users.headers(role))


# -- a real browser ------------------------------------------------------------------------

#: Debian's chromium, driven by Playwright through ``executable_path``: no browser is
#: ever downloaded.
CHROMIUM = os.environ.get("ERPKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or ``None``."""
    if os.path.exists(CHROMIUM) or shutil.which(CHROMIUM):
        return None
    return f"{CHROMIUM} is missing: apt-get install -y chromium"


def browser_page(browser: Any, base_url: str, login: str, *, password: str = PASSWORD,
                 width: int = 1700, height: int = 900) -> Any:
    """A page of a new browser context on ``base_url``, logged in to the console as
    ``login`` through the login form (10 s timeouts)."""
    context = browser.new_context(base_url=base_url, viewport={"width": width,
                                                                "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")
    return page


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One chromium for the whole run, shared by every plugin's browser tests (Playwright's
    sync API allows one driver per process). Skipped without chromium, unless
    ``ERPKIT_REQUIRE_BROWSER=1`` (CI) makes that a failure."""
    missing = chromium_missing()
    if missing:
        if os.environ.get("ERPKIT_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (10 s, not Playwright's 5 s): CI runs both
    # backends' suites at once on two cores, where a page can take seconds.
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """``app`` served by werkzeug on a free localhost port, in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


# -- a real SMTP server ----------------------------------------------------------------------


class Inbox:
    """What a real SMTP server (aiosmtpd) received: ``(recipients, message)`` pairs."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[list[str], str]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on a free loopback port, with ``app`` sending its mail there."""
    from aiosmtpd.controller import Controller  # a test dependency, not the core's

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    yield inbox
    controller.stop()
