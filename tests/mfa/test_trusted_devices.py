"""Trust this computer for N days: it skips only the second factor, for as long as the strictest portal allows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, csrf_token
from tests.mfa.conftest import PHONE
from tests.mfa_helpers import SignIn, latest_code, messages, stage_of

DEVICE_COOKIE = "idp_device"  # the issuer of the tests is plain http; over https it is __Host-idp_device


def sign_in_with_sms(app, rp, user, trust: bool, **extra):
    sign_in = SignIn(rp.client, rp.login_url(**extra))
    sign_in.password(user.email)
    assert sign_in.stage == "second_factor"
    sign_in.post(code=latest_code(app, PHONE), **({"trust": "1"} if trust else {}))
    return sign_in


def device_cookie(client):
    return client.get_cookie(DEVICE_COOKIE)


def test_a_trusted_computer_is_asked_only_for_the_password(app, client, strict_rp, user, add_factor):
    add_factor(user, "sms")
    first = sign_in_with_sms(app, strict_rp, user, trust=True)
    first.finished(strict_rp.redirect_uri)
    cookie = device_cookie(client)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert audit_events(EventTag.DEVICE_TRUSTED)

    again = SignIn(client, strict_rp.login_url(prompt="login"))
    assert again.stage == "password"  # the password is never skipped
    again.password(user.email)
    callback = again.finished(strict_rp.redirect_uri)
    claims = strict_rp.decode_id_token(strict_rp.exchange(callback["code"]).get_json()["id_token"])
    assert claims["acr"] == "urn:idp:acr:mfa" and claims["amr"] == ["mfa", "pwd"]
    assert len(messages(app, to=PHONE)) == 1  # no second SMS
    assert audit_events(EventTag.MFA_DEVICE_USED)


def test_without_the_tick_the_computer_is_not_trusted(app, client, strict_rp, user, add_factor):
    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=False).finished(strict_rp.redirect_uri)
    assert device_cookie(client) is None
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email)
    assert again.stage == "second_factor"


def test_trust_ends_after_the_portals_days(app, client, strict_rp, user, add_factor, frozen, time_machine):
    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    time_machine.shift(timedelta(days=7, seconds=1))
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email)
    assert again.stage == "second_factor"


def test_the_strictest_portal_wins(app, client, strict_rp, make_portal, user, add_factor, frozen, time_machine):
    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    time_machine.shift(timedelta(days=3))
    short = RelyingParty(client, make_portal("Kort", mfa="required", trusted_device_days=2))
    sign_in = SignIn(client, short.login_url(prompt="login"))
    sign_in.password(user.email)
    assert sign_in.stage == "second_factor"  # trusted 3 days ago, this portal allows 2


def test_a_portal_without_trusted_devices_never_offers_nor_honours_them(app, client, strict_rp, make_portal, user,
                                                                        add_factor):
    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    business = RelyingParty(client, make_portal("Zakelijk", mfa="required", trusted_device_days=0))
    sign_in = SignIn(client, business.login_url(prompt="login"))
    sign_in.password(user.email)
    page = sign_in.page()
    assert sign_in.stage == "second_factor" and 'name="trust"' not in page


def test_another_users_device_cookie_does_not_count(app, client, strict_rp, make_user, user, add_factor):
    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    other = make_user("ben@example.org")
    add_factor(other, "sms", phone="+31687654321")
    sign_in = SignIn(client, strict_rp.login_url(prompt="login"))
    sign_in.password(other.email)
    assert sign_in.stage == "second_factor"


def test_a_password_change_revokes_every_trusted_device(app, client, strict_rp, user, add_factor):
    from idp.accounts.passwords import change_password
    from idp.extensions import db

    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    change_password(user, "a new horse battery staple")
    db.session.commit()
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email, "a new horse battery staple")
    assert again.stage == "second_factor"


@pytest.mark.parametrize("change", ["factor added", "user disabled"])
def test_a_factor_change_or_an_admin_action_revokes_trusted_devices(app, client, strict_rp, user, add_factor,
                                                                    change):
    from idp.accounts import factors
    from idp.accounts.users import disable
    from idp.extensions import db
    from idp.models import TrustedDevice

    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    [device] = db.session.scalars(db.select(TrustedDevice)).all()
    assert device.revoked_at is None
    if change == "factor added":
        factor = factors.start_email(user, flow_uid=None)
        db.session.commit()
        factors.confirm(user, factor, latest_code(app, user.email), flow_uid=None)
    else:
        disable(user)
    db.session.commit()
    db.session.refresh(device)
    assert device.revoked_at is not None


def test_the_device_cookie_is_host_prefixed_and_secure_over_https(app):
    from idp.sessions import devices

    assert devices.cookie_name(True) == "__Host-idp_device"




def test_a_session_proven_by_a_trusted_browser_does_not_satisfy_a_portal_that_trusts_none(
        app, client, strict_rp, make_portal, user, add_factor):
    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email)
    again.finished(strict_rp.redirect_uri)  # this session's second factor is the browser
    business = RelyingParty(client, make_portal("Zakelijk", mfa="required", trusted_device_days=0))
    response = business.authorize()
    assert response.status_code == 302 and response.location.startswith("/login/")
    assert SignIn(client, response.location).stage == "second_factor"
    assert "interaction_required" in business.authorize(prompt="none").location


def test_a_trusted_browser_does_not_move_auth_time(app, client, strict_rp, user, add_factor, frozen,
                                                   time_machine):
    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    time_machine.shift(timedelta(hours=1))
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email)
    callback = again.finished(strict_rp.redirect_uri)
    claims = strict_rp.decode_id_token(strict_rp.exchange(callback["code"]).get_json()["id_token"])
    assert claims["auth_time"] == int((frozen + timedelta(hours=1)).timestamp())  # the password just typed


def test_a_step_up_whose_session_ended_meanwhile_starts_over(app, client, make_portal, user, add_factor):
    from idp import sessions
    from idp.extensions import db

    add_factor(user, "sms")
    relaxed = RelyingParty(client, make_portal(mfa="off"))
    relaxed.sign_in(user.email, "correct horse battery")
    step_up = SignIn(client, relaxed.login_url(acr_values="urn:idp:acr:mfa"))
    page = step_up.page()  # the code page stays open while the session ends elsewhere
    assert stage_of(page) == "second_factor"
    sessions.end_all_for_user(user, reason="logout elsewhere")
    db.session.commit()
    response = client.post(step_up.url, data={"csrf_token": csrf_token(page), "stage": "second_factor",
                                              "code": latest_code(app, PHONE)})
    assert response.status_code == 302 and response.location.startswith("/login/")
    assert step_up.stage == "password"
    assert audit_events(EventTag.MFA_CODE_ACCEPTED) == []  # the code was not even looked at


CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def copied_to_another_browser(app, client, strict_portal, user_agent: str):
    """An attacker's browser holding a copy of the victim's device cookie (issue 18)."""
    from tests.helpers import browser

    other = browser(app)
    other.environ_base["HTTP_USER_AGENT"] = user_agent
    other.set_cookie(DEVICE_COOKIE, device_cookie(client).value)
    return RelyingParty(other, strict_portal)


def test_a_copied_device_cookie_without_the_password_gets_nothing(app, client, strict_rp, strict_portal, user,
                                                                  add_factor):
    from idp.extensions import db
    from idp.models import SsoSession

    add_factor(user, "sms")
    client.environ_base["HTTP_USER_AGENT"] = CHROME_WINDOWS
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    attacker = copied_to_another_browser(app, client, strict_portal, CHROME_WINDOWS)  # even the same User-Agent
    assert attacker.callback(attacker.authorize(prompt="none"))["error"] == "login_required"
    attempt = SignIn(attacker.client, attacker.login_url())
    assert attempt.stage == "password"  # the cookie skips nothing before the password
    attempt.password(user.email, "not the password")
    assert attempt.stage == "password"
    assert db.session.scalar(db.select(db.func.count()).select_from(SsoSession)) == 1  # the victim's only
    assert len(messages(app, to=PHONE)) == 1  # not even a code was sent


def test_a_copied_device_cookie_in_another_kind_of_browser_does_not_skip_the_code(
        app, client, strict_rp, strict_portal, user, add_factor):
    """Issue 18: the cookie copied to another kind of browser (by its User-Agent) is no trusted browser there,
    even with the password; in the browser it was trusted in it still is."""
    add_factor(user, "sms")
    client.environ_base["HTTP_USER_AGENT"] = CHROME_WINDOWS
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    attacker = copied_to_another_browser(app, client, strict_portal, FIREFOX_LINUX)
    attempt = SignIn(attacker.client, attacker.login_url())
    attempt.password(user.email)
    assert attempt.stage == "second_factor"
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email)
    again.finished(strict_rp.redirect_uri)


@pytest.mark.parametrize("who", ["admin", "person"])
def test_signing_out_everywhere_revokes_trusted_devices(app, client, strict_rp, user, add_factor, who):
    """Issue 18: an admin's "sign out everywhere" revokes every trusted browser; the person's own "sign out
    everywhere else" every one but the browser they use for it."""
    from idp import clock
    from idp.accounts import own_sessions, people
    from idp.extensions import db
    from idp.models import SsoSession, TrustedDevice
    from idp.sessions import devices

    add_factor(user, "sms")
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    here, _ = devices.trust(user, days=7, user_agent=CHROME_WINDOWS, ip=None)
    db.session.commit()
    if who == "admin":
        people.sign_out(user, admin="helpdesk", now=clock.now())
    else:
        this = db.session.scalar(db.select(SsoSession).where(SsoSession.user_id == user.id))
        own_sessions.sign_out_others(user, this, here)
    db.session.commit()
    live = db.session.scalars(db.select(TrustedDevice.id).where(TrustedDevice.revoked_at.is_(None))).all()
    assert live == ([] if who == "admin" else [here.id])
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email)
    assert again.stage == "second_factor"


def test_each_use_renews_the_device_cookie_so_an_older_copy_stops_working(
        app, client, strict_rp, strict_portal, user, add_factor):
    """Issue 18: a copy taken (even with the same User-Agent, and with the password) works only until the owner
    signs in with the device again: that sign-in gives the browser a new cookie value."""
    add_factor(user, "sms")
    client.environ_base["HTTP_USER_AGENT"] = CHROME_WINDOWS
    sign_in_with_sms(app, strict_rp, user, trust=True).finished(strict_rp.redirect_uri)
    attacker = copied_to_another_browser(app, client, strict_portal, CHROME_WINDOWS)
    copied = device_cookie(client).value
    again = SignIn(client, strict_rp.login_url(prompt="login"))
    again.password(user.email)
    again.finished(strict_rp.redirect_uri)  # the device stood in for the code, and got a new value
    assert device_cookie(client).value != copied
    attempt = SignIn(attacker.client, attacker.login_url())
    attempt.password(user.email)
    assert attempt.stage == "second_factor"
    owner = SignIn(client, strict_rp.login_url(prompt="login"))
    owner.password(user.email)
    owner.finished(strict_rp.redirect_uri)  # the owner's renewed cookie still stands in for the code
    assert len(messages(app, to=PHONE)) == 2  # the first sign-in's code and the attacker's, none for the owner
