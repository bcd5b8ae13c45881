"""SCIM clients and their tokens: a client_credentials client with the scim scope, as `idp clients add --service
--scope scim [--organisation CODE]` registers it, and an access token from the token endpoint."""

from __future__ import annotations

import pytest

from idp import clock
from idp.accounts import admins, organisations
from idp.extensions import db
from tests.helpers import basic_auth

SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimClient:
    """A test client speaking SCIM with one bearer token."""

    def __init__(self, client, token: str, client_id: str):
        self.client, self.token, self.client_id = client, token, client_id

    def _headers(self, headers: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, headers: dict | None = None, **params):
        return self.client.get("/scim/v2" + path, headers=self._headers(headers), query_string=params)

    def send(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        return self.client.open("/scim/v2" + path, method=method, headers=self._headers(headers),
                                data=None if body is None else __import__("json").dumps(body), content_type=SCIM)

    def post(self, path, body, headers=None):
        return self.send("POST", path, body, headers)

    def put(self, path, body, headers=None):
        return self.send("PUT", path, body, headers)

    def patch(self, path, operations: list[dict], headers=None):
        return self.send("PATCH", path, {"schemas": [PATCH], "Operations": operations}, headers)

    def delete(self, path, headers=None):
        return self.send("DELETE", path, None, headers)


def token_for(client, service, scope: str = "scim") -> str:
    response = client.post("/token", headers=basic_auth(service.client_id, service.secret),
                           data={"grant_type": "client_credentials", "scope": scope})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


@pytest.fixture
def make_org(app):
    def make(name: str, domains: tuple[str, ...] = ()):
        org = organisations.create(admins.operator("test"), name, "care_provider", clock.now(), email_domains=domains)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_scim(client, make_portal):
    def make(organisation=None, scopes=("scim",)) -> ScimClient:
        service = make_portal("HR-systeem", service=True, redirect_uris=[], post_logout_redirect_uris=[],
                              scopes=list(scopes), organisation=organisation)
        return ScimClient(client, token_for(client, service) if scopes else "", service.client_id)

    return make


@pytest.fixture
def scim(make_scim) -> ScimClient:
    return make_scim()
