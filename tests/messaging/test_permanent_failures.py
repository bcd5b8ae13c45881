"""Issue 17 part 5: a permanent refusal is not retried, and a resent mail keeps its Message-ID.

An SMTP 5xx reply (to the recipient or to the message) makes the mail dead at once, audited with the reason;
a 4xx or a lost connection is retried as before. An SMS gateway's 4xx (but 408 and 429) is permanent too.
The SMTP server is aiosmtpd on loopback answering what the test scripts; the gateway a real HTTP server.
"""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller

from idp.audit import EventTag
from idp.extensions import db
from idp.messaging import dead_letters, deliver_due, retry_dead, send
from idp.models import OutboxMessage
from idp.runtime import settings
from tests.helpers import audit_events, free_port
from tests.messaging.conftest import delivered_bodies

NOTHING = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}
TO = "anna@example.org"


class ScriptedServer:
    """Answers RCPT and DATA with the next scripted reply (then 250), and keeps every message it was given
    (also those it refused after DATA)."""

    def __init__(self):
        self.rcpt_replies: list[str] = []
        self.data_replies: list[str] = []
        self.data: list[bytes] = []
        self.accepted: list[bytes] = []

    async def handle_RCPT(  # noqa: N802 (aiosmtpd calls it by this name)
            self, server, session, envelope, address, rcpt_options):
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
            self, server, session, envelope):
        self.data.append(envelope.content)
        reply = self.data_replies.pop(0) if self.data_replies else "250 OK"
        if reply.startswith("250"):
            self.accepted.append(envelope.content)
        return reply


@pytest.fixture
def smtp():
    handler = ScriptedServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def settings_overrides(smtp, gateway):
    return {"messaging": {"email_transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                          "smtp_security": "none", "smtp_timeout_seconds": 5,
                          "mail_from": "Inlogdienst <no-reply@idp.example>",
                          "sms_transport": "http", "http_url": gateway.url}}


def queue_mail(user) -> OutboxMessage:
    message = send("email", TO, "recovery_codes_created", user=user, locale="en", account_url="http://x")
    db.session.commit()
    return message


def queue_sms(user) -> OutboxMessage:
    message = send("sms", "+31612345678", "login_code", user=user, locale="en", code="305917", minutes=5,
                   portal="Huisartsportaal")
    db.session.commit()
    return message


def row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get_one(OutboxMessage, message_id)


def message_ids(data: list[bytes]) -> list[str]:
    return [email.message_from_bytes(raw, policy=policy.default)["Message-ID"] for raw in data]


@pytest.mark.parametrize(("where", "reply", "error"), [
    ("rcpt", "550 5.1.1 No such user anna@example.org", "SMTP 550 (SMTPRecipientsRefused)"),
    ("data", "554 5.7.1 Message rejected as spam", "SMTP 554 (SMTPDataError)"),
])
def test_an_smtp_5xx_makes_the_mail_dead_at_once_audited_with_the_reason(user, smtp, frozen, time_machine,
                                                                         where, reply, error):
    getattr(smtp, f"{where}_replies").append(reply)
    message = queue_mail(user)

    assert deliver_due() == {**NOTHING, "dead": 1}
    time_machine.shift(timedelta(hours=3))
    assert deliver_due() == NOTHING  # never tried again by itself

    message = row(message.id)
    assert (message.status, message.attempts, message.last_error) == ("dead", 1, error)
    assert smtp.accepted == []
    assert [m.id for m in dead_letters()] == [message.id]
    [dead] = audit_events(EventTag.MESSAGE_DEAD)
    assert dead.outcome == "failure" and dead.details["error"] == error and dead.details["permanent"] is True
    assert TO not in str(dead.details)  # the server's text quoted the address: only the code is kept

    retry_dead(message.id)  # an admin fixed the address or the server, and sends it again
    db.session.commit()
    assert deliver_due() == {**NOTHING, "sent": 1}
    assert len(smtp.accepted) == 1


@pytest.mark.parametrize(("where", "reply"), [("rcpt", "450 4.2.1 Mailbox busy"),
                                              ("data", "451 4.3.0 Try again later")])
def test_an_smtp_4xx_is_retried_as_before(user, smtp, frozen, time_machine, where, reply):
    getattr(smtp, f"{where}_replies").append(reply)
    message = queue_mail(user)

    assert deliver_due() == {**NOTHING, "retried": 1}
    assert row(message.id).next_attempt_at == frozen + timedelta(seconds=settings().messaging.retry_seconds)
    time_machine.shift(timedelta(seconds=settings().messaging.retry_seconds))
    assert deliver_due() == {**NOTHING, "sent": 1}
    assert [m.details.get("permanent") for m in audit_events(EventTag.MESSAGE_DEAD)] == []


def test_a_mail_refused_after_data_and_sent_again_carries_the_same_message_id(user, smtp, frozen, time_machine):
    smtp.data_replies.append("451 4.3.0 Try again later")  # the whole mail went over, then was refused
    message = queue_mail(user)
    assert row(message.id).message_id

    deliver_due()
    time_machine.shift(timedelta(seconds=settings().messaging.retry_seconds))
    deliver_due()

    first, second = message_ids(smtp.data)
    assert first == second == row(message.id).message_id
    assert first.endswith("@idp.example>")
    assert message_ids(smtp.accepted) == [first]
    # Another mail gets a Message-ID of its own.
    other = queue_mail(user)
    deliver_due()
    assert message_ids(smtp.accepted)[1] == row(other.id).message_id != first


def test_an_admins_retry_of_a_dead_mail_keeps_its_message_id(user, smtp):
    smtp.data_replies.append("554 5.7.1 Rejected")
    message = queue_mail(user)
    deliver_due()
    retry_dead(message.id)
    db.session.commit()
    deliver_due()
    assert message_ids(smtp.data) == [row(message.id).message_id] * 2


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_a_gateway_4xx_makes_the_sms_dead_at_once(user, gateway, frozen, time_machine, status):
    gateway.statuses = [status]
    message = queue_sms(user)
    assert deliver_due() == {**NOTHING, "dead": 1}
    time_machine.shift(timedelta(hours=3))
    assert deliver_due() == NOTHING
    message = row(message.id)
    assert (message.status, message.attempts, message.last_error) == ("dead", 1, f"HTTP {status}")
    [dead] = audit_events(EventTag.MESSAGE_DEAD)
    assert dead.details["permanent"] is True and dead.details["error"] == f"HTTP {status}"


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_a_gateway_429_408_or_5xx_is_retried(user, gateway, frozen, time_machine, status):
    gateway.statuses = [status]
    message = queue_sms(user)
    assert deliver_due() == {**NOTHING, "retried": 1}
    time_machine.shift(timedelta(seconds=settings().messaging.retry_seconds))
    assert deliver_due() == {**NOTHING, "sent": 1}
    assert row(message.id).status == "sent" and len(delivered_bodies(gateway)) == 1


def test_sms_rows_have_no_message_id(user, gateway):
    message = queue_sms(user)
    assert row(message.id).message_id is None
