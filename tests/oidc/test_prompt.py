"""The prompt parameter (OIDC Core §3.1.2.1, §3.1.2.6): none, login and consent."""

from datetime import timedelta

import pytest
import time_machine

from idp.audit import EventTag
from idp.models import SsoSession
from tests.helpers import ISSUER, RelyingParty, audit_events, tomorrow_at

PASSWORD = "correct horse battery"
MORNING = tomorrow_at(9)


@pytest.fixture
def signed_in(rp, user):
    """Anna signed in at the portal this morning; her browser holds the SSO session."""
    with time_machine.travel(MORNING, tick=False):
        return rp.tokens(user.email, PASSWORD)


def test_prompt_none_with_a_session_returns_a_code_without_any_page(rp, signed_in):
    response = rp.authorize(prompt="none")
    callback = rp.callback(response)
    assert callback["code"]
    assert callback["state"] == rp.state
    assert callback["iss"] == ISSUER
    assert rp.exchange(callback["code"]).status_code == 200


def test_prompt_none_without_a_session_is_login_required(rp, user):
    callback = rp.callback(rp.authorize(prompt="none"))
    assert callback["error"] == "login_required"
    assert callback["state"] == rp.state
    assert callback["iss"] == ISSUER


def test_prompt_none_when_consent_is_needed_is_consent_required(client, make_portal, signed_in):
    third_party = RelyingParty(client, make_portal("Apotheek", first_party=False))
    callback = third_party.callback(third_party.authorize(prompt="none"))
    assert callback["error"] == "consent_required"
    assert callback["state"] == third_party.state


def test_prompt_none_after_consent_was_given_returns_a_code(client, make_portal, user):
    third_party = RelyingParty(client, make_portal("Apotheek", first_party=False))
    third_party.sign_in(user.email, PASSWORD)  # signs in and allows
    callback = third_party.callback(third_party.authorize(prompt="none"))
    assert callback["code"]


def test_prompt_login_asks_for_the_password_even_with_a_session(rp, signed_in, user):
    login_url = rp.login_url(prompt="login")
    page = rp.client.get(login_url)
    assert page.status_code == 200
    assert 'name="password"' in page.get_data(as_text=True)


def test_prompt_login_gives_a_new_auth_time(rp, signed_in, user):
    first = rp.decode_id_token(signed_in["id_token"])
    later = MORNING + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        callback = rp.sign_in(user.email, PASSWORD, prompt="login")
        again = rp.decode_id_token(rp.exchange(callback["code"]).get_json()["id_token"])
    assert first["auth_time"] == int(MORNING.timestamp())
    assert again["auth_time"] == int(later.timestamp())


def test_prompt_login_does_not_loop(rp, signed_in, user):
    """After the password the parked request resumes with its code; prompt=login is not asked again."""
    response = rp.submit_password(rp.login_url(prompt="login"), user.email, PASSWORD)
    assert rp.callback(response)["code"]


def test_signing_in_again_keeps_the_session_and_the_other_portals(client, rp, signed_in, make_portal, user):
    other = RelyingParty(client, make_portal("Ziekenhuis"))
    with time_machine.travel(MORNING + timedelta(minutes=5), tick=False):
        other_tokens = other.tokens(user.email, PASSWORD)
        callback = rp.sign_in(user.email, PASSWORD, prompt="login")
        again = rp.decode_id_token(rp.exchange(callback["code"]).get_json()["id_token"])
        assert again["sid"] == rp.decode_id_token(signed_in["id_token"])["sid"]
        assert other.userinfo(other_tokens["access_token"]).status_code == 200
    assert audit_events(EventTag.LOGOUT) == []
    assert SsoSession.query.filter(SsoSession.ended_at.is_(None)).count() == 1


def test_signing_in_again_replaces_the_session_cookie(rp, signed_in, user, client):
    old_cookie = client.get_cookie("idp_sso").value
    rp.sign_in(user.email, PASSWORD, prompt="login")
    new_cookie = client.get_cookie("idp_sso").value
    assert new_cookie != old_cookie
    # A copy of the old cookie no longer opens the session.
    client.set_cookie("idp_sso", old_cookie)
    assert rp.callback(rp.authorize(prompt="none"))["error"] == "login_required"


def test_another_person_signing_in_ends_the_first_session(rp, signed_in, make_user, user):
    bram = make_user("bram@example.org")
    callback = rp.sign_in("bram@example.org", PASSWORD, prompt="login")
    claims = rp.decode_id_token(rp.exchange(callback["code"]).get_json()["id_token"])
    assert claims["sub"] == bram.sub
    assert claims["sid"] != rp.decode_id_token(signed_in["id_token"])["sid"]
    [ended] = audit_events(EventTag.LOGOUT)
    assert ended.subject_user_id == user.id


def test_prompt_consent_asks_a_third_party_portal_again(client, make_portal, user):
    third_party = RelyingParty(client, make_portal("Apotheek", first_party=False))
    third_party.sign_in(user.email, PASSWORD)
    response = third_party.authorize(prompt="consent")
    assert response.location.startswith("/login/")
    page = client.get(response.location).get_data(as_text=True)
    assert 'name="stage" value="consent"' in page
    assert 'name="password"' not in page


def test_prompt_none_with_consent_is_refused(client, make_portal, user):
    third_party = RelyingParty(client, make_portal("Apotheek", first_party=False))
    third_party.sign_in(user.email, PASSWORD)
    assert third_party.callback(third_party.authorize(prompt="none consent"))["error"] == "invalid_request"
