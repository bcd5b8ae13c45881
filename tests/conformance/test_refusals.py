"""Every way a portal, an attacker or time can get it wrong, answered the way the specs say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conformance.browser import query_of
from tests.conformance.forge import tamper_payload, tamper_signature
from tests.conformance.strict_rp import pkce_pair


def _code(rp, browser, **extra):
    request = rp.authorization_request(**extra)
    return request, rp.code(browser.sign_in(request.url, request.redirect_uri), request)


def _error(response, status: int, error: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.json()["error"] == error, response.json()
    assert "no-store" in response.headers.get("Cache-Control", "")


# -- PKCE -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("portal", ["confidential", "public"])
def test_wrong_code_verifier_gets_invalid_grant(provider, browser, strict_rp, portal):
    rp = strict_rp(portal)
    request, code = _code(rp, browser)
    other_verifier, _ = pkce_pair()
    _error(rp.exchange(code, request, verifier=other_verifier), 400, "invalid_grant")


def test_missing_code_verifier_gets_invalid_request(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    request, code = _code(rp, browser)
    response = rp.post("token_endpoint", {"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": request.redirect_uri})
    _error(response, 400, "invalid_request")


def test_plain_pkce_is_refused_back_at_the_portal(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    verifier, _ = pkce_pair()
    request = rp.authorization_request(code_challenge=verifier, code_challenge_method="plain")
    callback = browser.visit(request.url, request.redirect_uri)
    assert isinstance(callback, str), "an error about PKCE goes back to the registered redirect_uri"
    params = rp.authorization_response(callback, request)
    assert params["error"] == "invalid_request"
    assert "code" not in params


def test_public_portal_without_pkce_is_refused(provider, browser, strict_rp):
    rp = strict_rp("public")
    request = rp.authorization_request(pkce=False)
    callback = browser.visit(request.url, request.redirect_uri)
    assert isinstance(callback, str)
    params = rp.authorization_response(callback, request)
    assert params["error"] == "invalid_request"
    assert "code" not in params


@pytest.mark.parametrize("response_type", ["code id_token", "id_token", "token"])
def test_implicit_and_hybrid_response_types_are_refused(provider, browser, strict_rp, response_type):
    rp = strict_rp("confidential")
    request = rp.authorization_request(response_type=response_type)
    params = rp.authorization_response(browser.visit(request.url, request.redirect_uri), request)
    assert params["error"] == "unsupported_response_type"
    assert "code" not in params and "id_token" not in params and "access_token" not in params


# -- codes ------------------------------------------------------------------------------------------

def test_reused_code_is_refused_and_revokes_what_it_bought(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    request, code = _code(rp, browser)
    tokens = rp.token_response(rp.exchange(code, request), request)
    assert rp.userinfo(tokens.access_token).status_code == 200

    _error(rp.exchange(code, request), 400, "invalid_grant")

    assert rp.userinfo(tokens.access_token).status_code == 401
    assert rp.introspect(tokens.access_token).json() == {"active": False}
    _error(rp.refresh(tokens.refresh_token), 400, "invalid_grant")


def test_expired_code_is_refused(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    request, code = _code(rp, browser)
    lifetime = provider.app.extensions["idp.settings"].tokens.code_seconds
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=lifetime + 1), tick=True):
        _error(rp.exchange(code, request), 400, "invalid_grant")


def test_code_of_another_portal_is_refused(provider, browser, strict_rp):
    request, code = _code(strict_rp("confidential"), browser)
    _error(strict_rp("es256").exchange(code, request), 400, "invalid_grant")


def test_made_up_code_is_refused(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    request = rp.authorization_request()
    _error(rp.exchange("not-a-code", request), 400, "invalid_grant")


# -- redirect_uri and client ------------------------------------------------------------------------

@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1:9100/callback/",
    "http://127.0.0.1:9100/callback?next=/",
    "http://127.0.0.1:9100/other",
    "https://attacker.example/callback",
])
def test_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(provider, browser, strict_rp,
                                                                       redirect_uri):
    request = strict_rp("confidential").authorization_request(redirect_uri=redirect_uri)
    page = browser.visit(request.url, redirect_uri.split("?")[0])
    assert not isinstance(page, str), f"redirected to an unregistered URI: {page}"
    assert page.status_code == 400
    assert "invalid_request" in page.text or "invalid_redirect_uri" in page.text
    assert "/login/" not in page.url


def test_unknown_client_gets_an_error_page_and_no_redirect(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    request = rp.authorization_request()
    url = request.url.replace(rp.portal.client_id, "no-such-portal")
    page = browser.visit(url, request.redirect_uri)
    assert not isinstance(page, str), f"redirected for an unknown client: {page}"
    assert page.status_code == 400
    assert "invalid_client" in page.text


def test_other_redirect_uri_at_the_token_endpoint_is_refused(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    request, code = _code(rp, browser)
    response = rp.exchange(code, request, redirect_uri="http://127.0.0.1:9100/elsewhere")
    _error(response, 400, "invalid_grant")


def test_token_request_without_the_redirect_uri_it_was_issued_for_is_refused(provider, browser, strict_rp):
    rp = strict_rp("confidential")
    request, code = _code(rp, browser)
    response = rp.post("token_endpoint", {"grant_type": "authorization_code", "code": code,
                                          "code_verifier": request.verifier})
    _error(response, 400, "invalid_grant")


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_wrong_client_secret_gets_invalid_client(provider, browser, strict_rp, auth):
    rp = strict_rp("confidential", auth)
    request, code = _code(rp, browser)
    rp.portal = type(rp.portal)(**{**vars(rp.portal), "secret": "wrong-secret"})
    response = rp.exchange(code, request)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    if auth == "basic":
        assert response.headers["WWW-Authenticate"].lower().startswith("basic")


# -- tampered tokens --------------------------------------------------------------------------------

def test_tampered_access_token_is_refused_by_userinfo(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    response = rp.userinfo(tokens.access_token[:-2] + ("xy" if not tokens.access_token.endswith("xy") else "zz"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_tampered_id_token_hint_is_refused_at_logout(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    for forged in (tamper_payload(tokens.id_token, sub="someone-else"), tamper_signature(tokens.id_token)):
        page = browser.visit(rp.end_session_url(id_token_hint=forged,
                                                post_logout_redirect_uri=rp.portal.post_logout_redirect_uri),
                             rp.portal.post_logout_redirect_uri)
        assert not isinstance(page, str), "a forged hint must not lead back to the portal"
        assert page.status_code == 400
    # Nothing was ended by the forgeries: a silent sign-in still works.
    request = rp.authorization_request(prompt="none")
    assert "code" in query_of(browser.visit(request.url, request.redirect_uri))


def test_tampered_id_token_hint_is_refused_at_authorize(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    request = rp.authorization_request(prompt="none", id_token_hint=tamper_signature(tokens.id_token))
    params = rp.authorization_response(browser.visit(request.url, request.redirect_uri), request)
    assert params["error"] == "invalid_request"
    assert "code" not in params


def test_expired_access_token_is_refused_by_userinfo_and_inactive_at_introspection(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    later = datetime.now(UTC) + timedelta(seconds=tokens.raw["expires_in"] + 1)
    with time_machine.travel(later, tick=True):
        response = rp.userinfo(tokens.access_token)
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        assert rp.introspect(tokens.access_token).json() == {"active": False}
        # The refresh token outlives the access token: that is what it is for.
        assert rp.refresh(tokens.refresh_token).status_code == 200


# -- refresh rotation -------------------------------------------------------------------------------

@pytest.mark.parametrize("portal", ["confidential", "public"])
def test_rotated_refresh_token_reused_revokes_the_whole_family(provider, browser, strict_rp, portal):
    rp = strict_rp(portal)
    _, tokens = rp.sign_in(browser)
    rotated = rp.token_response(rp.refresh(tokens.refresh_token), original=tokens.claims)

    _error(rp.refresh(tokens.refresh_token), 400, "invalid_grant")

    _error(rp.refresh(rotated.refresh_token), 400, "invalid_grant")
    assert rp.userinfo(rotated.access_token).status_code == 401
    if rp.portal.secret:  # introspection is for confidential portals only
        assert rp.introspect(rotated.refresh_token, "refresh_token").json() == {"active": False}


def test_refresh_token_of_another_portal_is_refused(provider, browser, strict_rp):
    _, tokens = strict_rp("confidential").sign_in(browser)
    _error(strict_rp("es256").refresh(tokens.refresh_token), 400, "invalid_grant")
