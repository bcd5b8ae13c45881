"""Back-channel logout (OIDC Back-Channel Logout 1.0): every portal of the SSO session hears of its end.

Each portal's back-channel endpoint is a real HTTP server on a loopback port that validates the logout
token against the provider's JWKS. A logout is a row of the delivery queue (channel "backchannel"); its
first attempt is made inline (queue.INLINE, as the CLI does); retries happen when deliver_due() runs after
the clock has moved on.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from joserfc import jws
from sqlalchemy import select

from idp import clock, sessions
from idp.accounts.users import disable
from idp.audit import EventTag
from idp.extensions import db
from idp.messaging import deliver_due, deliver_in_background, pending, stop_background
from idp.messaging.queue import INLINE
from idp.models import OutboxMessage, SsoSession
from tests.helpers import RelyingParty
from tests.oidc.backchannel_receiver import BackchannelReceiver, closed_port_uri
from tests.oidc.logout_helpers import PASSWORD, audit, confirm_page

FORM = "application/x-www-form-urlencoded"
NOTHING = {"sent": 0, "retried": 0, "dead": 0, "cancelled": 0}


@pytest.fixture(autouse=True)
def inline_delivery(app):
    app.config[INLINE] = True


@pytest.fixture
def listening_portal(make_portal, client):
    """A portal whose back-channel logout URI is a live receiver: (portal, receiver)."""
    opened: list[BackchannelReceiver] = []

    def make(fail_first: int = 0, **kw):
        receiver = BackchannelReceiver(fail_first=fail_first).__enter__()
        opened.append(receiver)
        portal = make_portal(backchannel_logout_uri=receiver.uri, **kw)
        receiver.client_id = portal.client_id
        receiver.algorithms = [portal.id_token_alg]
        receiver.jwks = client.get("/jwks.json").get_json()
        return portal, receiver

    yield make
    for receiver in opened:
        receiver.__exit__()


@pytest.fixture
def frozen():
    with time_machine.travel(clock.now(), tick=False) as traveller:
        yield traveller


def logout_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "backchannel")))


def log_out(client, rp: RelyingParty, id_token: str):
    response = client.get("/logout?" + urlencode({
        "id_token_hint": id_token, "post_logout_redirect_uri": rp.portal.post_logout_redirect_uris[0]}))
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def test_logout_at_one_portal_tells_every_portal_of_the_session(client, user, listening_portal):
    huisarts, huisarts_bc = listening_portal()
    apotheek, apotheek_bc = listening_portal()
    _bystander, bystander_bc = listening_portal()  # registered, listening, but never signed in to
    at_huisarts, at_apotheek = RelyingParty(client, huisarts), RelyingParty(client, apotheek)
    huisarts_id = at_huisarts.decode_id_token(at_huisarts.tokens(user.email, PASSWORD)["id_token"])
    apotheek_tokens = at_apotheek.tokens(user.email, PASSWORD)  # single sign-on: no password asked
    apotheek_id = at_apotheek.decode_id_token(apotheek_tokens["id_token"])
    assert apotheek_id["sid"] == huisarts_id["sid"]

    log_out(client, at_apotheek, apotheek_tokens["id_token"])

    for receiver, id_claims in ((huisarts_bc, huisarts_id), (apotheek_bc, apotheek_id)):
        assert receiver.rejected == []
        assert [p["content_type"] for p in receiver.posts] == [FORM]
        [claims] = receiver.accepted
        assert claims["sid"] == id_claims["sid"]
        assert claims["sub"] == user.sub == id_claims["sub"]
        assert claims["aud"] == receiver.client_id
    assert bystander_bc.posts == []
    assert sorted(e.client_id for e in audit(EventTag.BACKCHANNEL_LOGOUT_SENT)) == sorted(
        [huisarts.client_id, apotheek.client_id])


def test_logout_token_carries_exactly_the_spec_claims(client, user, listening_portal):
    portal, receiver = listening_portal(id_token_alg="ES256")
    rp = RelyingParty(client, portal)
    tokens = rp.tokens(user.email, PASSWORD)
    id_header = jws.extract_compact(tokens["id_token"].encode()).headers()

    log_out(client, rp, tokens["id_token"])

    [post] = receiver.posts
    header = jws.extract_compact(post["form"]["logout_token"].encode()).headers()
    assert header == {"alg": "ES256", "typ": "logout+jwt", "kid": id_header["kid"]}
    [claims] = receiver.accepted
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti", "sub", "sid", "events"}
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert claims["exp"] > claims["iat"]


def test_portal_failing_twice_gets_the_token_exactly_once(client, user, listening_portal, frozen):
    portal, receiver = listening_portal(fail_first=2)
    rp = RelyingParty(client, portal)
    log_out(client, rp, rp.tokens(user.email, PASSWORD)["id_token"])
    assert len(receiver.posts) == 1 and receiver.accepted == []

    assert deliver_due() == NOTHING  # the retry waits for its backoff
    frozen.shift(timedelta(seconds=5))
    assert deliver_due() == {"sent": 0, "retried": 1, "dead": 0, "cancelled": 0}  # second attempt: 503 again
    frozen.shift(timedelta(seconds=5))
    assert deliver_due() == {"sent": 1, "retried": 0, "dead": 0, "cancelled": 0}
    frozen.shift(timedelta(minutes=5))
    assert deliver_due() == NOTHING  # delivered means done

    assert len(receiver.posts) == 3 and len(receiver.accepted) == 1
    [delivery] = logout_rows()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, None)
    assert delivery.sent_at == clock.now() - timedelta(minutes=5)
    [sent] = audit(EventTag.BACKCHANNEL_LOGOUT_SENT)
    assert sent.details["attempts"] == 3 and sent.client_id == portal.client_id
    assert audit(EventTag.BACKCHANNEL_LOGOUT_FAILED) == []


@pytest.mark.parametrize("settings_overrides", [{"logout": {"backchannel_retry_seconds": 10.0}}])
@pytest.mark.parametrize("broken", ["refuses", "unreachable"])
def test_portal_that_never_accepts_is_retried_for_hours_then_given_up_and_audited(
        client, user, make_portal, listening_portal, frozen, broken):
    receiver = None
    if broken == "refuses":
        portal, receiver = listening_portal(fail_first=99)
    else:
        portal = make_portal(backchannel_logout_uri=closed_port_uri())
    rp = RelyingParty(client, portal)
    log_out(client, rp, rp.tokens(user.email, PASSWORD)["id_token"])
    logged_out_at = clock.now()
    tried_at = [logged_out_at]
    for _ in range(20):  # the worker, each time the row is due again
        [delivery] = logout_rows()
        if delivery.status != "pending":
            break
        frozen.move_to(delivery.next_attempt_at)
        deliver_due()
        tried_at.append(clock.now())

    [delivery] = logout_rows()
    assert delivery.attempts == 12  # logout.backchannel_attempts (the default), then no more
    assert delivery.status == "dead" and delivery.sent_at is None
    assert delivery.last_error == ("HTTP 503" if broken == "refuses" else "ConnectionError")
    waits = [later - earlier for earlier, later in itertools.pairwise(tried_at)]
    assert waits == [timedelta(seconds=10 * 2 ** n) for n in range(11)]  # 10 s, 20 s, ... 2.8 hours
    assert tried_at[-1] - logged_out_at > timedelta(hours=5)
    if receiver is not None:
        assert len(receiver.posts) == 12
    [failed] = audit(EventTag.BACKCHANNEL_LOGOUT_FAILED)
    assert failed.outcome == "failure" and failed.client_id == portal.client_id
    assert audit(EventTag.BACKCHANNEL_LOGOUT_SENT) == []
    frozen.shift(timedelta(days=1))
    assert deliver_due() == NOTHING  # dead stays dead until an admin sends it again


def test_a_failing_portal_does_not_hold_up_the_others(client, user, listening_portal):
    broken, broken_bc = listening_portal(fail_first=99)
    working, working_bc = listening_portal()
    RelyingParty(client, broken).tokens(user.email, PASSWORD)
    rp = RelyingParty(client, working)
    log_out(client, rp, rp.tokens(user.email, PASSWORD)["id_token"])

    assert len(working_bc.accepted) == 1
    assert len(broken_bc.posts) == 1 and broken_bc.accepted == []
    assert [d.client.client_id for d in pending()] == [broken.client_id]


def test_retry_long_after_the_logout_sends_a_token_that_is_still_valid(client, user, listening_portal, frozen):
    portal, receiver = listening_portal(fail_first=1)
    rp = RelyingParty(client, portal)
    log_out(client, rp, rp.tokens(user.email, PASSWORD)["id_token"])
    frozen.shift(timedelta(hours=1))  # the portal was down for an hour

    assert deliver_due() == {"sent": 1, "retried": 0, "dead": 0, "cancelled": 0}

    first, second = (p["form"]["logout_token"] for p in receiver.posts)
    assert first != second
    [claims] = receiver.accepted  # a stale token (exp passed) would have been refused with 400
    assert claims["iat"] == clock.timestamp(clock.now())


def test_disabling_a_user_logs_them_out_at_their_portals(client, user, listening_portal):
    portal, receiver = listening_portal()
    rp = RelyingParty(client, portal)
    sid = rp.decode_id_token(rp.tokens(user.email, PASSWORD)["id_token"])["sid"]

    disable(user)
    db.session.commit()
    deliver_due()

    [claims] = receiver.accepted
    assert claims["sid"] == sid and claims["sub"] == user.sub


def test_confirmed_logout_without_hint_tells_the_portals(client, user, listening_portal):
    portal, receiver = listening_portal()
    RelyingParty(client, portal).tokens(user.email, PASSWORD)
    confirm_page(client)
    assert receiver.posts == []

    response = client.post("/logout", data={"csrf_token": confirm_page(client)[1], "confirm": "yes"})

    assert response.status_code == 200
    assert len(receiver.accepted) == 1


def test_background_sender_makes_the_first_attempts_and_leaves_the_rest_to_the_worker(
        app, client, user, listening_portal):
    """The production path: a thread of its own makes the first logout.backchannel_attempts_at_once attempts
    (the retry after 0.05 s in tests), then `idp worker` retries on the long schedule."""
    portal, receiver = listening_portal(fail_first=2)
    rp = RelyingParty(client, portal)
    sid = rp.decode_id_token(rp.tokens(user.email, PASSWORD)["id_token"])["sid"]
    session = db.session.scalar(select(SsoSession).where(SsoSession.sid == sid))
    deliveries = sessions.end(session, reason="test")
    db.session.commit()

    thread = deliver_in_background(app, [d.id for d in deliveries])
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert len(receiver.posts) == 2 and receiver.accepted == []
    [row] = logout_rows()
    assert (row.status, row.attempts) == ("pending", 2)
    assert deliver_due(now=clock.aware(row.next_attempt_at)) == {"sent": 1, "retried": 0, "dead": 0, "cancelled": 0}
    assert len(receiver.posts) == 3 and len(receiver.accepted) == 1
    db.session.expire_all()
    assert pending() == []


@pytest.mark.parametrize("settings_overrides", [{"logout": {"backchannel_retry_seconds": 60}}])
def test_stopping_the_background_sender_leaves_its_retries_to_the_worker(app, client, user, listening_portal):
    """At shutdown (and between tests) the thread makes no more attempts and writes nothing more."""
    portal, receiver = listening_portal(fail_first=5)
    rp = RelyingParty(client, portal)
    sid = rp.decode_id_token(rp.tokens(user.email, PASSWORD)["id_token"])["sid"]
    deliveries = sessions.end(db.session.scalar(select(SsoSession).where(SsoSession.sid == sid)), reason="test")
    db.session.commit()
    thread = deliver_in_background(app, [d.id for d in deliveries])
    receiver.wait_for_posts(1)

    stop_background(app, timeout=30)

    assert not thread.is_alive()
    assert len(receiver.posts) == 1
    [row] = logout_rows()
    assert row.status == "pending" and row.attempts == 1
