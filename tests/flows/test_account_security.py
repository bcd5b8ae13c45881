"""The account page for second factors and trusted devices, as a person uses it through the browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import time_machine
from sqlalchemy import delete, select

from idp import clock
from idp.audit import EventTag
from idp.extensions import db
from idp.models import Client, Factor, RecoveryCode, SsoSession, TrustedDevice
from tests.flows.account_helpers import (
    Account,
    asks_password,
    email_code,
    latest_message,
    path,
    recovery_codes,
    sign_in,
    sms_code,
    templates_sent,
)
from tests.flows.page import Page, text
from tests.helpers import audit_events, csrf_token, english_browser, html_lang, query

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.fixture
def client(app):
    """A browser that reads English, so the tests read the msgids whatever the catalogs hold."""
    return english_browser(app)


@pytest.fixture
def account(client, user):
    sign_in(client)
    return Account(client)


def words(response) -> str:
    return text(response.get_data(as_text=True))


def factor_rows(user) -> list[Factor]:
    db.session.expire_all()
    return list(db.session.scalars(select(Factor).where(Factor.user_id == user.id)))


def add_sms(account: Account, phone: str = "06 12345678"):
    form = account.change("/account/factors/sms")
    assert 'autocomplete="tel"' in form.get_data(as_text=True)
    sent = account.post("/account/factors/sms", action="send", phone=phone)
    assert "We have sent a code by SMS to +31 6 ••• ••• 78." in words(sent)
    return account.post("/account/factors/sms", action="confirm", code=sms_code())


def trust(user, user_agent: str) -> tuple[TrustedDevice, str]:
    from idp.sessions import devices

    device, token = devices.trust(user, days=7, user_agent=user_agent, ip="192.0.2.1")
    db.session.commit()
    return device, token


# --- signing in to the account page ------------------------------------------------------------


def test_without_a_session_the_account_page_signs_in_and_comes_back(client, user):
    started = client.get("/account/security")
    assert started.status_code == 302
    params = query(started.location)
    assert params["client_id"] == "idp-account" and params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == "http://localhost/account/callback" and params["scope"] == "openid"
    assert params["state"] and params["nonce"] and params["code_challenge"]
    login = client.get(client.get(started.location.removeprefix("http://localhost")).location)
    assert "to continue to My account" in words(login)
    dutch = client.get(login.request.path, headers={"Accept-Language": "nl"})
    assert "om verder te gaan naar Mijn account" in words(dutch)

    page = sign_in(client)
    assert "Security of your account" in words(page) and "Signed in as anna@example.org" in words(page)
    built_in = db.session.scalar(select(Client).where(Client.client_id == "idp-account"))
    assert (built_in.name, built_in.first_party, built_in.public) == ("My account", True, True)
    assert built_in.grant_types == ["authorization_code"] and built_in.mfa == "optional"


def test_a_callback_this_browser_did_not_start_is_refused(client, user):
    client.get("/account")
    response = client.get("/account/callback?code=abc&state=forged")
    assert response.status_code == 400
    assert "This sign-in was started in another window, or it is too old." in words(response)


def test_a_callback_with_an_error_says_signing_in_did_not_work(client, user):
    started = client.get("/account")
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    response = client.get(f"/account/callback?error=access_denied&state={state}")
    assert response.status_code == 400
    assert "Signing in did not work" in words(response) and "access_denied" not in words(response)


# --- adding factors ------------------------------------------------------------------------------


def test_adding_sms_in_06_notation_confirms_with_the_code_and_shows_recovery_codes_once(account, user):
    shown = add_sms(account, "06-1234 5678")
    assert shown.status_code == 200
    codes = recovery_codes(shown.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "You see them only this once." in words(shown)
    (factor,) = factor_rows(user)
    assert factor.kind == "sms" and factor.confirmed_at is not None
    assert latest_message("sms")[0] == "+31612345678"

    page = account.open()
    assert "SMS to +31 6 ••• ••• 78" in words(page) and "You have 10 recovery codes left." in words(page)
    assert not any(code in page.get_data(as_text=True) for code in codes)
    assert "factor_added" in templates_sent()
    assert latest_message("email")[0] == "anna@example.org"


def test_without_recovery_codes_the_page_says_so_and_offers_to_make_them(account, user):
    add_sms(account)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))  # e.g. an admin-made factor
    db.session.commit()

    page = account.open()

    assert "You have no recovery codes. Make them now" in words(page) and "codes left" not in words(page)
    assert "Make recovery codes" in words(page)
    shown = account.change("/account/recovery-codes")
    assert len(recovery_codes(shown.get_data(as_text=True))) == 10
    assert "You have 10 recovery codes left." in words(account.open())


def test_new_recovery_codes_replace_the_old_ones_and_are_shown_once(account, user):
    first = recovery_codes(add_sms(account).get_data(as_text=True))
    account.open()
    shown = account.change("/account/recovery-codes")
    fresh = recovery_codes(shown.get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(first)
    assert "Your earlier recovery codes no longer work." in words(shown)
    assert templates_sent()[-1] == "recovery_codes_created"
    assert not any(code in account.open().get_data(as_text=True) for code in fresh)


def test_a_wrong_sms_code_is_refused_and_the_factor_stays_unconfirmed(account, user):
    account.change("/account/factors/sms")
    account.post("/account/factors/sms", action="send", phone="0612345678")
    right = sms_code()
    wrong = "000000" if right != "000000" else "111111"
    refused = account.post("/account/factors/sms", action="confirm", code=wrong)
    assert "That code is not right. You can try 4 more times." in words(refused)
    assert factor_rows(user)[0].confirmed_at is None
    assert "factor_added" not in templates_sent()


@pytest.mark.parametrize("settings_overrides", [{"codes": {"sms_prefix": True}}])
def test_with_prefix_binding_the_page_shows_the_prefix_of_the_sms(account, user):
    account.change("/account/factors/sms")
    page = account.post("/account/factors/sms", action="send", phone="0612345678")
    prefix = latest_message("sms")[2].split("-")[0]
    assert f"The code in the SMS starts with {prefix}-." in words(page)
    done = account.post("/account/factors/sms", action="confirm", code=sms_code())
    assert len(recovery_codes(done.get_data(as_text=True))) == 10


def test_an_email_code_cannot_confirm_a_phone_number(account, user):
    account.change("/account/factors/sms")
    account.post("/account/factors/sms", action="send", phone="0612345678")
    account.post("/account/factors/email")  # a code to the mailbox, while the phone still waits for its own
    refused = account.post("/account/factors/sms", action="confirm", code=email_code())
    assert "That code is not right." in words(refused)
    assert all(f.confirmed_at is None for f in factor_rows(user))


def test_an_invalid_phone_number_gets_a_clear_error_and_nothing_is_sent(account, user):
    account.change("/account/factors/sms")
    refused = account.post("/account/factors/sms", action="send", phone="12345")
    assert "Enter a mobile number, such as 06 12345678" in words(refused)
    assert Page(refused.get_data(as_text=True)).one("input", name="phone").attrs["aria-invalid"] == "true"
    assert factor_rows(user) == [] and templates_sent() == []


def test_adding_email_codes_confirms_with_the_code_from_the_mail(account, user):
    sent = account.change("/account/factors/email")
    assert "We have sent a code by e-mail to anna@example.org." in words(sent)
    code_input = Page(sent.get_data(as_text=True)).one("input", name="code")
    assert code_input.attrs["autocomplete"] == "one-time-code"
    shown = account.post("/account/factors/email", action="confirm", code=email_code())
    assert len(recovery_codes(shown.get_data(as_text=True))) == 10
    assert "E-mail to anna@example.org" in words(account.open())


def test_adding_an_authenticator_app_by_its_key(account, user):
    add_sms(account)
    account.open()
    page = account.change("/account/factors/totp")
    html = page.get_data(as_text=True)
    assert "<svg" in html and "otpauth://totp/" in html
    secret = Page(html).one("code", **{"class": "secret"}).text
    assert all(len(group) == 4 for group in secret.split())
    refused = account.post("/account/factors/totp", action="confirm", code="12345")
    assert "That code is not right." in words(refused) and "<svg" in refused.get_data(as_text=True)

    done = account.post("/account/factors/totp", action="confirm", code=pyotp.TOTP(secret.replace(" ", "")).now())
    assert done.status_code == 302 and path(done.location) == "/account"
    page = account.open()
    assert "Authenticator app has been added." in words(page) and "Authenticator app" in words(page)
    assert {f.kind for f in factor_rows(user) if f.confirmed_at} == {"sms", "totp"}
    assert "Add an authenticator app" not in words(page) and "Add e-mail codes" in words(page)


# --- the fresh password check ------------------------------------------------------------------


def test_removing_a_factor_needs_the_password_and_a_wrong_one_changes_nothing(account, user):
    add_sms(account)
    factor = factor_rows(user)[0]
    with time_machine.travel(clock.now() + timedelta(minutes=6), tick=False):
        asked = account.post(f"/account/factors/{factor.id}/remove")
        assert asks_password(asked)
        assert Page(asked.get_data(as_text=True)).one("input", name="password").attrs["type"] == "password"

        wrong = account.post(f"/account/factors/{factor.id}/remove", password="not my password")
        assert "That password is not correct. Nothing has been changed." in words(wrong)
        assert [f.id for f in factor_rows(user)] == [factor.id]
        failure = audit_events(EventTag.LOGIN_PASSWORD_FAILURE)[-1]
        assert failure.details["reason"] == "reauth" and failure.subject_user_id == user.id

        done = account.post(f"/account/factors/{factor.id}/remove", password="correct horse battery")
        assert done.status_code == 302
        assert factor_rows(user) == []
        assert templates_sent()[-1] == "factor_removed"
        assert "SMS to +31 6 ••• ••• 78 has been removed." in words(account.open())


@pytest.mark.parametrize("settings_overrides", [{"limits": {"sign_in_per_account": "2 per minute"}}])
def test_after_too_many_wrong_passwords_even_the_right_one_waits(account, user):
    for _ in range(2):
        refused = account.post("/account/factors/email", password="wrong")
        assert "That password is not correct." in words(refused)
    paused = account.post("/account/factors/email", password="correct horse battery")
    assert "Too many wrong passwords." in words(paused) and asks_password(paused)
    assert factor_rows(user) == [] and templates_sent() == []
    with time_machine.travel(clock.now() + timedelta(minutes=2), tick=False):
        assert not asks_password(account.post("/account/factors/email", password="correct horse battery"))


def test_the_password_check_lasts_five_minutes(account, user):
    assert asks_password(account.post("/account/recovery-codes"))
    account.change("/account/factors/email")
    with time_machine.travel(clock.now() + timedelta(minutes=4), tick=False):
        assert not asks_password(account.post("/account/factors/email", action="resend"))
    with time_machine.travel(clock.now() + timedelta(minutes=5, seconds=1), tick=False):
        assert asks_password(account.post("/account/factors/email", action="resend"))


def test_the_password_check_does_not_carry_over_to_another_session(client, account, user):
    from idp import sessions

    account.change("/account/factors/email")
    for session in db.session.scalars(select(SsoSession).where(SsoSession.user_id == user.id)):
        sessions.end(session)
    db.session.commit()
    sign_in(client)  # a new SSO session in the same browser (and a new CSRF token)
    account.open()
    assert asks_password(account.post("/account/factors/email", action="resend"))


# --- trusted devices --------------------------------------------------------------------------


def test_trusted_devices_are_listed_and_this_browser_is_marked(client, account, user):
    trust(user, SAFARI)
    _, token = trust(user, FIREFOX)
    client.set_cookie("idp_device", token)
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX  # the browser it was trusted in
    page = Page(account.open().get_data(as_text=True))
    items = [" ".join(li.text.split()) for li in page.all("li") if "First used:" in li.text]
    assert len(items) == 2
    firefox = next(i for i in items if i.startswith("Firefox on Windows"))
    assert "(this browser)" in firefox and "Last used:" in firefox and "Trusted until:" in firefox
    assert any(i.startswith("Safari on iPhone") and "this browser" not in i for i in items)


def test_revoking_this_browser_clears_its_cookie(client, account, user):
    device, token = trust(user, FIREFOX)
    other, _ = trust(user, SAFARI)
    client.set_cookie("idp_device", token)
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX
    response = account.change(f"/account/devices/{device.id}/revoke")
    assert response.status_code == 302
    assert any(h.startswith("idp_device=;") for h in response.headers.getlist("Set-Cookie"))
    db.session.expire_all()
    assert device.revoked_at is not None and other.revoked_at is None
    assert "Firefox on Windows" not in words(account.open())


def test_revoking_all_devices(account, user):
    devices = [trust(user, FIREFOX)[0], trust(user, SAFARI)[0]]
    response = account.change("/account/devices/revoke-all")
    assert response.status_code == 302
    db.session.expire_all()
    assert all(d.revoked_at is not None for d in devices)
    page = account.open()
    assert "No device can skip the second step any more." in words(page)
    assert "You have no trusted devices." in words(page)


def test_another_users_device_cannot_be_revoked(account, make_user):
    someone, _ = trust(make_user("bert@example.org"), FIREFOX)
    response = account.change(f"/account/devices/{someone.id}/revoke")
    assert response.status_code == 404
    db.session.expire_all()
    assert someone.revoked_at is None


def test_a_change_without_the_csrf_token_is_refused(client, account, user):
    device, _ = trust(user, FIREFOX)
    account.change("/account/factors/email")  # the password is fresh: only CSRF stands in the way
    response = client.post(f"/account/devices/{device.id}/revoke")
    assert response.status_code == 400
    db.session.expire_all()
    assert device.revoked_at is None


def test_a_change_without_a_session_goes_to_sign_in_first(client, user):
    login = client.get(path(client.get("/account").location)).location
    token = csrf_token(client.get(login).get_data(as_text=True))
    response = client.post("/account/devices/revoke-all", data={"csrf_token": token})
    assert response.status_code == 302 and "/authorize?" in response.location


def test_the_account_page_shows_dates_in_the_persons_language(client, user):
    # A day in March after the fixture's data was made: the month's Dutch name is what is checked.
    day = datetime(clock.now().year + 1, 3, 14, 9, 30, tzinfo=UTC)
    with time_machine.travel(day):
        sign_in(client)
        trust(user, FIREFOX)
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
        page = Account(client).open()
    assert html_lang(page.get_data(as_text=True)) == "nl"
    assert f"14 maart {day.year}" in words(page)
