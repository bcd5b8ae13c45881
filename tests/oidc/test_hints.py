"""login_hint and id_token_hint (OIDC Core §3.1.2.1)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.helpers import ISSUER, RelyingParty
from tests.oidc.forged_hints import FORGERIES, forge

PASSWORD = "correct horse battery"


def _username_value(page: str) -> str:
    match = re.search(r'<input id="username"[^>]*\svalue="([^"]*)"', page)
    assert match, "no username field"
    return match.group(1)


def test_login_hint_prefills_the_username(rp, user):
    page = rp.client.get(rp.login_url(login_hint="anna@example.org")).get_data(as_text=True)
    assert _username_value(page) == "anna@example.org"


def test_login_hint_is_escaped(rp, user):
    page = rp.client.get(rp.login_url(login_hint='"><script>alert(1)</script>')).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&#34;&gt;&lt;script&gt;" in page or "&quot;&gt;&lt;script&gt;" in page


def test_without_login_hint_the_username_is_empty(rp, user):
    page = rp.client.get(rp.login_url()).get_data(as_text=True)
    assert _username_value(page) == ""


@pytest.fixture
def anna_id_token(rp, user):
    return rp.tokens(user.email, PASSWORD)["id_token"]


def test_id_token_hint_of_the_signed_in_person_with_prompt_none_returns_a_code(rp, anna_id_token):
    callback = rp.callback(rp.authorize(prompt="none", id_token_hint=anna_id_token))
    assert callback["code"]


def test_expired_id_token_hint_is_still_a_hint(rp, anna_id_token, settings):
    later = datetime.now(UTC) + timedelta(seconds=settings.tokens.id_token_seconds + 60)
    with time_machine.travel(later, tick=False):
        callback = rp.callback(rp.authorize(prompt="none", id_token_hint=anna_id_token))
    assert callback["code"]


@pytest.fixture
def bram_id_token(app, portal, make_user):
    """Bram signed in at the same portal in another browser."""
    make_user("bram@example.org")
    other_browser = RelyingParty(app.test_client(), portal)
    return other_browser.tokens("bram@example.org", PASSWORD)["id_token"]


def test_id_token_hint_for_another_person_asks_to_sign_in(rp, anna_id_token, bram_id_token):
    login_url = rp.login_url(id_token_hint=bram_id_token)
    assert 'name="password"' in rp.client.get(login_url).get_data(as_text=True)


def test_id_token_hint_for_another_person_with_prompt_none_is_login_required(rp, anna_id_token, bram_id_token):
    callback = rp.callback(rp.authorize(prompt="none", id_token_hint=bram_id_token))
    assert callback["error"] == "login_required"
    assert callback["state"] == rp.state


def _foreign_token(iss: str = ISSUER) -> str:
    key = RSAKey.generate_key(2048, parameters={"kid": "foreign"})
    return jwt.encode({"alg": "RS256", "kid": "foreign"}, {"iss": iss, "sub": "x", "aud": "y"}, key)


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "foreign"])
def test_invalid_id_token_hint_is_an_invalid_request(rp, anna_id_token, hint):
    if hint == "foreign":
        hint = _foreign_token()
    callback = rp.callback(rp.authorize(id_token_hint=hint))
    assert callback["error"] == "invalid_request"
    assert callback["state"] == rp.state
    assert callback["iss"] == ISSUER


def test_id_token_hint_from_another_issuer_is_an_invalid_request(app, rp, anna_id_token):
    from idp.runtime import keyring

    forged = keyring().sign({"iss": "https://other.example", "sub": "x", "aud": rp.portal.client_id}, "RS256")
    assert rp.callback(rp.authorize(id_token_hint=forged))["error"] == "invalid_request"


def test_a_logout_token_is_not_an_id_token_hint(rp, user, anna_id_token):
    from idp.messaging.backchannel import logout_token
    from idp.sessions import by_sid

    sid = rp.decode_id_token(anna_id_token)["sid"]
    hint = logout_token(rp.portal, by_sid(sid))
    response = rp.authorize(prompt="none", id_token_hint=hint)
    assert response.status_code == 302
    assert "error=invalid_request" in response.location
    assert "code=" not in response.location


def _codes_issued() -> int:
    from sqlalchemy import func, select

    from idp.extensions import db
    from idp.models import AuthorizationCode

    return db.session.scalar(select(func.count()).select_from(AuthorizationCode))


def test_anna_s_own_claims_signed_by_us_are_a_good_hint(rp, anna_id_token):
    """The control for the forgeries below: these very claims, signed with our key, get a code at once."""
    from idp.runtime import keyring

    claims = rp.decode_id_token(anna_id_token)
    assert claims["iss"] == ISSUER and claims["aud"] == rp.portal.client_id and claims["sid"]
    callback = rp.callback(rp.authorize(prompt="none", id_token_hint=keyring().sign(claims, "RS256")))
    assert callback["code"]


@pytest.mark.parametrize("prompt", [None, "none"])
@pytest.mark.parametrize("how", FORGERIES)
def test_anna_s_real_claims_under_alg_none_or_hs256_are_an_invalid_request(rp, anna_id_token, how, prompt):
    hint = forge(rp.client, rp.portal, anna_id_token, how)
    assert hint.split(".")[1] == anna_id_token.split(".")[1]  # her real claims, unchanged
    before = _codes_issued()
    response = rp.authorize(prompt=prompt, id_token_hint=hint)
    callback = rp.callback(response)
    assert callback["error"] == "invalid_request"
    assert callback["state"] == rp.state
    assert "code" not in callback and "code=" not in response.location
    assert _codes_issued() == before
