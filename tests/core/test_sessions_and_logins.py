"""Sessions end when they should (logout, password change, age), logins are throttled per
account and per client address and audited, tokens can expire, and no password is ever
taken from the command line."""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erpkit.auth import issue_token, set_password
from erpkit.db import db, utcnow
from erpkit.models import AuditEntry, User
from erpkit.testing import PASSWORD

_CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def log_in(client, login, password=PASSWORD, **kwargs):
    found = _CSRF.search(client.get("/login", **kwargs).get_data(as_text=True))
    assert found
    return client.post("/login", data={"login": login, "password": password,
                                       "csrf_token": found.group(1)}, **kwargs)


def copied_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def log_out(client) -> None:
    token = _CSRF.search(client.get("/logout").get_data(as_text=True))
    assert token
    assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302


def login_audit(app, login: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.entity == "login",
                                               AuditEntry.entity_id == login)
            .order_by(AuditEntry.id)))


def test_after_logout_a_copied_session_cookie_gets_401(app, client, users):
    users.create("ann", "admin")
    assert log_in(client, "ann").status_code == 302
    stolen = copied_cookie(client)
    assert with_cookie(app, stolen).get("/api/settings/").status_code == 200

    log_out(client)

    assert with_cookie(app, stolen).get("/api/settings/").status_code == 401


def test_logout_ends_the_users_sessions_on_every_device(app, users):
    users.create("ann", "admin")
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, "ann")
    log_in(phone, "ann")

    log_out(laptop)

    assert phone.get("/api/settings/").status_code == 401


def test_a_password_change_ends_every_session_of_the_user(app, client, users):
    ann = users.create("ann", "admin")
    log_in(client, "ann")
    assert client.get("/api/settings/").status_code == 200
    with app.app_context():
        set_password(db.session.get(User, ann.id), "a-new-password")
        db.session.commit()

    assert client.get("/api/settings/").status_code == 401
    assert log_in(client, "ann", "a-new-password").status_code == 302


def test_a_session_expires_after_the_parameter_s_minutes(app, client, users, monkeypatch):
    users.create("ann", "admin")
    log_in(client, "ann")
    assert client.get("/api/settings/").status_code == 200
    later = utcnow() + timedelta(minutes=12 * 60 + 1)
    monkeypatch.setattr("erpkit.auth.utcnow", lambda: later)

    assert client.get("/api/settings/").status_code == 401


def test_the_eleventh_wrong_password_in_a_minute_is_refused_with_429_and_audited(
        app, client, users):
    users.create("ann", "admin")
    for _attempt in range(10):
        assert log_in(client, "ann", "wrong").status_code == 401

    refused = log_in(client, "ann", "wrong")
    assert refused.status_code == 429
    assert "Too many wrong passwords" in refused.get_data(as_text=True)
    # locked out: even the right password is refused until the lockout ends
    assert log_in(client, "ann").status_code == 429
    assert login_audit(app, "ann") == ["failed"] * 10 + ["throttled"] * 2


def test_an_admin_lifts_a_lockout_and_the_lift_is_audited(app, client, users):
    users.create("ann", "admin")
    for _attempt in range(10):
        log_in(client, "ann", "wrong")
    assert log_in(client, "ann").status_code == 429

    lifted = app.test_client().delete("/api/login-lockouts/ann",
                                      headers=users.headers("admin"))

    assert lifted.status_code == 204
    assert log_in(client, "ann").status_code == 302
    assert login_audit(app, "ann")[-1] == "lockout_lifted"


def test_lifting_a_lockout_needs_the_users_permission(client, users):
    assert client.delete("/api/login-lockouts/ann",
                         headers=users.headers("sales")).status_code == 403


def test_one_client_address_cannot_try_many_accounts(make_app, users):
    app = make_app(LOGIN_ADDRESS_LIMIT="5 per minute")
    client = app.test_client()
    for number in range(5):
        assert log_in(client, f"nobody-{number}", "wrong").status_code == 401

    assert log_in(client, "someone-else", "wrong").status_code == 429
    other_address = app.test_client()
    assert log_in(other_address, "someone-else", "wrong",
                  environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 401


def test_counts_are_shared_through_redis_between_workers(make_app, users):
    """Two apps (two gunicorn workers) with the same Redis storage see one count."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    shared = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
              "RATELIMIT_KEY_PREFIX": f"erpkit-test-{os.getpid()}-{uuid.uuid4().hex}",
              "LOGIN_ACCOUNT_LIMIT": "3 per minute"}
    first, second = make_app(**shared), make_app(**shared)
    users.create("ann", "admin")
    for app in (first, second, first):
        assert log_in(app.test_client(), "ann", "wrong").status_code == 401

    assert log_in(second.test_client(), "ann").status_code == 429


def test_an_expired_api_token_is_refused(app, client, users):
    ann = users.create("ann", "admin")
    with app.app_context():
        user = db.session.get(User, ann.id)
        expired = issue_token(db.session, user, "old", expires_at=utcnow() - timedelta(1))
        valid = issue_token(db.session, user, "new", expires_at=utcnow() + timedelta(1))
        db.session.commit()

    assert client.get("/api/settings/",
                      headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert client.get("/api/settings/",
                      headers={"Authorization": f"Bearer {valid}"}).status_code == 200


def _cli(database_url, monkeypatch, *args, input=None):
    from erpkit.cli import main

    monkeypatch.setenv("ERPKIT_DATABASE_URL", database_url)
    state: dict = {}
    result = CliRunner().invoke(main, list(args), obj=state, input=input)
    if "app" in state:
        with state["app"].app_context():
            db.engine.dispose()
    return result


def test_users_create_takes_no_password_option(database_url, app, monkeypatch):
    result = _cli(database_url, monkeypatch, "users", "create", "eve", "--password", "x")

    assert result.exit_code != 0
    assert "No such option" in result.output


def test_users_create_reads_the_password_from_stdin(database_url, app, client, monkeypatch):
    result = _cli(database_url, monkeypatch, "users", "create", "eve", "--password-stdin",
                  input="a long password\n")
    assert result.exit_code == 0, result.output

    assert log_in(client, "eve", "a long password").status_code == 302


def test_users_create_asks_for_the_password_twice(database_url, app, client, monkeypatch):
    result = _cli(database_url, monkeypatch, "users", "create", "eve",
                  input="pw-one-two\npw-one-two\n")
    assert result.exit_code == 0, result.output
    assert "pw-one-two" not in result.output

    assert log_in(client, "eve", "pw-one-two").status_code == 302


def test_users_token_can_expire(database_url, app, monkeypatch):
    users_result = _cli(database_url, monkeypatch, "users", "create", "eve",
                        "--password-stdin", input="pw\n")
    assert users_result.exit_code == 0
    result = _cli(database_url, monkeypatch, "users", "token", "eve", "--expires-days", "7")
    assert result.exit_code == 0, result.output
    with app.app_context():
        from erpkit.models import ApiToken

        expires = db.session.scalar(sa.select(ApiToken.expires_at))
    assert expires is not None
    assert timedelta(days=6) < expires - utcnow() <= timedelta(days=7)
