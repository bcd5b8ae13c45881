"""The one delivery queue with its back-channel logout channel: the same retries, dead items and hand-over as
e-mail and SMS, each channel through its own transport and on its own schedule.

A portal's back-channel endpoint is a real HTTP server on loopback that validates the logout token against
the provider's JWKS; mail goes to the file transport. The clock stands still (`frozen`) and moves with
time_machine.shift, so every time compared is relative to the data the test made.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from idp import clock, sessions
from idp.audit import EventTag
from idp.extensions import db
from idp.messaging import dead_letters, deliver_due, read, retry_dead, send, wait_for_background
from idp.messaging.queue import INLINE
from idp.models import OutboxMessage, SsoSession, User
from tests.helpers import audit_events

NOTHING = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}


@pytest.fixture
def settings_overrides():
    return {"logout": {"backchannel_attempts": 3, "backchannel_retry_seconds": 10.0}}


@pytest.fixture
def inline(app):
    """The first attempt is made before commit() returns, as the CLI does, so the test sees it."""
    app.config[INLINE] = True


def signed_in_at(user: User, portal) -> SsoSession:
    session, _ = sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now())
    sessions.add_client(session, portal)
    db.session.commit()
    return session


def rows(channel: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == channel)
                                   .order_by(OutboxMessage.id)))


def mail_file(app) -> list[dict]:
    path = Path(app.instance_path) / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_refused_logout_is_retried_after_its_backoff_dies_after_its_last_attempt_and_can_be_retried(
        inline, user, listening_portal, frozen, time_machine):
    portal, receiver = listening_portal(fail_first=3)
    session = signed_in_at(user, portal)

    sessions.end(session)
    db.session.commit()  # first attempt at once: 503

    [logout] = rows("backchannel")
    assert (logout.status, logout.attempts, logout.last_error) == ("pending", 1, "HTTP 503")
    assert logout.next_attempt_at == frozen + timedelta(seconds=10)
    time_machine.shift(timedelta(seconds=9))
    assert deliver_due() == NOTHING  # not before its backoff
    time_machine.shift(timedelta(seconds=1))
    assert deliver_due() == {"sent": 0, "retried": 1, "dead": 0, "cancelled": 0}
    [logout] = rows("backchannel")
    assert logout.next_attempt_at == clock.now() + timedelta(seconds=20)  # twice the first wait
    time_machine.shift(timedelta(seconds=20))
    assert deliver_due() == {"sent": 0, "retried": 0, "dead": 1, "cancelled": 0}
    time_machine.shift(timedelta(hours=1))
    assert deliver_due() == NOTHING  # dead stays dead

    [logout] = rows("backchannel")
    assert (logout.status, logout.attempts, logout.last_error) == ("dead", 3, "HTTP 503")
    assert len(receiver.posts) == 3 and receiver.accepted == []
    assert [m.id for m in dead_letters()] == [logout.id]
    [failed] = audit_events(EventTag.BACKCHANNEL_LOGOUT_FAILED)
    assert (failed.outcome, failed.client_id, failed.subject_user_id) == ("failure", portal.client_id, user.id)
    assert failed.details["sid"] == session.sid and failed.details["error"] == "HTTP 503"

    retry_dead(logout.id)  # the portal is back (it accepts from now on)
    db.session.commit()
    assert deliver_due() == {"sent": 1, "retried": 0, "dead": 0, "cancelled": 0}

    [claims] = receiver.accepted  # an hour after the logout: a fresh token, or the portal would refuse it
    assert claims["sid"] == session.sid and claims["iat"] == clock.timestamp(clock.now())
    [logout] = rows("backchannel")
    assert (logout.status, logout.attempts, logout.sent_at) == ("sent", 1, clock.now())
    assert dead_letters() == []
    [sent] = audit_events(EventTag.BACKCHANNEL_LOGOUT_SENT)
    assert sent.client_id == portal.client_id and sent.details["attempts"] == 1


def test_one_pass_sends_a_mail_and_a_logout_each_through_its_own_transport(
        app, inline, user, listening_portal, frozen, time_machine):
    portal, receiver = listening_portal(fail_first=1)
    session = signed_in_at(user, portal)

    send("email", user.email, "recovery_codes_created", user=user, locale="en", account_url="http://x")
    sessions.end(session)
    db.session.commit()
    # Each on its own schedule: the logout was tried at once, the mail waits for the worker.
    assert [m.attempts for m in rows("backchannel")] == [1] and len(receiver.posts) == 1
    assert [m.attempts for m in rows("email")] == [0] and mail_file(app) == []

    time_machine.shift(timedelta(seconds=10))
    assert deliver_due() == {"sent": 2, "retried": 0, "dead": 0, "cancelled": 0}

    [mail] = mail_file(app)
    assert mail["to"] == user.email and mail["channel"] == "email"
    [claims] = receiver.accepted
    assert claims["sid"] == session.sid and claims["aud"] == portal.client_id
    assert [m.status for m in rows("email")] == ["sent"] and [m.status for m in rows("backchannel")] == ["sent"]
    [message_sent] = audit_events(EventTag.MESSAGE_SENT)
    assert message_sent.details["channel"] == "email"
    [logout_sent] = audit_events(EventTag.BACKCHANNEL_LOGOUT_SENT)
    assert logout_sent.client_id == portal.client_id and logout_sent.details["attempts"] == 2


def test_a_logout_is_an_encrypted_row_addressed_to_the_portal(inline, user, listening_portal):
    portal, receiver = listening_portal(fail_first=1)
    session = signed_in_at(user, portal)

    [queued] = sessions.end(session)
    db.session.commit()

    [logout] = rows("backchannel")
    assert logout.id == queued.id and logout.client_id == portal.id and logout.user_id == user.id
    to, subject, token = read(logout)
    assert (to, subject) == (portal.client_id, None)
    assert token == receiver.posts[0]["form"]["logout_token"]
    assert token not in logout.body_encrypted and session.sid not in logout.body_encrypted


@pytest.mark.parametrize("mode", ["inline", "background"])
def test_a_rolled_back_logout_tells_no_portal(app, user, listening_portal, mode):
    app.config[INLINE] = mode == "inline"
    portal, receiver = listening_portal()
    session = signed_in_at(user, portal)

    sessions.end(session)
    db.session.rollback()
    db.session.commit()  # a later commit must not carry the rolled-back logout along
    wait_for_background(app)
    assert receiver.posts == [] and rows("backchannel") == []

    sessions.end(db.session.get(SsoSession, session.id))
    db.session.commit()
    wait_for_background(app)
    assert len(receiver.accepted) == 1
    assert [m.status for m in rows("backchannel")] == ["sent"]


def test_each_channel_is_scheduled_by_its_own_settings(tmp_path):
    from idp.messaging.queue import CHANNELS, Schedule
    from idp.settings import load

    config = tmp_path / "config.toml"
    config.write_text("[logout]\nbackchannel_timeout_seconds = 4.0\nbackchannel_attempts = 5\n"
                      "backchannel_retry_seconds = 1.5\nbackchannel_attempts_at_once = 3\n\n"
                      "[messaging]\nmax_attempts = 6\nretry_seconds = 20.0\n"
                      "code_max_attempts = 7\ncode_retry_seconds = 1.0\nsmtp_timeout_seconds = 12.0\n")
    cfg = load(environ={"IDP_CONFIG": str(config), "IDP_SERVER_DEV_MODE": "true",
                        "IDP_SERVER_INSTANCE_PATH": str(tmp_path)})

    assert CHANNELS["backchannel"].schedule(cfg, OutboxMessage(channel="backchannel")) == Schedule(
        attempts=5, first_retry_seconds=1.5, lease_seconds=9.0, at_once=True, at_once_attempts=3)
    for channel in ("email", "sms"):
        assert CHANNELS[channel].schedule(cfg, OutboxMessage(channel=channel)) == Schedule(
            attempts=6, first_retry_seconds=20.0, lease_seconds=58.0, at_once=False, at_once_attempts=1)
        # A message carrying a one-time code: its own short schedule.
        assert CHANNELS[channel].schedule(cfg, OutboxMessage(channel=channel, code_id=1)) == Schedule(
            attempts=7, first_retry_seconds=1.0, lease_seconds=58.0, at_once=False, at_once_attempts=1)


def test_the_default_logout_schedule_spans_hours():
    from idp.settings import LogoutSettings

    logout = LogoutSettings()
    waits = [logout.backchannel_retry_seconds * 2 ** n for n in range(logout.backchannel_attempts - 1)]
    assert logout.backchannel_attempts_at_once == 2 and waits[0] <= 10
    assert timedelta(hours=5) < timedelta(seconds=sum(waits)) < timedelta(hours=7)
