"""Over https every cookie of the provider carries the __Host- prefix (issue 13): the browser then refuses it
unless it is Secure, host-only (no Domain) and Path=/, so a sibling host or an http page cannot plant one."""

from __future__ import annotations

import pytest

from tests.helpers import RelyingParty


@pytest.fixture
def settings_overrides():
    return {"server": {"issuer": "https://localhost"}}


class OverHttps:
    """A test client whose every request goes to https://localhost; keeps every Set-Cookie it received."""

    def __init__(self, client):
        self.client, self.set_cookies = client, []

    def _keep(self, response):
        self.set_cookies += response.headers.getlist("Set-Cookie")
        return response

    def get(self, *args, **kwargs):
        return self._keep(self.client.get(*args, base_url="https://localhost", **kwargs))

    def post(self, *args, **kwargs):
        # A browser posts our forms with our Referer (Referrer-Policy same-origin); the https CSRF check wants it.
        headers = {"Referer": "https://localhost/login", **kwargs.pop("headers", {})}
        return self._keep(self.client.post(*args, base_url="https://localhost", headers=headers, **kwargs))


def test_every_cookie_of_a_sign_in_over_https_is_host_prefixed_secure_and_host_only(app, make_portal, user):
    portal = make_portal("Huisartsportaal", redirect_uris=["https://portal.example/callback"])
    browser = OverHttps(app.test_client())
    RelyingParty(browser, portal).sign_in(user.email, "correct horse battery")
    names = {cookie.split("=", 1)[0] for cookie in browser.set_cookies}
    assert names == {"__Host-idp_session", "__Host-idp_sso"}
    for cookie in browser.set_cookies:
        attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
        assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes, cookie
        assert not any(part.startswith("domain=") for part in attributes), cookie
