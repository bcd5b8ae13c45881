"""The delivery worker against a local SMS gateway: retries with backoff, dead letters, no double sends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from idp.audit import EventTag
from idp.extensions import db
from idp.messaging import deliver_due, send
from idp.messaging.queue import attempt, due
from idp.models import OutboxMessage
from tests.helpers import audit_events, tomorrow_at
from tests.messaging.conftest import delivered_bodies

T0 = tomorrow_at(9)


@pytest.fixture
def settings_overrides(gateway):
    return {"messaging": {"sms_transport": "http", "http_url": gateway.url, "retry_seconds": 30.0,
                          "max_attempts": 5}}


def queue_sms(user, code: str = "305917") -> OutboxMessage:
    message = send("sms", "+31612345678", "login_code", user=user, locale="en", code=code, minutes=5,
                   portal="Huisartsportaal")
    db.session.commit()
    return message


def test_a_gateway_that_fails_three_times_then_recovers_gets_the_message_once(user, gateway, time_machine):
    time_machine.move_to(T0, tick=False)
    message = queue_sms(user)
    gateway.statuses = [500, 500, 500]
    waits = []
    for _ in range(3):
        assert deliver_due() == {"sent": 0, "retried": 1, "dead": 0, "cancelled": 0}
        assert deliver_due() == {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}  # not due again before its backoff
        db.session.refresh(message)
        waits.append(message.next_attempt_at - datetime.now(UTC))
        time_machine.move_to(message.next_attempt_at, tick=False)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert deliver_due() == {"sent": 1, "retried": 0, "dead": 0, "cancelled": 0}
    time_machine.move_to(T0 + timedelta(days=1), tick=False)
    assert deliver_due() == {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}

    assert len(gateway.requests) == 4
    assert delivered_bodies(gateway) == [
        "305917 is your sign-in code for Huisartsportaal, valid for 5 minutes. Never share it."]
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("sent", 4)
    assert message.sent_at == T0 + timedelta(seconds=210)
    assert message.last_error is None
    [event] = audit_events(EventTag.MESSAGE_SENT)
    assert event.subject_user_id == user.id
    assert event.details == {"message_id": message.id, "channel": "sms", "template": "login_code",
                             "attempts": 4}


def test_after_the_last_attempt_the_message_is_dead_and_audited(user, gateway, time_machine):
    time_machine.move_to(T0, tick=False)
    message = queue_sms(user)
    gateway.statuses = [503] * 10
    outcomes = []
    for hour in range(1, 8):
        outcomes.append(deliver_due())
        time_machine.move_to(T0 + timedelta(hours=hour), tick=False)
    assert [o["retried"] for o in outcomes] == [1, 1, 1, 1, 0, 0, 0]
    assert [o["dead"] for o in outcomes] == [0, 0, 0, 0, 1, 0, 0]
    assert len(gateway.requests) == 5
    db.session.refresh(message)
    assert message.status == "dead" and message.attempts == 5 and message.last_error == "HTTP 503"
    [event] = audit_events(EventTag.MESSAGE_DEAD)
    assert event.outcome == "failure" and event.details["error"] == "HTTP 503"
    assert "305917" not in str(event.details) and audit_events(EventTag.MESSAGE_SENT) == []


@pytest.mark.parametrize("settings_overrides", [{"messaging": {"sms_transport": "http",
                                                                "http_url": "http://127.0.0.1:1/sms"}}])
def test_an_unreachable_gateway_is_retried_with_a_short_error(user, time_machine):
    time_machine.move_to(T0, tick=False)
    message = queue_sms(user)
    assert deliver_due() == {"sent": 0, "retried": 1, "dead": 0, "cancelled": 0}
    db.session.refresh(message)
    assert message.last_error == "HTTP ConnectionError" and message.status == "pending"


def test_a_message_claimed_by_another_worker_is_left_alone(user, gateway):
    message = queue_sms(user)
    # Both workers found it due with 0 attempts; the first claims it, the second's claim fails.
    [found] = due()
    assert (found.id, found.attempts) == (message.id, 0)
    assert attempt(found) == "sent"
    assert attempt(found) is None
    assert len(gateway.requests) == 1


def test_two_workers_racing_never_send_a_message_twice(app, user, gateway):
    codes = [f"{n:06d}" for n in range(20)]
    for code in codes:
        queue_sms(user, code)
    totals = []

    def worker():
        with app.app_context():
            totals.append(deliver_due())
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(t["sent"] for t in totals) == 20
    bodies = delivered_bodies(gateway)
    assert len(bodies) == 20 and sorted(body.split()[0] for body in bodies) == codes
