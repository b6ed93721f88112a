"""Shared fixtures: a real database per test run, the real app, clean tables per test.

``ERPKIT_TEST_DB`` picks the backend: ``sqlite`` (a file in a temporary folder) or
``postgresql`` (a database of its own on ``ERPKIT_TEST_PG_URL``'s server, dropped at the
end), so two runs never see each other's rows. The schema is made by the real
migrations, once per run; each test starts from empty tables with the built-in roles.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from plugin_apps import module_fixtures
from werkzeug.security import generate_password_hash

from erpkit import auth
from erpkit.auth import create_user, ensure_builtin_roles, issue_token
from erpkit.db import Base, db
from erpkit.models import User

BACKEND = os.environ.get("ERPKIT_TEST_DB", "sqlite")
PG_SERVER_URL = os.environ.get(
    "ERPKIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header() -> str:
    return f"erpkit test database backend: {BACKEND}"


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
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
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


#: The run's main database and app: every installed plugin enabled.
database_url, app, make_app = module_fixtures(None, "main")


def _empty_all_tables(connection: sa.Connection) -> None:
    """DELETE, children first: the tables hold a few rows, and on PostgreSQL a TRUNCATE
    of every table costs about 0.35 s a test."""
    present = set(sa.inspect(connection).get_table_names())
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in present:
            connection.execute(table.delete())


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
    yield


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


class Users:
    """Make users with roles and their API tokens, through the real auth code."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.tokens: dict[str, str] = {}

    def create(self, login: str, *roles: str, password: str = "secret-pass") -> User:
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
