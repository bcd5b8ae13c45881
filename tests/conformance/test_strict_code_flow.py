"""The strict RP's happy paths: every rule of OIDC Core §3.1.3.7 holds for each kind of portal."""

from __future__ import annotations

import time
from urllib.parse import urljoin

import pytest

from tests.conformance.browser import query_of


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_confidential_portal_gets_a_conforming_id_token(provider, browser, strict_rp, auth):
    rp = strict_rp("confidential", auth)
    request, tokens = rp.sign_in(browser)

    assert tokens.claims["sub"] == provider.sub
    assert tokens.claims["nonce"] == request.nonce
    assert tokens.claims["aud"] == rp.portal.client_id
    assert "azp" not in tokens.claims or tokens.claims["azp"] == rp.portal.client_id
    assert tokens.claims["at_hash"]  # present, and StrictRP checked it against the access token
    assert tokens.claims["sid"] and tokens.claims["amr"] == ["pwd"]
    assert tokens.refresh_token


def test_every_endpoint_takes_client_secret_post_as_well_as_basic(provider, browser, strict_rp):
    rp = strict_rp("confidential", "post")
    _, tokens = rp.sign_in(browser)
    refreshed = rp.token_response(rp.refresh(tokens.refresh_token), original=tokens.claims)
    assert rp.introspect(refreshed.access_token).json()["active"] is True
    assert rp.revoke(refreshed.refresh_token, "refresh_token").status_code == 200
    assert rp.introspect(refreshed.access_token).json() == {"active": False}


def test_state_and_nonce_come_back_exactly_as_sent(provider, browser, strict_rp):
    rp = strict_rp()
    state = "a b+c&d=e/f?g#h%20é" + "x" * 400  # long and awkward, as some RP libraries make them
    nonce = "n/é+ &=" + "y" * 200
    request, tokens = rp.sign_in(browser, state=state, nonce=nonce)
    assert request.state == state and tokens.claims["nonce"] == nonce


def test_authorization_request_may_be_posted(provider, browser, strict_rp):
    """OIDC Core §3.1.2.1: the authorization endpoint supports GET and POST (form-encoded)."""
    rp = strict_rp()
    request = rp.authorization_request()
    params = query_of(request.url)
    response = browser.http.post(rp.metadata["authorization_endpoint"], data=params, allow_redirects=False,
                                 timeout=10)
    assert response.is_redirect, (response.status_code, response.text[:300])
    callback = browser.sign_in(urljoin(response.url, response.headers["Location"]), request.redirect_uri)
    tokens = rp.token_response(rp.exchange(rp.code(callback, request), request), request)
    assert tokens.claims["sub"] == provider.sub


def test_public_portal_signs_in_with_pkce_and_no_secret(provider, browser, strict_rp):
    rp = strict_rp("public")
    _, tokens = rp.sign_in(browser)
    assert tokens.claims["sub"] == provider.sub
    assert rp.checked_userinfo(tokens)["sub"] == provider.sub


def test_es256_portal_gets_an_es256_id_token(provider, browser, strict_rp):
    rp = strict_rp("es256")
    _, tokens = rp.sign_in(browser)
    assert tokens.id_token.count(".") == 2
    assert tokens.claims["sub"] == provider.sub  # StrictRP refused anything but ES256 by the right kid


def test_max_age_gets_an_auth_time(provider, browser, strict_rp):
    _, tokens = strict_rp().sign_in(browser, max_age=600)
    assert abs(tokens.claims["auth_time"] - time.time()) < 60


def test_max_age_zero_makes_anna_sign_in_again(provider, browser, strict_rp):
    rp = strict_rp()
    rp.sign_in(browser)
    request = rp.authorization_request(max_age=0)
    page = browser.visit(request.url, request.redirect_uri)
    assert not isinstance(page, str), "max_age=0 must not be answered from the existing session"
    assert "/login/" in page.url


def test_second_portal_signs_in_silently_with_the_same_subject_and_session(provider, browser, strict_rp):
    _, first = strict_rp("confidential").sign_in(browser)
    rp = strict_rp("es256")
    request = rp.authorization_request(prompt="none")
    callback = browser.visit(request.url, request.redirect_uri)
    assert isinstance(callback, str), "prompt=none with a live SSO session must not show a page"
    second = rp.token_response(rp.exchange(rp.code(callback, request), request), request)
    assert second.claims["sub"] == first.claims["sub"]
    assert second.claims["sid"] == first.claims["sid"]
    assert second.claims["auth_time"] == first.claims["auth_time"]


def test_userinfo_answers_get_with_a_bearer_header_and_the_same_sub(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    info = rp.checked_userinfo(tokens)
    assert info["email"] == "anna@example.org"
    assert info["phone_number"] == "+31612345678"
    assert info["name"] == "Anna de Vries"


def test_refresh_rotates_and_the_new_id_token_speaks_of_the_same_sign_in(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)

    refreshed = rp.token_response(rp.refresh(tokens.refresh_token), original=tokens.claims)

    assert refreshed.refresh_token and refreshed.refresh_token != tokens.refresh_token
    assert refreshed.access_token != tokens.access_token
    assert rp.checked_userinfo(refreshed)["sub"] == provider.sub


def test_revoking_the_access_token_ends_userinfo_and_introspection(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    assert rp.introspect(tokens.access_token).json()["active"] is True

    response = rp.revoke(tokens.access_token, "access_token")

    assert response.status_code == 200
    assert rp.userinfo(tokens.access_token).status_code == 401
    assert rp.introspect(tokens.access_token).json() == {"active": False}
    assert rp.introspect(tokens.refresh_token, "refresh_token").json() == {"active": False}


def test_revoking_the_refresh_token_ends_the_grant(provider, browser, strict_rp):
    rp = strict_rp("public")
    _, tokens = rp.sign_in(browser)

    assert rp.revoke(tokens.refresh_token, "refresh_token").status_code == 200

    response = rp.refresh(tokens.refresh_token)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_revoking_an_unknown_or_already_revoked_token_answers_200(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    assert rp.revoke(tokens.access_token).status_code == 200
    assert rp.revoke(tokens.access_token).status_code == 200
    assert rp.revoke("never-issued-token").status_code == 200


def test_introspection_describes_an_active_token_to_its_own_portal(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)

    body = rp.introspect(tokens.access_token, "access_token").json()

    assert body["active"] is True
    assert body["client_id"] == rp.portal.client_id
    assert body["sub"] == provider.sub
    assert body["iss"] == provider.issuer
    assert set(body["scope"].split()) == {"openid", "profile", "email", "phone", "offline_access"}
    assert body["exp"] > time.time()


def test_introspection_by_another_portal_says_only_inactive(provider, browser, strict_rp):
    _, tokens = strict_rp("confidential").sign_in(browser)
    assert strict_rp("es256").introspect(tokens.access_token).json() == {"active": False}


def test_introspection_needs_client_authentication(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    response = rp.post("introspection_endpoint", {"token": tokens.access_token}, auth="none")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
