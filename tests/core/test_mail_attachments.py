"""Mail with files: ``queue_mail`` keeps the attachments with the job run, a real worker
sends them through a real SMTP server after the commit, the bytes arrive unchanged, and
names or types that could break the message are cleaned or refused."""

from __future__ import annotations

import email
import os
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.notifications import MAX_ATTACHMENT_BYTES, Attachment, queue_mail
from erpkit.service_models import JobRun

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_attachments_arrive_byte_for_byte_after_the_commit(app, smtp, worker):
    report, notes = os.urandom(50_000), "päivä;total\n1;2\n".encode()
    with app.app_context():
        assert queue_mail(db.session, ["boss@example.com", "cfo@example.com"],
                          subject="Weekly sales", body="Attached: this week's figures.",
                          attachments=[Attachment("../sales\r\nweek 48.xlsx", report, XLSX),
                                       Attachment("notes.csv", notes, "text/csv")])
        [run] = db.session.scalars(sa.select(JobRun).where(JobRun.name == "core.send_mail"))
        assert [file["filename"] for file in run.args["attachments"]] == [
            "_sales_week 48.xlsx", "notes.csv"]
        assert smtp.messages == []  # not committed yet
        db.session.commit()

    received = smtp.wait_for(2)
    assert sorted(to for to, _message in received) == [["boss@example.com"],
                                                        ["cfo@example.com"]]
    for _to, raw in received:
        message = email.message_from_string(raw, _class=EmailMessage, policy=default_policy)
        assert message["Subject"] == "[erpkit] Weekly sales"
        assert message.get_body(("plain",)).get_content().strip() == (
            "Attached: this week's figures.")
        files = [(part.get_filename(), part.get_content_type(),
                  part.get_payload(decode=True)) for part in message.iter_attachments()]
        assert files == [("_sales_week 48.xlsx", XLSX, report),
                         ("notes.csv", "text/csv", notes)]


def test_nothing_is_queued_without_smtp_or_addresses(app):
    with app.app_context():
        assert not queue_mail(db.session, ["a@example.com"], subject="s", body="b")
        app.config["SMTP_HOST"] = "127.0.0.1"
        try:
            assert not queue_mail(db.session, [], subject="s", body="b")
        finally:
            app.config.pop("SMTP_HOST")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_what_cannot_travel_is_refused_with_a_fix(app):
    with pytest.raises(ValueError, match="is not a MIME type"):
        Attachment("a.pdf", b"%PDF", "pdf")
    with pytest.raises(TypeError, match="content must be bytes"):
        Attachment("a.txt", "text", "text/plain")  # type: ignore[arg-type]
    with app.app_context(), pytest.raises(ValueError, match="Fix: send a link"):
        queue_mail(db.session, ["a@example.com"], subject="s", body="b",
                   attachments=[Attachment("big.bin", bytes(MAX_ATTACHMENT_BYTES + 1))])
