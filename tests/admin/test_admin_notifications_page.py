"""The bell's page: a user's own notifications, newest first, marked read in the console."""

from .helpers import post_form


def test_the_bell_opens_the_users_own_notifications_and_marks_them_read(app, console, users):
    from erpkit.db import db
    from erpkit.models import User
    from erpkit.notifications import notify, unread_count

    client = console("sam", "sales")
    users.create("abe", "approver")
    with app.app_context():
        notify(db.session, "sam", message="Order SO-1: approved", link="/admin/orders/")
        notify(db.session, "abe", message="Order SO-2: waits for you")
        db.session.commit()
        sam = db.session.query(User).filter_by(login="sam").one().id

    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/notifications/?unread=1"' in home
    page = client.get("/admin/notifications/?unread=1").get_data(as_text=True)
    assert "Order SO-1: approved" in page
    assert "SO-2" not in page  # someone else's

    note_id = page.split('data-notification="', 1)[1].split('"', 1)[0]
    opened = post_form(client, f"/admin/notifications/{note_id}/read", {},
                       page="/admin/notifications/")
    assert opened.status_code == 302
    assert opened.headers["Location"] == "/admin/orders/"
    with app.app_context():
        assert unread_count(db.session, sam) == 0
    assert "Nothing unread." in client.get("/admin/notifications/?unread=1").get_data(
        as_text=True)
