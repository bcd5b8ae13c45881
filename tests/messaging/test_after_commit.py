"""messaging.deliver_after_commit (demo): a committed message goes out at once, without `idp worker`."""

from __future__ import annotations

import json

import pytest

from idp.extensions import db
from idp.messaging import send, wait_for_background
from idp.models import OutboxMessage


@pytest.fixture
def settings_overrides():
    return {"messaging": {"deliver_after_commit": True, "email_transport": "file", "sms_transport": "http",
                          "http_url": "http://127.0.0.1:1/sms"}}


def outbox_lines(app) -> list[dict]:
    path = app.instance_path + "/outbox.jsonl"
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]
    except FileNotFoundError:
        return []


def test_a_committed_message_arrives_without_the_worker(app, user):
    send("email", user.email, "login_code", user=user, locale="en", code="CGMDPP", minutes=5,
         portal="Huisartsportaal", change_password_url="http://localhost/password")
    db.session.commit()
    wait_for_background(app)
    [line] = outbox_lines(app)
    assert line["to"] == user.email and "CGMDPP" in line["body"]
    db.session.expire_all()
    assert db.session.scalars(db.select(OutboxMessage.status)).all() == ["sent"]


def test_a_rolled_back_message_is_never_sent(app, user):
    send("email", user.email, "recovery_codes_created", user=user, account_url="http://x")
    db.session.rollback()
    send("email", "other@example.org", "recovery_codes_created", account_url="http://x")
    db.session.commit()  # a later transaction must not carry the rolled-back message along
    wait_for_background(app)
    assert [line["to"] for line in outbox_lines(app)] == ["other@example.org"]
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 1


def test_a_failed_delivery_after_commit_is_left_for_the_worker(app, user):
    send("sms", "+31612345678", "login_code", user=user, code="305917", minutes=5, portal="P")
    db.session.commit()
    wait_for_background(app)
    db.session.expire_all()
    message = db.session.scalars(db.select(OutboxMessage)).one()
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "HTTP ConnectionError")


def test_a_message_sent_during_a_request_arrives_after_its_commit(app, client, user):
    @app.get("/test/notify")
    def notify():
        send("email", user.email, "recovery_codes_created", user=user, account_url="http://x")
        db.session.commit()
        return "ok"

    assert client.get("/test/notify").status_code == 200
    wait_for_background(app)
    assert [line["to"] for line in outbox_lines(app)] == [user.email]
