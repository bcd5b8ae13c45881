"""One live provider per database backend for tests/api, with the credentials a caller of each endpoint holds:
a confidential portal (HTTP Basic), a person's access token from a real sign-in at it, and a SCIM client's
token (client_credentials with the scim scope)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
import requests

from tests.conformance.browser import Browser
from tests.conformance.live import LiveProvider, provider_on_backend
from tests.conformance.strict_rp import StrictRP
from tests.conftest import BACKENDS
from tests.helpers import basic_auth, bearer


@dataclass
class Callers:
    provider: LiveProvider
    portal_basic: dict[str, str]
    person_bearer: dict[str, str]
    scim_bearer: dict[str, str]
    scim_basic: dict[str, str]

    @property
    def base(self) -> str:
        return self.provider.issuer

    def headers_for(self, path: str) -> dict[str, str]:
        """The credentials the caller of this endpoint holds (none for the public documents)."""
        if path in ("/token", "/revoke", "/introspect"):
            return self.portal_basic
        if path == "/userinfo":
            return self.person_bearer
        if path.startswith("/scim/v2"):
            return self.scim_bearer
        return {}

    def refused_headers_for(self, path: str) -> list[dict[str, str]]:
        """What a caller without the right credentials sends: nothing, or a wrong secret or token."""
        if path in ("/token", "/revoke", "/introspect"):
            client_id = base64.b64decode(self.portal_basic["Authorization"].split()[1]).decode().partition(":")[0]
            return [{}, basic_auth(client_id, "not-the-secret")]
        return [{}, bearer("not-a-token")]


def _scim_client(live: LiveProvider) -> tuple[dict[str, str], str]:
    """A SCIM client's HTTP Basic credentials and an access token of it."""
    from idp.extensions import db
    from idp.portals.registry import register

    with live.app.app_context():
        service = register("HR-systeem", [], post_logout_redirect_uris=[], first_party=True, service=True,
                           scopes=["scim"])
        db.session.commit()
        client_id, secret = service.client.client_id, service.secret
        db.session.remove()
    response = requests.post(live.issuer + "/token", data={"grant_type": "client_credentials", "scope": "scim"},
                             headers=basic_auth(client_id, secret), timeout=10)
    assert response.status_code == 200, response.text
    return basic_auth(client_id, secret), response.json()["access_token"]


@pytest.fixture(scope="session", params=BACKENDS)
def callers(request, tmp_path_factory, logout_receiver) -> Callers:
    with provider_on_backend(request.param, tmp_path_factory.mktemp(f"api-{request.param}"), "api",
                             logout_receiver) as live:
        portal = live.portals["confidential"]
        _, tokens = StrictRP(live.issuer, portal).sign_in(Browser(live.issuer))
        scim_basic, scim_token = _scim_client(live)
        yield Callers(provider=live, portal_basic=basic_auth(portal.client_id, portal.secret),
                      person_bearer=bearer(tokens.access_token), scim_bearer=bearer(scim_token), scim_basic=scim_basic)
