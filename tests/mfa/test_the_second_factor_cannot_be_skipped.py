"""After the password at a portal that requires a second factor, nothing but the second factor moves the sign-in
on (issue 13): not another stage's form, not an empty code, not /authorize again, not a callback URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AuthorizationCode, SsoSession
from tests.flows.account_helpers import path
from tests.helpers import RelyingParty, csrf_token, query
from tests.mfa_helpers import SignIn, stage_of

PASSWORD = "correct horse battery"


def codes_issued() -> int:
    return db.session.scalar(select(func.count()).select_from(AuthorizationCode))


def sessions() -> int:
    return db.session.scalar(select(func.count()).select_from(SsoSession))


def locations(client, response, hops: int = 5) -> list[str]:
    """Every Location of this response and of the redirects it starts here at the provider (never followed to a
    portal)."""
    seen = []
    for _ in range(hops):
        location = response.headers.get("Location")
        if location is None:
            break
        seen.append(location)
        parts = urlsplit(location)
        if parts.netloc not in ("", "localhost"):
            break
        response = client.get(path(location))
    return seen


def assert_not_past_the_second_factor(client, sign_in: SignIn, seen: list[str]) -> None:
    assert not any("code=" in location for location in seen), seen
    assert codes_issued() == 0
    assert sessions() == 0
    assert sign_in.stage == "second_factor"


@pytest.fixture
def at_second_factor(client, strict_rp, user, add_factor) -> SignIn:
    """Anna gave her password at the portal that requires a second factor; the SMS page is next."""
    add_factor(user, "sms")
    sign_in = SignIn(client, strict_rp.login_url())
    assert sign_in.password(user.email).status_code == 302
    assert sign_in.stage == "second_factor"
    return sign_in


@pytest.mark.parametrize("form", [
    {"stage": "consent", "decision": "allow"},
    {"stage": "recovery_codes", "action": "saved"},
    {"stage": "enrol", "action": "choose:totp"},
    {"stage": "account_allowed", "action": "continue"},
    {"stage": "change_password", "new_password": "Lente-bloem!2026", "confirm_password": "Lente-bloem!2026"},
    {"stage": "password", "username": "anna@example.org", "password": PASSWORD},
    {"stage": ""},
    {},
], ids=["consent", "recovery_codes", "enrol", "account_allowed", "change_password", "password again",
        "empty stage", "no stage"])
def test_another_stage_s_form_does_not_pass_the_second_factor(client, at_second_factor, form):
    html = at_second_factor.page()
    response = client.post(at_second_factor.url, data={"csrf_token": csrf_token(html), **form})
    # Not refused by an earlier guard (CSRF answers 400): the stale stage is answered with the current one.
    assert response.status_code == 302 and response.location.endswith(at_second_factor.url)
    assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))


@pytest.mark.parametrize("form", [
    {"code": ""},
    {},
    {"code": "   "},
    {"code": "", "trust": "1"},
    {"code": "", "action": "verify"},
    {"action": ""},
], ids=["empty code", "no code", "blank code", "empty code with trust", "verify without code", "empty action"])
def test_a_second_factor_form_without_a_code_does_not_pass(client, at_second_factor, form):
    html = at_second_factor.page()
    response = client.post(at_second_factor.url, data={"csrf_token": csrf_token(html), "stage": "second_factor",
                                                       **form})
    assert response.status_code == 200
    assert stage_of(response.get_data(as_text=True)) == "second_factor"
    assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))


def test_authorize_again_at_the_same_portal_starts_over_at_the_password(client, strict_rp, at_second_factor):
    response = strict_rp.authorize()
    assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))
    assert response.location.startswith("/login/") and response.location != at_second_factor.url
    assert stage_of(client.get(response.location).get_data(as_text=True)) == "password"


def test_authorize_again_at_the_same_portal_with_prompt_none_gets_an_error(client, strict_rp, at_second_factor):
    response = strict_rp.authorize(prompt="none")
    assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))
    assert query(response.location)["error"] in ("login_required", "interaction_required")


@pytest.mark.parametrize("mfa", ["optional", "off"])
def test_another_portal_does_not_take_the_password_alone(client, make_portal, at_second_factor, mfa):
    other = RelyingParty(client, make_portal("Apotheek", mfa=mfa))
    response = other.authorize()
    assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))
    assert stage_of(client.get(response.location).get_data(as_text=True)) == "password"


@pytest.mark.parametrize("mfa", ["optional", "off"])
def test_another_portal_with_prompt_none_gets_an_error(client, make_portal, at_second_factor, mfa):
    other = RelyingParty(client, make_portal("Apotheek", mfa=mfa))
    response = other.authorize(prompt="none")
    assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))
    assert query(response.location)["error"] in ("login_required", "interaction_required")


def test_the_portal_s_callback_address_does_not_finish_the_sign_in(client, strict_rp, at_second_factor):
    """The provider has no such page: the portal's redirect_uri, opened here, is no way past the stage."""
    for base_url in ("http://127.0.0.1:9001", "http://localhost"):
        response = client.get(urlsplit(strict_rp.redirect_uri).path + "?state=" + strict_rp.state, base_url=base_url)
        assert response.status_code == 404
        assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))


def test_the_account_callback_does_not_finish_the_sign_in(client, strict_rp, at_second_factor):
    response = client.get("/account/callback?state=" + strict_rp.state)
    assert response.status_code == 400
    assert_not_past_the_second_factor(client, at_second_factor, locations(client, response))


def test_the_account_pages_own_callback_does_not_skip_their_second_factor(client, user, add_factor):
    add_factor(user, "sms")
    started = client.get("/account")
    assert started.status_code == 302 and "/authorize?" in started.location
    state = query(started.location)["state"]
    login = client.get(path(started.location))
    assert login.location.startswith("/login/")
    sign_in = SignIn(client, login.location)
    assert sign_in.password(user.email).status_code == 302
    assert sign_in.stage == "second_factor"

    response = client.get(f"/account/callback?state={state}")

    assert response.status_code == 400
    assert_not_past_the_second_factor(client, sign_in, locations(client, response))
    again = client.get("/account")  # still no account page: sign in first
    assert again.status_code == 302 and "/authorize?" in again.location
