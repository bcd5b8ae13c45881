"""A portal built on idpyoidc (not Authlib) signs Anna in, reads her profile, refreshes and logs out."""

from __future__ import annotations

import pytest

from tests.conformance.browser import query_of
from tests.conformance.idpy_rp import IdpyPortal


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_idpyoidc_portal_signs_in_with_code_and_pkce(provider, browser, auth_method):
    portal = IdpyPortal(provider.issuer, provider.portals["confidential"], auth_method)
    url = portal.begin()
    sent = query_of(url)
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]

    result = portal.finalize(query_of(browser.sign_in(url, portal.portal.redirect_uri)))

    assert "error" not in result, result
    id_token = result["id_token"]
    assert id_token["iss"] == provider.issuer
    assert id_token["sub"] == provider.sub
    assert id_token["nonce"] == sent["nonce"]
    assert result["userinfo"]["sub"] == provider.sub
    assert result["userinfo"]["email"] == "anna@example.org"


def test_idpyoidc_portal_with_es256_verifies_an_es256_id_token(provider, browser):
    portal = IdpyPortal(provider.issuer, provider.portals["es256"])
    url = portal.begin()
    result = portal.finalize(query_of(browser.sign_in(url, portal.portal.redirect_uri)))
    assert "error" not in result, result
    assert result["id_token"].jws_header["alg"] == "ES256"
    assert result["id_token"]["sub"] == provider.sub


def test_idpyoidc_portal_refreshes_and_gets_a_new_rotated_refresh_token(provider, browser):
    portal = IdpyPortal(provider.issuer, provider.portals["confidential"])
    url = portal.begin()
    result = portal.finalize(query_of(browser.sign_in(url, portal.portal.redirect_uri)))
    first = portal.handler.get_session_information(result["state"])["refresh_token"]

    refreshed = portal.refresh(result["state"])

    assert "error" not in refreshed.to_dict(), refreshed.to_dict()
    assert refreshed["access_token"] != result["token"]
    assert refreshed["refresh_token"] != first
    assert refreshed["__verified_id_token"]["sub"] == provider.sub


def test_idpyoidc_portal_logs_out_with_its_own_end_session_request(provider, browser):
    portal = IdpyPortal(provider.issuer, provider.portals["confidential"])
    url = portal.begin()
    result = portal.finalize(query_of(browser.sign_in(url, portal.portal.redirect_uri)))

    logout_url = portal.logout_url(result["state"])
    landed = browser.visit(logout_url, portal.portal.post_logout_redirect_uri)

    assert isinstance(landed, str), f"no redirect back to the portal: {landed.status_code} {landed.text[:300]}"
    assert query_of(landed)["state"] == query_of(logout_url)["state"]
    # The SSO session is gone: a silent sign-in now needs a login.
    again = query_of(browser.visit(portal.begin(prompt="none"), portal.portal.redirect_uri))
    assert again["error"] == "login_required"
