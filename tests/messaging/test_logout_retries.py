"""Issue 17 part 5: a back-channel logout is retried over hours through the one durable queue, and one given
up on is visible to admins (`idp messages dead`, the console's messages page) by its portal, never by the
person, and sent again by either.

The first attempt is made at once (queue.INLINE, as the CLI does); the worker (deliver_due) makes the later
ones when the clock, moved relative to the row, reaches its next attempt. The portal is a real HTTP server on
loopback that validates the logout token against the provider's JWKS.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from idp import clock, sessions
from idp.extensions import db
from idp.messaging import deliver_due
from idp.messaging.queue import INLINE
from idp.models import OutboxMessage
from tests.flows.admin_helpers import make_world
from tests.flows.test_admin_console import session_for, token_of
from tests.helpers import english_browser
from tests.messaging.test_queue import rows, signed_in_at

SENT_ONE = {"sent": 1, "retried": 0, "dead": 0, "cancelled": 0}


@pytest.fixture
def settings_overrides():
    return {"logout": {"backchannel_retry_seconds": 10.0}}  # the default (tests elsewhere run on 0.05 s)


@pytest.fixture
def inline(app):
    app.config[INLINE] = True


def run_until_dead(logout: OutboxMessage, time_machine) -> list:
    """The worker's passes, each when the row is next due; returns the instants of the attempts."""
    tried_at = [clock.now()]
    for _ in range(30):
        db.session.refresh(logout)
        if logout.status != "pending":
            break
        time_machine.move_to(clock.aware(logout.next_attempt_at), tick=False)
        deliver_due()
        tried_at.append(clock.now())
    return tried_at


def test_a_logout_refused_for_hours_is_listed_by_its_portal_and_sent_again_by_the_cli(
        app, inline, user, listening_portal, frozen, time_machine):
    portal, receiver = listening_portal(fail_first=99)
    session = signed_in_at(user, portal)
    sessions.end(session)
    db.session.commit()
    [logout] = rows("backchannel")

    # An hour in it is still being tried: not dead, not listed.
    time_machine.shift(timedelta(hours=1))
    deliver_due()
    db.session.refresh(logout)
    assert logout.status == "pending" and logout.attempts < 12
    runner = app.test_cli_runner()
    assert json.loads(runner.invoke(args=["messages", "dead", "--json"]).output) == []

    tried_at = run_until_dead(logout, time_machine)
    assert (logout.status, logout.attempts) == ("dead", 12)
    assert timedelta(hours=5) < tried_at[-1] - frozen < timedelta(hours=7)
    assert len(receiver.posts) == 12

    listed = runner.invoke(args=["messages", "dead", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert row == {"id": logout.id, "channel": "backchannel", "template": "logout", "portal": portal.client_id,
                   "attempts": 12, "created_at": logout.created_at.isoformat(), "last_error": "HTTP 503"}
    for personal in (user.email, user.sub, user.name, session.sid):
        assert personal not in listed.output

    receiver.fail_first = 0  # the portal is fixed
    retried = runner.invoke(args=["messages", "retry", str(logout.id)])
    assert retried.exit_code == 0 and f"message {logout.id} queued again" in retried.output
    assert deliver_due() == SENT_ONE
    [claims] = receiver.accepted  # hours after the logout, a fresh token the portal accepts
    assert claims["sid"] == session.sid and claims["iat"] == clock.timestamp(clock.now())
    db.session.refresh(logout)
    assert (logout.status, logout.attempts) == ("sent", 1)
    assert json.loads(runner.invoke(args=["messages", "dead", "--json"]).output) == []


def test_a_dead_logout_is_on_the_console_by_its_portal_and_sent_again_from_there(
        app, inline, listening_portal, frozen, time_machine):
    world = make_world()
    person = world["pro"]
    portal, receiver = listening_portal(fail_first=99)
    session = signed_in_at(person, portal)
    sessions.end(session)
    db.session.commit()
    [logout] = rows("backchannel")
    run_until_dead(logout, time_machine)
    assert logout.status == "dead"

    browser = english_browser(app)
    session_for(browser, world["deployment"])
    page = browser.get("/admin/messages").get_data(as_text=True)
    assert "Sign-out message to a portal" in page and f"To: {portal.client_id}" in page
    assert "Kind: logout" in page and "12 attempts" in page and "HTTP 503" in page
    for personal in (person.email, person.sub, person.name, session.sid):
        assert personal not in page

    receiver.fail_first = 0
    url = f"/admin/messages/{logout.id}/retry"
    done = browser.post(url, data={"csrf_token": token_of(browser, url)})
    assert done.status_code == 302
    db.session.refresh(logout)
    assert (logout.status, logout.attempts) == ("pending", 0)
    assert deliver_due() == SENT_ONE
    [claims] = receiver.accepted
    assert claims["sid"] == session.sid and claims["sub"] == person.sub
    assert f"To: {portal.client_id}" not in browser.get("/admin/messages").get_data(as_text=True)
