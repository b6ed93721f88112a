"""A bearer token costs one query, and its last use is written at most once a minute,
after the response, outside the request's transaction."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from erpkit.auth import TOKEN_TOUCH_EVERY
from erpkit.db import db, utcnow
from erpkit.models import ApiToken


def _last_used(app):
    with app.app_context():
        found = db.session.scalar(sa.select(ApiToken.last_used_at))
        db.session.commit()
        return found


def _get(client, headers):
    response = client.get("/api/orders", headers=headers)
    response.close()  # what a server does once the body is sent
    return response


def test_a_request_with_a_token_authenticates_with_one_query(app, client, users):
    headers = users.headers("sales")
    with app.app_context():
        engine = db.engine
    seen = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)

    _get(client, headers)  # the first use of the token writes last_used_at
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert _get(client, headers).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    about_tokens = [s for s in seen if "core_api_token" in s]
    assert len(about_tokens) == 1, about_tokens
    assert about_tokens[0].lstrip().startswith("SELECT")


def test_last_use_is_written_after_the_response_at_most_once_a_minute(app, client, users):
    headers = users.headers("sales")
    assert _last_used(app) is None

    _get(client, headers)
    first = _last_used(app)
    assert first is not None and utcnow() - first < timedelta(seconds=30)

    _get(client, headers)
    assert _last_used(app) == first  # within the minute: not written again

    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(
            last_used_at=first - TOKEN_TOUCH_EVERY - timedelta(seconds=1)))
        db.session.commit()
    _get(client, headers)
    assert _last_used(app) > first
