"""Notifications in the core: one ``notify`` for every plugin (a user, a login, a role),
each user's list at ``/api/notifications``, the console's bell, and e-mail that a real
worker sends through a real SMTP server only after the commit."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.models import User
from erpkit.notifications import notify
from erpkit.service_models import JobRun, Notification
from erpkit.testing import every_page


def _notify(app, to, **kwargs):
    with app.app_context():
        made = notify(db.session, to, **kwargs)
        db.session.commit()
        return len(made)


def test_notify_reaches_users_logins_and_roles_each_person_once(app, users):
    users.create("wes", "warehouse")
    users.create("wil", "warehouse")
    users.create("ann", "approver")

    count = _notify(app, ["role:warehouse", "wes", "ann"], kind="alert",
                    message="Dock 3: a pallet waits", data={"dock": 3})

    assert count == 3
    with app.app_context():
        rows = db.session.execute(sa.select(User.login, Notification.subject, Notification.data)
                                  .join(User, User.id == Notification.user_id)
                                  .order_by(User.login)).all()
    assert [tuple(row) for row in rows] == [("ann", "Dock 3", {"dock": 3}),
                                            ("wes", "Dock 3", {"dock": 3}),
                                            ("wil", "Dock 3", {"dock": 3})]


def test_each_user_reads_and_marks_their_own(app, users, as_role, client):
    users.create("ann", "approver")
    users.create("bob", "approver")
    _notify(app, "role:approver", kind="info", message="one", link="/admin/work/")
    _notify(app, "ann", kind="info", message="two")
    ann = as_role("ann")
    bob = as_role("bob")

    first, second = ann.get("/api/notifications/").get_json()["items"]
    assert (first["message"], second["message"]) == ("two", "one")
    assert second["link"] == "/admin/work/" and second["read"] is False
    assert bob.post(f"/api/notifications/{first['id']}/read").status_code == 404
    assert ann.post(f"/api/notifications/{first['id']}/read").get_json()["read"] is True
    unread = ann.get("/api/notifications/?unread=true").get_json()["items"]
    assert [n["message"] for n in unread] == ["one"]
    assert ann.post("/api/notifications/read-all").get_json() == {"marked": 1}
    assert client.get("/api/notifications/").status_code == 401


def test_the_console_bell_shows_the_unread_count(app, users, client):
    users.create("root", "admin")
    _notify(app, "root", message="a")
    _notify(app, "root", message="b")
    from erpkit.testing import PASSWORD

    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"login": "root", "password": PASSWORD, "csrf_token": token})

    console = client.get("/admin/").get_data(as_text=True)

    assert 'data-testid="unread-count">2<' in console




def test_mail_is_sent_by_a_job_only_after_the_commit(app, users, smtp, worker):
    users.create("wes", "warehouse")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.login == "wes")
                           .values(email="wes@example.com"))
        db.session.commit()
        notify(db.session, "wes", kind="alert", message="Rolled back: never told")
        db.session.rollback()
        notify(db.session, "role:warehouse", kind="alert", message="Dock 3: a pallet waits")
        time.sleep(0.5)
        assert smtp.messages == []  # not committed yet
        db.session.commit()

    [(to, message)] = smtp.wait_for(1)
    assert to == ["wes@example.com"]
    assert "Subject: [erpkit] Dock 3" in message and "a pallet waits" in message
    time.sleep(0.3)
    assert len(smtp.messages) == 1
    with app.app_context():
        [run] = db.session.scalars(sa.select(JobRun).where(JobRun.name == "core.send_mail"))
        assert (run.status, run.attempts) == ("done", 1)


def test_notifications_come_a_page_at_a_time_newest_first_each_once(app, users, as_role):
    users.create("ann", "approver")
    for number in range(5):
        _notify(app, "ann", message=f"note {number}")
    ann = as_role("ann")

    pages, nexts = every_page(ann.get, "/api/notifications/", cursor="before", limit=2)

    assert [[n["message"] for n in page] for page in pages] == [
        ["note 4", "note 3"], ["note 2", "note 1"], ["note 0"]]
    assert nexts[-1] is None and all(isinstance(n, int) for n in nexts[:-1])


def test_unread_notifications_are_paged_among_themselves(app, users, as_role):
    users.create("ann", "approver")
    for number in range(4):
        _notify(app, "ann", message=f"note {number}")
    ann = as_role("ann")
    newest = ann.get("/api/notifications/").get_json()["items"][0]
    ann.post(f"/api/notifications/{newest['id']}/read")

    pages, _ = every_page(ann.get, "/api/notifications/", cursor="before", limit=2, unread=True)

    assert [[n["message"] for n in page] for page in pages] == [["note 2", "note 1"], ["note 0"]]


def test_a_user_pages_only_their_own_notifications(app, users, as_role):
    users.create("ann", "approver")
    users.create("bob", "approver")
    _notify(app, "ann", message="for ann")
    _notify(app, "bob", message="for bob")

    pages, _ = every_page(as_role("bob").get, "/api/notifications/", cursor="before")

    assert [[n["message"] for n in page] for page in pages] == [["for bob"]]


@pytest.mark.parametrize("query,field", [({"limit": 501}, "limit"), ({"limit": 0}, "limit"),
                                         ({"before": "x"}, "before"), ({"before": -1}, "before")])
def test_a_page_too_large_or_a_bad_cursor_is_a_422_naming_it(users, as_role, query, field):
    users.create("ann", "approver")

    refused = as_role("ann").get("/api/notifications/", query_string=query)

    assert refused.status_code == 422, refused.get_json()
    assert [e["field"] for e in refused.get_json()["errors"]] == [field]
