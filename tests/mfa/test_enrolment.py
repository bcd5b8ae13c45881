"""A portal that requires a second factor meets a user without one: the enrolment stage is inserted."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from idp.accounts import factors
from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, csrf_token
from tests.mfa.conftest import PHONE
from tests.mfa_helpers import SignIn, latest_code, messages, stage_of


def enrol(client, rp, user) -> SignIn:
    sign_in = SignIn(client, rp.login_url())
    sign_in.password(user.email)
    assert sign_in.stage == "enrol"
    return sign_in


def recovery_codes(html: str) -> list[str]:
    block = re.search(r"data-recovery-codes>(.*?)</ol>", html, re.S).group(1)
    return re.findall(r"<li>([^<]+)</li>", block)


def test_sms_enrolment_takes_a_dutch_notation_confirms_it_and_shows_recovery_codes_once(
        app, client, strict_rp, user):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:sms")
    assert 'autocomplete="tel"' in sign_in.html
    sign_in.post(action="send", phone="06-12345678")
    assert "+31 6 \u2022\u2022\u2022 \u2022\u2022\u2022 78" in sign_in.html
    sign_in.post(action="confirm", code=latest_code(app, PHONE))
    page = sign_in.page()
    assert sign_in.stage == "recovery_codes"
    codes = recovery_codes(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    sign_in.post(action="saved")
    callback = sign_in.finished(strict_rp.redirect_uri)
    claims = strict_rp.decode_id_token(strict_rp.exchange(callback["code"]).get_json()["id_token"])
    assert claims["amr"] == ["mfa", "pwd", "sms"] and claims["phone_number"] == PHONE
    assert audit_events(EventTag.MFA_ENROLLED)
    assert messages(app, to=user.email, template="factor_added")


def test_a_landline_or_garbage_number_gets_a_clear_error_and_nothing_is_sent(app, client, strict_rp, user):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:sms")
    for number in ("020-1234567", "hello", "0" * 60):
        sign_in.post(action="send", phone=number)
        assert sign_in.response.status_code == 200 and 'role="alert"' in sign_in.html
    assert not messages(app)


def test_a_wrong_enrolment_code_is_refused(app, client, strict_rp, user):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:email")
    sign_in.post(action="confirm", code="AAAAAA")
    assert 'role="alert"' in sign_in.html
    sign_in.post(action="confirm", code=latest_code(app, user.email))
    assert sign_in.stage == "recovery_codes"


def test_authenticator_app_enrolment_shows_a_qr_code_and_the_key(app, client, strict_rp, user):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:totp")
    html = sign_in.html
    assert "<svg" in html and "style=" not in html.split('class="qr"')[1].split("</div>")[0]
    secret = re.search(r"data-totp-secret>([^<]+)<", html).group(1).replace(" ", "")
    sign_in.post(action="confirm", code=pyotp.TOTP(secret).now())
    assert sign_in.stage == "recovery_codes"
    sign_in.post(action="saved")
    callback = sign_in.finished(strict_rp.redirect_uri)
    assert strict_rp.decode_id_token(
        strict_rp.exchange(callback["code"]).get_json()["id_token"])["amr"] == ["mfa", "otp", "pwd"]


def test_a_portal_that_accepts_one_factor_goes_straight_to_it(app, client, make_portal, user):
    rp = RelyingParty(client, make_portal(mfa="required", mfa_factors=["email"]))
    sign_in = enrol(client, rp, user)
    assert 'value="choose:email"' in sign_in.page() and 'value="choose:sms"' not in sign_in.page()


@pytest.mark.parametrize("settings_overrides", [{"codes": {"resend_seconds": 0}}])
def test_enrolment_code_can_be_sent_again(app, client, strict_rp, user):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:sms")
    sign_in.post(action="send", phone="+31 6 1234 5678")
    sign_in.post(action="resend")
    assert len(messages(app, to=PHONE)) == 2
    sign_in.post(action="confirm", code=latest_code(app, PHONE))
    assert sign_in.stage == "recovery_codes"


def test_a_code_for_one_number_does_not_confirm_another(app, client, strict_rp, user, settings, frozen,
                                                       time_machine):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:sms")
    sign_in.post(action="send", phone="06-12345678")
    first = latest_code(app, PHONE)
    sign_in.post(action="other")
    time_machine.shift(timedelta(seconds=settings.codes.resend_seconds + 1))  # past the cooldown
    sign_in.post(action="send", phone="06-87654321")
    assert latest_code(app, "+31687654321") != first
    sign_in.post(action="confirm", code=first)  # the code of the number typed before
    assert sign_in.stage == "enrol" and 'role="alert"' in sign_in.html
    assert factors.get(user, "sms") is None
    sign_in.post(action="confirm", code=latest_code(app, "+31687654321"))
    assert factors.phone(factors.get(user, "sms")) == "+31687654321"


def test_a_number_refused_within_the_cooldown_leaves_the_earlier_number_and_its_code(
        app, client, strict_rp, user):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:sms")
    sign_in.post(action="send", phone="06-12345678")
    code = latest_code(app, PHONE)
    sign_in.post(action="other")
    sign_in.post(action="send", phone="06-87654321")  # within the cooldown: refused, nothing changes
    assert 'role="alert"' in sign_in.html and 'value="06-87654321"' not in sign_in.html
    assert factors.phone(factors.pending(user, "sms")) == PHONE
    sign_in.post(action="confirm", code=code)
    assert factors.phone(factors.get(user, "sms")) == PHONE  # the number that received the code, only


# --- whoever has a factor proves it before adding one (NIST SP 800-63B §6.1.2.1) -------------------------


@pytest.fixture
def app_only(client, make_portal):
    """A portal that accepts only an authenticator app, which the person with SMS does not have."""
    return RelyingParty(client, make_portal("Alleen app", mfa="required", mfa_factors=["totp"]))


def factor_kinds(user) -> set[str]:
    from idp.extensions import db
    from idp.models import Factor

    return {f.kind for f in db.session.scalars(select(Factor).where(Factor.user_id == user.id))}


def test_the_password_alone_cannot_add_a_factor_to_an_account_that_has_one(app, client, app_only, user,
                                                                             add_factor):
    add_factor(user, "sms")
    sign_in = SignIn(client, app_only.login_url())
    sign_in.password(user.email)
    page = sign_in.page()
    assert stage_of(page) == "second_factor" and 'name="stage" value="enrol"' not in page
    # Whoever has only the password posts the enrolment form anyway: it is not taken.
    response = client.post(sign_in.url, data={"csrf_token": csrf_token(page), "stage": "enrol",
                                              "action": "choose:totp"})
    assert response.status_code == 302 and sign_in.stage == "second_factor"
    assert factor_kinds(user) == {"sms"}  # no app was added, not even unconfirmed
    assert len(audit_events(EventTag.MFA_ENROLLED)) == 1  # the fixture's SMS only


def test_the_factor_the_person_has_first_then_the_one_the_portal_asks(app, client, app_only, user, add_factor):
    add_factor(user, "sms")
    sign_in = SignIn(client, app_only.login_url(ui_locales="en"))
    sign_in.password(user.email)
    assert "a way of signing in you have not set up yet" in sign_in.page()
    sign_in.post(code=latest_code(app, PHONE))
    assert sign_in.stage == "enrol"
    assert 'value="choose:totp"' in sign_in.page() and 'value="choose:sms"' not in sign_in.page()
    sign_in.post(action="choose:totp")
    secret = re.search(r"data-totp-secret>([^<]+)<", sign_in.html).group(1).replace(" ", "")
    sign_in.post(action="confirm", code=pyotp.TOTP(secret).now())
    callback = sign_in.finished(app_only.redirect_uri)  # no recovery codes again: not the first factor
    claims = app_only.decode_id_token(app_only.exchange(callback["code"]).get_json()["id_token"])
    assert claims["amr"] == ["mfa", "otp", "pwd", "sms"]
    assert factor_kinds(user) == {"sms", "totp"}
    assert messages(app, to=user.email, template="factor_added")


def test_a_password_only_session_steps_up_with_the_old_factor_before_adding_one(app, client, make_portal,
                                                                                app_only, user, add_factor):
    add_factor(user, "sms")
    RelyingParty(client, make_portal(mfa="off")).sign_in(user.email, "correct horse battery")
    assert "interaction_required" in app_only.authorize(prompt="none").location
    step_up = SignIn(client, app_only.login_url())
    assert step_up.stage == "second_factor"
    step_up.post(code=latest_code(app, PHONE))
    assert step_up.stage == "enrol"


def test_an_account_without_factors_enrols_after_the_password_and_is_told(app, client, app_only, user):
    sign_in = SignIn(client, app_only.login_url())
    sign_in.password(user.email)
    assert sign_in.stage == "enrol"
    sign_in.post(action="choose:totp")
    secret = re.search(r"data-totp-secret>([^<]+)<", sign_in.html).group(1).replace(" ", "")
    sign_in.post(action="confirm", code=pyotp.TOTP(secret).now())
    assert sign_in.stage == "recovery_codes"
    assert [e.details["factor"] for e in audit_events(EventTag.MFA_ENROLLED)] == ["totp"]
    assert messages(app, to=user.email, template="factor_added")
