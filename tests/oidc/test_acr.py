"""acr and amr (OIDC Core §2, RFC 8176): two named levels, step-up by acr_values, a portal's policy, or max_age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, query
from tests.mfa_helpers import SignIn, latest_code

PHONE = "+31612345678"
PASSWORD_LEVEL, MFA_LEVEL = "urn:idp:acr:password", "urn:idp:acr:mfa"


@pytest.fixture
def with_sms(app, user):
    from idp.accounts import factors
    from idp.extensions import db

    factors.add_confirmed(user, "sms", phone_number=PHONE)
    db.session.commit()
    return user


@pytest.fixture
def relaxed(client, make_portal):
    return RelyingParty(client, make_portal("Bestellen", mfa="off"))


@pytest.fixture
def strict(client, make_portal):
    return RelyingParty(client, make_portal("Huisarts", mfa="required"))


def claims_of(rp, callback) -> dict:
    return rp.decode_id_token(rp.exchange(callback["code"]).get_json()["id_token"])


def test_discovery_names_both_levels(client):
    assert client.get("/.well-known/openid-configuration").get_json()["acr_values_supported"] == [
        PASSWORD_LEVEL, MFA_LEVEL]


def test_acr_values_for_the_higher_level_steps_up_inside_the_sso_session(app, client, relaxed, with_sms):
    first = claims_of(relaxed, relaxed.sign_in(with_sms.email, "correct horse battery"))
    assert first["acr"] == PASSWORD_LEVEL

    step_up = SignIn(client, relaxed.login_url(acr_values=MFA_LEVEL))
    assert step_up.stage == "second_factor"  # no password again
    step_up.post(code=latest_code(app, PHONE))
    second = claims_of(relaxed, step_up.finished(relaxed.redirect_uri))
    assert second["acr"] == MFA_LEVEL and second["amr"] == ["mfa", "pwd", "sms"]
    assert second["sid"] == first["sid"]  # the same session, now at the higher level
    assert second["auth_time"] >= first["auth_time"]
    assert audit_events(EventTag.MFA_STEP_UP)


def test_a_portal_that_requires_mfa_steps_up_a_password_session(app, client, relaxed, strict, with_sms):
    relaxed.sign_in(with_sms.email, "correct horse battery")
    step_up = SignIn(client, strict.login_url())
    assert step_up.stage == "second_factor"
    step_up.post(code=latest_code(app, PHONE))
    assert claims_of(strict, step_up.finished(strict.redirect_uri))["acr"] == MFA_LEVEL
    # The session is now at the higher level: the relaxed portal gets it without asking.
    assert claims_of(relaxed, query(relaxed.authorize().location))["acr"] == MFA_LEVEL


def test_a_portal_requiring_mfa_sends_a_user_without_a_factor_through_password_and_enrolment(
        app, client, relaxed, strict, user):
    relaxed.sign_in(user.email, "correct horse battery")
    sign_in = SignIn(client, strict.login_url())
    assert sign_in.stage == "password"  # adding a factor needs a fresh password
    sign_in.password(user.email)
    assert sign_in.stage == "enrol"


def test_prompt_none_without_the_level_answers_interaction_required(client, relaxed, with_sms):
    relaxed.sign_in(with_sms.email, "correct horse battery")
    response = relaxed.authorize(prompt="none", acr_values=MFA_LEVEL)
    assert query(response.location)["error"] == "interaction_required"


def test_acr_values_for_the_password_level_is_met_by_a_password_session(client, relaxed, with_sms):
    relaxed.sign_in(with_sms.email, "correct horse battery")
    response = relaxed.authorize(prompt="none", acr_values=PASSWORD_LEVEL)
    assert claims_of(relaxed, query(response.location))["acr"] == PASSWORD_LEVEL


def test_unknown_acr_values_are_ignored(client, relaxed, with_sms):
    relaxed.sign_in(with_sms.email, "correct horse battery")
    response = relaxed.authorize(prompt="none", acr_values="urn:other:loa:4")
    assert "code" in query(response.location)


def test_max_age_asks_for_the_password_and_the_second_factor_again(app, client, strict, with_sms, frozen,
                                                                    time_machine):
    sign_in = SignIn(client, strict.login_url())
    sign_in.password(with_sms.email)
    assert sign_in.stage == "second_factor"
    sign_in.post(code=latest_code(app, PHONE))
    first = claims_of(strict, sign_in.finished(strict.redirect_uri))
    time_machine.shift(timedelta(minutes=10))
    again = SignIn(client, strict.login_url(max_age="60"))
    assert again.stage == "password"
    again.password(with_sms.email)
    assert again.stage == "second_factor"
    again.post(code=latest_code(app, PHONE))
    second = claims_of(strict, again.finished(strict.redirect_uri))
    assert second["auth_time"] > first["auth_time"] and second["acr"] == MFA_LEVEL




def test_the_password_again_keeps_the_second_factor_the_session_proved(app, client, relaxed, strict, with_sms):
    sign_in = SignIn(client, strict.login_url())
    sign_in.password(with_sms.email)
    assert sign_in.stage == "second_factor"
    sign_in.post(code=latest_code(app, PHONE))
    sign_in.finished(strict.redirect_uri)
    again = SignIn(client, relaxed.login_url(prompt="login"))  # a portal that asks only the password
    again.password(with_sms.email)
    claims = claims_of(relaxed, again.finished(relaxed.redirect_uri))
    assert claims["acr"] == MFA_LEVEL and claims["amr"] == ["mfa", "pwd", "sms"]
    assert "code" in query(strict.authorize(prompt="none").location)  # no step-up needed at the strict one


def test_a_step_up_whose_factor_was_removed_asks_the_password_before_enrolment(app, client, relaxed, strict,
                                                                             with_sms):
    from idp.accounts import factors
    from idp.extensions import db

    relaxed.sign_in(with_sms.email, "correct horse battery")
    step_up = SignIn(client, strict.login_url())
    assert step_up.stage == "second_factor"
    factors.remove(with_sms, factors.get(with_sms, "sms"))
    db.session.commit()
    assert step_up.stage == "password"
    step_up.password(with_sms.email)
    assert step_up.stage == "enrol"
