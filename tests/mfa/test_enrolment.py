"""A portal that requires a second factor meets a user without one: the enrolment stage is inserted."""

from __future__ import annotations

import re

import pyotp
import pytest

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events
from tests.mfa.conftest import PHONE
from tests.mfa_helpers import SignIn, latest_code, messages


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
    sign_in.post(action="phone", phone="06-12345678")
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
        sign_in.post(action="phone", phone=number)
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
    sign_in.post(action="phone", phone="+31 6 1234 5678")
    sign_in.post(action="resend")
    assert len(messages(app, to=PHONE)) == 2
    sign_in.post(action="confirm", code=latest_code(app, PHONE))
    assert sign_in.stage == "recovery_codes"


def test_a_code_for_one_number_does_not_confirm_another(app, client, strict_rp, user):
    sign_in = enrol(client, strict_rp, user)
    sign_in.post(action="choose:sms")
    sign_in.post(action="phone", phone="06-12345678")
    code = latest_code(app, PHONE)
    sign_in.post(action="back")
    sign_in.post(action="choose:sms")
    sign_in.post(action="phone", phone="06-87654321")  # within the cooldown: no code for this number
    sign_in.post(action="confirm", code=code)
    assert sign_in.stage == "enrol" and 'role="alert"' in sign_in.html
    from idp.accounts import factors

    assert factors.get(user, "sms") is None
