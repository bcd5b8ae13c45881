"""Errors at the authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, RFC 9207).

Who is to blame decides where the error goes: a request whose client or redirect_uri cannot be
trusted gets an error page for the person and is never redirected; any other bad request is sent
back to the portal's registered redirect_uri with error, state and iss.
"""

from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import PendingAuthorization
from tests.helpers import ISSUER, RelyingParty


def _error_page(response) -> str:
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def _error_redirect(rp, response) -> dict:
    callback = rp.callback(response)
    assert callback["iss"] == ISSUER
    assert "code" not in callback
    return callback


def test_unknown_client_gets_an_error_page(rp, user):
    response = rp.authorize(client_id="no-such-portal")
    assert "invalid_client" in _error_page(response)


def test_missing_client_id_gets_an_error_page(rp, user):
    response = rp.authorize(client_id=None)
    assert "invalid_client" in _error_page(response)


def _parked_sign_ins() -> int:
    from idp.extensions import db
    from idp.models import PendingAuthorization

    return db.session.scalar(select(func.count()).select_from(PendingAuthorization))


def test_the_registered_redirect_uri_parks_a_sign_in(rp, user):
    """The control for the tests below: the one registered URI, exactly, parks a sign-in."""
    response = rp.authorize(redirect_uri="http://127.0.0.1:9001/callback")
    assert response.status_code == 302 and response.location.startswith("/login/")
    assert _parked_sign_ins() == 1


@pytest.mark.parametrize("uri", [
    "http://evil.example/callback",
    "http://127.0.0.1:9001/callback/",  # trailing slash: matching is exact
    "http://127.0.0.1:9001/callback?next=/x",  # extra query
    "http://127.0.0.1:9001/CALLBACK",
    "http://127.0.0.1:9999/callback",  # other port
    "https://127.0.0.1:9001/callback",  # the scheme alone
    "http://127.0.0.1:9001/callback/x",  # an extra path segment
    "http://127.0.0.1:9001/callbackx",  # a longer last segment
    "http://127.0.0.1:9001/callback/../callback",
    "http://127.0.0.1:9001/x/../callback",
    "http://127.0.0.1:9001/%63allback",  # an encoded letter
    "http://127.0.0.1:9001/callback%2F",  # an encoded slash
    "http://127.0.0.1:9001/callback%00",
    "http://127.0.0.1:9001/callback#x",  # a fragment
    "http://127.0.0.1:9001/callback#",
    "http://user@127.0.0.1:9001/callback",  # userinfo
    "http://user:pw@127.0.0.1:9001/callback",
    "http://127.0.0.1:9001@evil.example/callback",  # the registered authority as userinfo
    "http://127.0.0.1:9001\\@evil.example/callback",
    "http://localhost:9001/callback",  # another name for the same host
    "http://[::1]:9001/callback",
    "http://127.1:9001/callback",
    "http://127.0.0.1:9001/callback?",  # an empty query
    "http://127.0.0.1:9001//callback",
    " http://127.0.0.1:9001/callback",
    "http://127.0.0.1:9001/callback ",
])
def test_unregistered_redirect_uri_gets_an_error_page(rp, user, uri):
    assert rp.portal.redirect_uris == ["http://127.0.0.1:9001/callback"]
    response = rp.authorize(redirect_uri=uri)
    assert "invalid_request" in _error_page(response)
    assert _parked_sign_ins() == 0


@pytest.mark.parametrize("uri", [
    "HTTPS://PORTAL.EXAMPLE/callback",  # scheme and host case
    "https://PORTAL.example/callback",  # host case alone
    "https://portal.example./callback",  # the fully qualified form
    "https://evil.portal.example/callback",  # a subdomain
    "https://portal.example.evil.example/callback",  # the registered host as a subdomain of another
    "https://portal.example:443/callback",  # the default port said out loud
    "https://portal.example:8443/callback",
    "http://portal.example/callback",  # the scheme alone
    "http://portal.example:443/callback",
    "https://portal.example/callback?",  # an empty query
    "https://portal.example/callback#",  # an empty fragment
    "https://portal.example@evil.example/callback",
    "https://evil.example@portal.example/callback",  # userinfo before the right host
    "https://portal.example/callback/..;/callback",
    "https://portal.example/%63allback",
])
def test_unregistered_redirect_uri_at_a_portal_registered_by_host_name_gets_an_error_page(client, make_portal, user,
                                                                                         uri):
    portal = make_portal(redirect_uris=["https://portal.example/callback"])
    rp = RelyingParty(client, portal)
    response = rp.authorize(redirect_uri=uri)
    assert "invalid_request" in _error_page(response)
    assert _parked_sign_ins() == 0
    # The control: the URI as registered parks the sign-in.
    assert rp.authorize(redirect_uri="https://portal.example/callback").location.startswith("/login/")
    assert _parked_sign_ins() == 1


def test_unregistered_redirect_uri_wins_over_other_errors(rp, user):
    """Even an unsupported response_type must not be reported to an unregistered URI."""
    response = rp.authorize(redirect_uri="http://evil.example/cb", response_type="token")
    _error_page(response)


def test_missing_redirect_uri_with_several_registered_gets_an_error_page(client, make_portal, user):
    portal = make_portal(redirect_uris=["http://127.0.0.1:8001/a", "http://127.0.0.1:8001/b"])
    rp = RelyingParty(client, portal)
    response = rp.authorize(redirect_uri=None)
    assert "invalid_request" in _error_page(response)


@pytest.mark.parametrize("scope", ["openid profile", "profile"])
def test_a_request_without_redirect_uri_gets_an_error_page_never_a_redirect(client, rp, user, scope):
    """OIDC Core §3.1.2.1 requires redirect_uri (issue 13): without it the person gets a page, even when the
    portal registered one address, and a plain OAuth request is held to the same rule."""
    before = db.session.scalar(select(func.count()).select_from(PendingAuthorization))
    response = rp.authorize(redirect_uri=None, scope=scope)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_request" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PendingAuthorization)) == before


@pytest.mark.parametrize(("name", "limit"), [("nonce", 255), ("state", 1000), ("login_hint", 320)])
def test_overlong_parameters_are_refused_before_anyone_signs_in(rp, user, name, limit):
    response = rp.authorize(**{name: "x" * (limit + 1)})
    assert response.status_code == 302
    assert "error=invalid_request" in response.location


@pytest.mark.parametrize("scope", ["openid admin", "openid profile roles:write"])
def test_unknown_scope_is_sent_back_as_invalid_scope(rp, user, scope):
    callback = _error_redirect(rp, rp.authorize(scope=scope))
    assert callback["error"] == "invalid_scope"
    assert callback["state"] == rp.state


@pytest.mark.parametrize("response_type", ["token", "id_token", "id_token token", "code id_token",
                                           "code token", "code id_token token", "none", "foo"])
def test_implicit_and_hybrid_flows_are_unsupported(rp, user, response_type):
    callback = _error_redirect(rp, rp.authorize(response_type=response_type))
    assert callback["error"] == "unsupported_response_type"
    assert callback["state"] == rp.state


def test_missing_response_type_is_an_invalid_request(rp, user):
    callback = _error_redirect(rp, rp.authorize(response_type=None))
    assert callback["error"] == "invalid_request"
    assert callback["state"] == rp.state


def test_request_object_is_not_supported(rp, user):
    callback = _error_redirect(rp, rp.authorize(request="eyJhbGciOiJub25lIn0.e30."))
    assert callback["error"] == "request_not_supported"
    assert callback["state"] == rp.state


def test_request_uri_is_not_supported(rp, user):
    callback = _error_redirect(rp, rp.authorize(request_uri="https://portal.example/request.jwt"))
    assert callback["error"] == "request_uri_not_supported"
    assert callback["state"] == rp.state


@pytest.mark.parametrize("mode", ["fragment", "form_post", "web_message"])
def test_only_query_response_mode(rp, user, mode):
    callback = _error_redirect(rp, rp.authorize(response_mode=mode))
    assert callback["error"] == "invalid_request"


@pytest.mark.parametrize("max_age", ["-1", "soon", "1.5", "9999999999"])
def test_malformed_max_age_is_an_invalid_request(rp, user, max_age):
    callback = _error_redirect(rp, rp.authorize(max_age=max_age))
    assert callback["error"] == "invalid_request"
    assert callback["state"] == rp.state


def test_prompt_none_cannot_be_combined(rp, user):
    callback = _error_redirect(rp, rp.authorize(prompt="none login"))
    assert callback["error"] == "invalid_request"


def _authorize_with(rp, name: str, second: str):
    """An authorization request carrying one parameter twice (RFC 6749 §3.1)."""
    params = rp.authorize_params()
    params.setdefault(name, second)
    pairs = [*list(params.items()), (name, second)]
    return rp.client.get("/authorize?" + urlencode(pairs))


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_duplicated_client_id_or_redirect_uri_gets_an_error_page(rp, user, name):
    second = "other-portal" if name == "client_id" else "http://evil.example/cb"
    body = _error_page(_authorize_with(rp, name, second))
    assert "invalid_request" in body


def test_duplicated_identical_redirect_uri_is_still_refused(rp, user):
    _error_page(_authorize_with(rp, "redirect_uri", rp.redirect_uri))


@pytest.mark.parametrize(("name", "second"), [
    ("response_type", "code"), ("scope", "openid"), ("nonce", "n2"), ("code_challenge", "x" * 43),
    ("prompt", "login"), ("max_age", "0"), ("login_hint", "someone@example.org"),
])
def test_other_duplicated_parameters_are_sent_back_as_invalid_request(rp, user, name, second):
    callback = _error_redirect(rp, _authorize_with(rp, name, second))
    assert callback["error"] == "invalid_request"
    assert callback["state"] == rp.state


def test_duplicated_state_is_an_invalid_request_without_a_state(rp, user):
    callback = _error_redirect(rp, _authorize_with(rp, "state", "second-state"))
    assert callback["error"] == "invalid_request"
    assert "state" not in callback


def test_state_is_echoed_exactly(rp, user):
    odd_state = "a b+c/d=é&x"
    callback = _error_redirect(rp, rp.authorize(state=odd_state, response_type="token"))
    assert callback["state"] == odd_state


def test_iss_is_sent_with_a_successful_response_too(rp, user):
    callback = rp.sign_in(user.email, "correct horse battery")
    assert callback["iss"] == ISSUER
    assert callback["state"] == rp.state
