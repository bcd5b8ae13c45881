"""`idp worker` housekeeping: what nobody can use any more is deleted; what may still matter stays."""

from datetime import timedelta

import time_machine

from idp import clock
from idp.extensions import db
from idp.maintenance import purge
from idp.models import AuthorizationCode, PendingAuthorization, SsoSession, Token

PASSWORD = "correct horse battery"


def _count(model) -> int:
    db.session.expire_all()
    return db.session.query(model).count()


def test_nothing_live_is_purged(rp, user):
    tokens = rp.tokens(user.email, PASSWORD)
    counts = purge()
    assert counts["tokens"] == 0 and counts["authorization_codes"] == 0 and counts["sessions"] == 0
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_used_code_is_kept_while_what_it_bought_lives(rp, user, settings):
    callback = rp.sign_in(user.email, PASSWORD)
    assert rp.exchange(callback["code"]).status_code == 200
    with time_machine.travel(clock.now() + timedelta(days=2)):
        purge()
        assert _count(AuthorizationCode) == 1  # a replay now would still revoke the tokens
    refresh_life = timedelta(days=settings.tokens.refresh_token_days)
    with time_machine.travel(clock.now() + refresh_life + timedelta(days=1, hours=1)):
        purge()
        assert _count(AuthorizationCode) == 0


def test_unused_expired_code_goes_after_a_day(rp, user):
    rp.sign_in(user.email, PASSWORD)
    with time_machine.travel(clock.now() + timedelta(hours=23)):
        purge()
        assert _count(AuthorizationCode) == 1
    with time_machine.travel(clock.now() + timedelta(days=1, minutes=5)):
        purge()
        assert _count(AuthorizationCode) == 0


def test_rotated_refresh_token_is_kept_while_its_family_lives(rp, user, settings):
    first = rp.tokens(user.email, PASSWORD)
    refresh_life = timedelta(days=settings.tokens.refresh_token_days)
    later = clock.now() + refresh_life - timedelta(days=1)
    with time_machine.travel(later):
        newer = rp.refresh(first["refresh_token"]).get_json()  # the family now lives another month
    with time_machine.travel(later + timedelta(days=3)):
        purge()
        assert _count(Token) == 2
        # The old token, long expired, still gives the replay away and revokes the family.
        assert rp.refresh(first["refresh_token"]).status_code == 400
        assert rp.refresh(newer["refresh_token"]).status_code == 400


def test_tokens_go_a_day_after_they_can_no_longer_be_used(rp, user, settings):
    rp.tokens(user.email, PASSWORD)
    refresh_life = timedelta(days=settings.tokens.refresh_token_days)
    with time_machine.travel(clock.now() + refresh_life + timedelta(hours=1)):
        purge()
        assert _count(Token) == 1
    with time_machine.travel(clock.now() + refresh_life + timedelta(days=1, hours=1)):
        assert purge()["tokens"] == 1
        assert _count(Token) == 0


def test_abandoned_sign_ins_are_purged(rp, user, settings):
    rp.authorize()
    assert _count(PendingAuthorization) == 1
    with time_machine.travel(clock.now() + timedelta(minutes=settings.session.login_minutes + 1)):
        assert purge()["pending_authorizations"] == 1


def test_expired_sessions_are_ended_then_deleted_after_thirty_days(rp, user, settings):
    rp.sign_in(user.email, PASSWORD)
    later = clock.now() + timedelta(hours=settings.session.absolute_hours + 1)
    with time_machine.travel(later):
        purge()
        db.session.expire_all()
        (session,) = db.session.query(SsoSession).all()
        assert session.ended_at is not None
    with time_machine.travel(later + timedelta(days=31)):
        purge()
        assert _count(SsoSession) == 0


def test_done_backchannel_logouts_go_after_a_week_and_messages_stay(app, settings, user, make_portal, frozen,
                                                                   time_machine):
    from idp import sessions
    from idp.messaging import deliver_due, send
    from idp.messaging.queue import INLINE
    from idp.models import OutboxMessage
    from tests.oidc.backchannel_receiver import closed_port_uri

    app.config[INLINE] = True
    portal = make_portal(backchannel_logout_uri=closed_port_uri())
    session, _ = sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now())
    sessions.add_client(session, portal)
    send("email", user.email, "recovery_codes_created", user=user, account_url="http://x")
    sessions.end(session)
    db.session.commit()  # the logout's first attempt fails: nobody listens
    for _ in range(settings.logout.backchannel_attempts - 1):  # (tests' first retry: after 0.05 s)
        time_machine.shift(timedelta(minutes=1))
        deliver_due()
    db.session.expire_all()
    assert sorted((m.channel, m.status) for m in db.session.query(OutboxMessage)) == [
        ("backchannel", "dead"), ("email", "sent")]

    time_machine.shift(timedelta(days=6))
    assert purge()["logout_deliveries"] == 0
    time_machine.shift(timedelta(days=1, minutes=1))
    assert purge()["logout_deliveries"] == 1

    db.session.expire_all()
    [(channel, body)] = db.session.query(OutboxMessage.channel, OutboxMessage.body_encrypted).all()
    assert (channel, body) == ("email", None)  # the mail row stays, its text erased
