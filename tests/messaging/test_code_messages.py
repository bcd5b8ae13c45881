"""Issue 17 part 5: a message that carries a one-time code is retried within seconds, never after its code
expired, and never once a newer code replaced it (or it was used): it is cancelled instead, audited.

The codes are sent as the account and sign-in pages send them (idp.accounts.factors: a phone number to
confirm, a new code on request), to a real SMS gateway on loopback that fails on cue; the worker is
deliver_due; the clock stands still and moves relative to the rows the test made.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import factors
from idp.audit import EventTag
from idp.extensions import db
from idp.messaging import deliver_due, erase_old, read, retry_all_dead, send, undelivered
from idp.messaging.queue import attempt, due
from idp.models import OutboxMessage
from idp.runtime import settings
from idp.security import codes
from tests.flows.admin_helpers import make_world
from tests.flows.test_admin_console import session_for
from tests.helpers import audit_events, english_browser
from tests.messaging.conftest import delivered_bodies

PHONE = "+31612345678"
FLOW = "flow-1"
NOTHING = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}


@pytest.fixture
def settings_overrides(gateway):
    return {"messaging": {"sms_transport": "http", "http_url": gateway.url}}


def sms_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")
                                   .order_by(OutboxMessage.id)))


def text_of(message: OutboxMessage) -> str:
    return read(message)[2]


def first_code(user):
    factor = factors.start_sms(user, PHONE, flow_uid=FLOW)
    db.session.commit()
    return factor


def test_a_code_replaced_while_its_sms_waits_is_never_sent_only_the_new_one_is(user, gateway, frozen, time_machine):
    gateway.statuses = [503]  # the gateway is down for code A's first attempt
    factor = first_code(user)
    assert deliver_due() == {**NOTHING, "retried": 1}
    [code_a] = sms_rows()
    assert code_a.code_id is not None and code_a.status == "pending"

    time_machine.shift(timedelta(seconds=settings().codes.resend_seconds))
    factors.resend(user, factor, flow_uid=FLOW)  # the person asks for a new code: B
    db.session.commit()

    code_a, code_b = sms_rows()
    assert (code_a.status, code_a.last_error) == ("cancelled", "code replaced")
    assert code_b.status == "pending" and code_b.code_id != code_a.code_id
    [cancelled] = audit_events(EventTag.MESSAGE_CANCELLED)
    assert cancelled.details["reason"] == "code replaced" and cancelled.details["message_id"] == code_a.id
    assert cancelled.subject_user_id == user.id and text_of(code_a) not in str(cancelled.details)

    # The gateway recovers: only B goes out, now and later.
    assert deliver_due() == {**NOTHING, "sent": 1}
    time_machine.shift(timedelta(minutes=10))
    assert deliver_due() == NOTHING
    assert delivered_bodies(gateway) == [text_of(code_b)]
    assert [r.status for r in sms_rows()] == ["cancelled", "sent"]


def test_a_row_a_worker_found_due_before_the_new_code_is_not_sent(user, gateway, frozen, time_machine):
    gateway.statuses = [503]
    factor = first_code(user)
    deliver_due()
    time_machine.shift(timedelta(seconds=settings().codes.resend_seconds))
    [found] = due()  # a worker finds A due ...
    factors.resend(user, factor, flow_uid=FLOW)  # ... and the new code is issued before it claims A
    db.session.commit()
    code_a, code_b = sms_rows()
    assert code_a.status == "cancelled"

    assert attempt(found) is None  # the claim finds it cancelled
    assert deliver_due() == {**NOTHING, "sent": 1}
    assert delivered_bodies(gateway) == [text_of(code_b)]
    assert len(gateway.requests) == 2  # A's failed first try and B


def test_each_attempt_checks_the_code_again_just_before_it_sends(user, gateway, frozen, time_machine):
    gateway.statuses = [503]
    first_code(user)
    deliver_due()
    # A newer code for the same person and purpose, issued where no message of it was queued (yet): the
    # waiting row is not cancelled at once, but its next attempt sees that its code was replaced.
    time_machine.shift(timedelta(seconds=settings().codes.resend_seconds))
    codes.issue(user, channel="sms", purpose="enrol:sms", destination=PHONE, flow_uid=FLOW)
    db.session.commit()
    [code_a] = sms_rows()
    assert code_a.status == "pending"

    assert deliver_due() == {**NOTHING, "cancelled": 1}
    [code_a] = sms_rows()
    assert (code_a.status, code_a.last_error) == ("cancelled", "code replaced")
    assert len(gateway.requests) == 1  # only the first, failed, attempt
    [cancelled] = audit_events(EventTag.MESSAGE_CANCELLED)
    assert cancelled.details["reason"] == "code replaced"


def test_a_code_already_used_is_not_sent_again(user, gateway, frozen, time_machine):
    # The gateway took the SMS but answered 503: the person has the code and types it, while the queue
    # still means to retry.
    gateway.statuses = [503]
    factor = first_code(user)
    deliver_due()
    [code_a] = sms_rows()
    factors.confirm(user, factor, text_of(code_a).split()[0], flow_uid=FLOW)
    db.session.commit()

    time_machine.shift(timedelta(seconds=2))
    assert deliver_due()["cancelled"] == 1  # (the mail saying a factor was added is sent)
    [code_a] = sms_rows()
    assert (code_a.status, code_a.last_error) == ("cancelled", "code used")
    assert len(gateway.requests) == 1


def test_a_code_is_retried_within_seconds_and_cancelled_when_it_would_expire(user, gateway, frozen, time_machine):
    gateway.statuses = [503] * 50
    first_code(user)
    [message] = sms_rows()
    assert message.expires_at == frozen + timedelta(seconds=settings().codes.ttl_seconds)
    tried_at = []
    while message.status == "pending":
        time_machine.move_to(clock.aware(message.next_attempt_at), tick=False)
        deliver_due()
        tried_at.append(clock.now() - frozen)
        [message] = sms_rows()

    # 2, 4, 8, 16 ... seconds apart; the retry after the one at 254 s would come after the code's 300 s.
    assert tried_at == [timedelta(seconds=s) for s in (0, 2, 6, 14, 30, 62, 126, 254)]
    assert (message.status, message.attempts, message.last_error) == ("cancelled", 8, "expired")
    assert len(gateway.requests) == 8 and delivered_bodies(gateway) == []
    [cancelled] = audit_events(EventTag.MESSAGE_CANCELLED)
    assert cancelled.details["reason"] == "expired" and cancelled.details["error"] == "HTTP 503"
    assert audit_events(EventTag.MESSAGE_DEAD) == []


def test_a_code_message_found_after_its_code_expired_is_cancelled_not_sent(user, gateway, frozen, time_machine):
    first_code(user)  # the worker is down ...
    time_machine.shift(timedelta(seconds=settings().codes.ttl_seconds))  # ... until the code has expired
    assert deliver_due() == {**NOTHING, "cancelled": 1}
    [message] = sms_rows()
    assert (message.status, message.last_error) == ("cancelled", "expired")
    assert gateway.requests == []


def test_a_message_without_a_code_keeps_the_long_schedule(user, gateway, frozen):
    gateway.statuses = [503]
    send("sms", PHONE, "login_code", user=user, locale="en", code="305917", minutes=5, portal="Huisartsportaal")
    db.session.commit()
    assert deliver_due() == {**NOTHING, "retried": 1}
    [message] = sms_rows()
    assert message.code_id is None and message.expires_at is None
    assert message.next_attempt_at == frozen + timedelta(seconds=settings().messaging.retry_seconds)


def test_a_dead_code_message_is_sent_again_only_while_its_code_lives(app, user, gateway, frozen, time_machine):
    gateway.statuses = [400, 400]  # the gateway refuses it for good (a 4xx): dead at once
    first_code(user)
    assert deliver_due() == {**NOTHING, "dead": 1}
    [message] = sms_rows()
    runner = app.test_cli_runner()

    time_machine.shift(timedelta(minutes=1))  # an admin fixes it while the code lives: sent again
    assert runner.invoke(args=["messages", "retry", str(message.id)]).exit_code == 0
    assert deliver_due() == {**NOTHING, "dead": 1}  # (refused once more)

    time_machine.shift(timedelta(seconds=settings().codes.ttl_seconds))  # the code has expired
    refused = runner.invoke(args=["messages", "retry", str(message.id)])
    assert refused.exit_code != 0
    assert f"message {message.id} carries a code that has expired" in refused.output
    assert retry_all_dead() == ([], [message.id])
    [listed] = undelivered.listed()
    assert listed.expired and not listed.retryable
    browser = english_browser(app)
    session_for(browser, make_world()["deployment"])
    page = browser.get("/admin/messages").get_data(as_text=True)
    assert "Not to be sent again: the code in it has expired." in page
    assert f"/admin/messages/{message.id}/retry" not in page
    [message] = sms_rows()
    assert message.status == "dead" and len(gateway.requests) == 2


def test_the_text_of_a_cancelled_message_is_erased_with_the_others(user, gateway, frozen, time_machine):
    factor = first_code(user)
    time_machine.shift(timedelta(seconds=settings().codes.resend_seconds))
    factors.resend(user, factor, flow_uid=FLOW)
    db.session.commit()
    time_machine.shift(timedelta(hours=settings().messaging.retention_hours, seconds=1))
    assert erase_old() == 1
    db.session.commit()
    code_a, code_b = sms_rows()
    assert (code_a.status, code_a.body_encrypted) == ("cancelled", None)
    assert code_b.status == "pending" and code_b.body_encrypted
