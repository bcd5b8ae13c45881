"""Logging out at one portal logs Anna out everywhere: RP-initiated and back-channel logout."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from tests.conformance.browser import query_of


def _silent_sign_in_needs_login(rp, browser) -> bool:
    request = rp.authorization_request(prompt="none")
    params = rp.authorization_response(browser.visit(request.url, request.redirect_uri), request)
    return params.get("error") == "login_required"


def test_logout_with_only_an_id_token_hint_and_a_post_logout_redirect_uri(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    target = rp.portal.post_logout_redirect_uri

    landed = browser.visit(rp.end_session_url(id_token_hint=tokens.id_token, post_logout_redirect_uri=target),
                           target)

    assert landed == target, landed
    assert _silent_sign_in_needs_login(rp, browser)


def test_logging_out_twice_with_the_same_hint_still_returns_to_the_portal(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    target = rp.portal.post_logout_redirect_uri
    url = rp.end_session_url(id_token_hint=tokens.id_token, post_logout_redirect_uri=target)
    assert browser.visit(url, target) == target
    assert browser.visit(url, target) == target


def test_logout_echoes_state_to_the_portal(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    target = rp.portal.post_logout_redirect_uri
    landed = browser.visit(rp.end_session_url(id_token_hint=tokens.id_token, post_logout_redirect_uri=target,
                                              client_id=rp.portal.client_id, state="af0ifjsldkj"), target)
    assert isinstance(landed, str), landed
    assert landed.split("?")[0] == target
    assert query_of(landed) == {"state": "af0ifjsldkj"}


def test_logout_accepts_an_expired_id_token_hint_once_the_person_confirms(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    target = rp.portal.post_logout_redirect_uri
    expired = datetime.fromtimestamp(tokens.claims["exp"] + 60, UTC)
    with time_machine.travel(expired, tick=True):
        page = browser.visit(rp.end_session_url(id_token_hint=tokens.id_token,
                                                post_logout_redirect_uri=target), target)
        assert not isinstance(page, str), "an expired hint logged out without asking"
        landed = browser.submit(page, target, confirm="yes")
    assert landed == target, landed
    assert _silent_sign_in_needs_login(rp, browser)


def test_unregistered_post_logout_redirect_uri_is_not_followed(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    elsewhere = "https://attacker.example/logged-out"
    page = browser.visit(rp.end_session_url(id_token_hint=tokens.id_token, post_logout_redirect_uri=elsewhere),
                         elsewhere)
    assert not isinstance(page, str), f"followed an unregistered post_logout_redirect_uri: {page}"
    assert page.status_code == 400


def test_back_channel_logout_tells_every_portal_of_the_session(provider, browser, strict_rp,
                                                               logout_receiver):
    listener = strict_rp("backchannel")
    _, at_listener = listener.sign_in(browser)
    rp = strict_rp("confidential")
    request = rp.authorization_request()
    callback = browser.visit(request.url, request.redirect_uri)  # SSO: no password asked again
    assert isinstance(callback, str), "the second portal should sign in without a page"
    tokens = rp.token_response(rp.exchange(rp.code(callback, request), request), request)
    assert tokens.claims["sid"] == at_listener.claims["sid"]

    target = rp.portal.post_logout_redirect_uri
    assert browser.visit(rp.end_session_url(id_token_hint=tokens.id_token, post_logout_redirect_uri=target),
                         target) == target

    claims = _logout_token_for(listener, logout_receiver, at_listener.claims["sid"])
    assert claims["sub"] == at_listener.claims["sub"]
    assert claims["iss"] == provider.issuer
    assert "application/x-www-form-urlencoded" in logout_receiver.server.content_types[-1]
    assert _silent_sign_in_needs_login(listener, browser)


def test_back_channel_logout_when_the_listening_portal_itself_logs_out(provider, browser, strict_rp,
                                                                      logout_receiver):
    listener = strict_rp("backchannel")
    _, tokens = listener.sign_in(browser)
    target = listener.portal.post_logout_redirect_uri
    assert browser.visit(listener.end_session_url(id_token_hint=tokens.id_token,
                                                  post_logout_redirect_uri=target), target) == target
    claims = _logout_token_for(listener, logout_receiver, tokens.claims["sid"])
    assert claims["sub"] == provider.sub


def _logout_token_for(listener, receiver, sid: str) -> dict:
    """The checked logout token for this session (others in the queue belong to other tests' sessions)."""
    for _ in range(20):
        claims = listener.check_logout_token(receiver.next_token())
        if claims.get("sid") == sid:
            return claims
    raise AssertionError(f"no logout token for sid {sid}")
