"""SSO sessions: idle and absolute lifetimes from settings, ended at once, and cheap to keep alive."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import event, select

from idp import clock, sessions
from idp.accounts.users import disable
from idp.audit import EventTag
from idp.extensions import db
from idp.models import SsoSession
from tests.helpers import query
from tests.oidc.logout_helpers import PASSWORD, audit

IDLE = timedelta(minutes=5)
ABSOLUTE = timedelta(hours=1)


@pytest.fixture
def settings_overrides():
    return {"session": {"idle_minutes": 5, "absolute_hours": 1}}


@pytest.fixture
def frozen():
    with time_machine.travel(clock.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def sid(rp, user, frozen):
    """Anna signed in at the portal (with the clock stopped); the sid of her SSO session."""
    return rp.decode_id_token(rp.tokens(user.email, PASSWORD)["id_token"])["sid"]


def silent_sign_in(rp) -> dict:
    """What a portal gets when it checks the session without showing anything (prompt=none)."""
    return query(rp.authorize(prompt="none").location)


def session_row(sid: str) -> SsoSession:
    row = db.session.scalar(select(SsoSession).where(SsoSession.sid == sid))
    db.session.refresh(row)
    return row


def test_session_survives_within_the_idle_time(rp, sid, frozen):
    frozen.shift(IDLE - timedelta(seconds=1))
    assert "code" in silent_sign_in(rp)


def test_idle_session_asks_for_the_password_again(rp, sid, frozen):
    frozen.shift(IDLE + timedelta(seconds=1))

    assert silent_sign_in(rp)["error"] == "login_required"
    response = rp.authorize()
    assert response.status_code == 302 and response.location.startswith("/login/")
    assert "password" in rp.client.get(response.location).get_data(as_text=True)


def test_activity_keeps_the_session_alive_past_the_idle_time(rp, sid, frozen):
    for _ in range(4):  # 16 minutes in all, never 5 minutes idle
        frozen.shift(timedelta(minutes=4))
        assert "code" in silent_sign_in(rp)


def test_absolute_lifetime_ends_the_session_despite_activity(rp, sid, frozen):
    for _ in range(14):  # 56 minutes of steady use
        frozen.shift(timedelta(minutes=4))
        assert "code" in silent_sign_in(rp)
    frozen.shift(timedelta(minutes=4, seconds=1))  # past the hour, not idle

    assert silent_sign_in(rp)["error"] == "login_required"


def test_signing_in_again_after_expiry_opens_a_new_session(rp, user, sid, frozen):
    frozen.shift(IDLE + timedelta(seconds=1))
    tokens = rp.tokens(user.email, PASSWORD)

    assert rp.decode_id_token(tokens["id_token"])["sid"] != sid
    assert "code" in silent_sign_in(rp)


def test_last_seen_is_not_written_on_every_request(app, rp, sid, frozen):
    signed_in_at = session_row(sid).last_seen_at
    writes = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE SSO_SESSION"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            frozen.shift(timedelta(seconds=2))
            assert "code" in silent_sign_in(rp)
        assert writes == []
        assert session_row(sid).last_seen_at == signed_in_at

        frozen.shift(timedelta(seconds=30))
        assert "code" in silent_sign_in(rp)
        assert len(writes) == 1
        assert session_row(sid).last_seen_at == clock.now()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_disabling_the_user_ends_the_session_at_once(rp, user, sid):
    disable(user)
    db.session.commit()

    assert silent_sign_in(rp)["error"] == "login_required"
    assert session_row(sid).ended_at is not None
    [logout] = audit(EventTag.LOGOUT)
    assert logout.details == {"sid": sid, "reason": "user disabled"}


def test_logout_ends_the_session_at_once(client, rp, sid):
    session_cookie = client.get_cookie("idp_sso").value
    id_token = rp.exchange(silent_sign_in(rp)["code"]).get_json()["id_token"]
    client.get("/logout", query_string={"id_token_hint": id_token})

    client.set_cookie("idp_sso", session_cookie)  # even a kept copy of the cookie is worthless now
    assert silent_sign_in(rp)["error"] == "login_required"
    assert session_row(sid).ended_at is not None


def test_expired_sessions_are_ended_and_audited_by_the_sweep(rp, sid, frozen):
    frozen.shift(IDLE + timedelta(seconds=1))
    sessions.end_expired()
    db.session.commit()

    assert session_row(sid).ended_at == clock.now()
    [logout] = audit(EventTag.LOGOUT)
    assert logout.details == {"sid": sid, "reason": "expired"}


def test_the_sweep_leaves_live_sessions_alone(rp, sid, frozen):
    frozen.shift(IDLE - timedelta(seconds=1))
    sessions.end_expired()
    db.session.commit()

    assert session_row(sid).ended_at is None
    assert audit(EventTag.LOGOUT) == []
