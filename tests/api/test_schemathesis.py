"""Schemathesis against the running provider: every operation of idp/openapi.yaml with generated requests, valid
and invalid, carrying the credentials its real caller holds. No answer is a 500, and every answer (an error
above all) has a status code, content type and body its description names (RFC 6749 §5.2, RFC 6750 §3,
RFC 7009, RFC 7662, RFC 7644 §3.12).

Bounded: a few dozen examples per operation, no shrinking, derandomized under CI (the same examples every run).
"""

from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from idp import resources

SCHEMA = schemathesis.openapi.from_path(resources.OPENAPI)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]  # WWW-Authenticate on every refusal (RFC 6750 §3), no-store on tokens


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_every_answer_is_described(case, callers):
    response = case.call(base_url=callers.base, headers=callers.headers_for(case.operation.path), timeout=30)
    case.validate_response(response, checks=CHECKS)


# The operations that need credentials (all but the public documents, the health checks and SCIM's
# ServiceProviderConfig): refused without them, every refusal as described (RFC 6749 §5.2, RFC 6750 §3, RFC 7644).
GUARDED = SCHEMA.include(path_regex="^/(token|revoke|introspect|userinfo|scim/v2)").exclude(
    path="/scim/v2/ServiceProviderConfig")


@pytest.mark.slow
@pytest.mark.parametrize("callers", ["sqlite"], indirect=True)  # refused before any query: one backend is enough
@GUARDED.parametrize()
@settings(max_examples=5, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
def test_every_refusal_is_described(case, callers):
    for headers in callers.refused_headers_for(case.operation.path):
        response = case.call(base_url=callers.base, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)
        # Refused; or Flask's own answer to OPTIONS (the Allow header, no body), which schemathesis also sends.
        refused = response.status_code >= 400 or (case.method == "OPTIONS" and response.content == b"")
        assert refused, (case.method, response.status_code, response.text[:200])


def _described(method: str, path: str, response: requests.Response, status: int) -> dict:
    """The answer has this status, and its content type and body are what the description says for it."""
    assert response.status_code == status, response.text
    described = SCHEMA[path][method].definition.raw["responses"]
    assert str(status) in described
    SCHEMA[path][method].validate_response(response)  # the body against the status's schema; raises if not
    return response.json() if response.content else {}


def test_the_answers_of_real_use_are_described(callers):
    """What generated requests seldom reach: a token issued, an active token introspected, a person's claims, a
    person provisioned, changed and deleted, a token revoked."""
    base = callers.base
    issued = _described("POST", "/token", requests.post(
        base + "/token", data={"grant_type": "client_credentials", "scope": "scim"}, headers=callers.scim_basic,
        timeout=10), 200)
    introspected = _described("POST", "/introspect", requests.post(
        base + "/introspect", data={"token": callers.person_bearer["Authorization"].split()[1]},
        headers=callers.portal_basic, timeout=10), 200)
    assert introspected["active"] is True
    claims = _described("GET", "/userinfo", requests.get(base + "/userinfo", headers=callers.person_bearer,
                                                         timeout=10), 200)
    assert claims["sub"] == callers.provider.sub

    scim = {**callers.scim_bearer, "Content-Type": "application/scim+json"}
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bram@example.org",
            "emails": [{"value": "bram@example.org"}], "name": {"givenName": "Bram", "familyName": "Bakker"}}
    created = _described("POST", "/scim/v2/Users", requests.post(base + "/scim/v2/Users", json=user, headers=scim,
                                                                 timeout=10), 201)
    at = f"{base}/scim/v2/Users/{created['id']}"
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "active", "value": False}]}
    _described("PATCH", "/scim/v2/Users/{id}", requests.patch(at, json=patch, headers=scim, timeout=10), 204)
    assert _described("GET", "/scim/v2/Users/{id}", requests.get(at, headers=scim, timeout=10), 200)["active"] is False
    listed = _described("GET", "/scim/v2/Users", requests.get(base + "/scim/v2/Users", headers=scim,
                                                              params={"filter": 'userName eq "bram@example.org"'},
                                                              timeout=10), 200)
    assert [found["id"] for found in listed["Resources"]] == [created["id"]]
    _described("DELETE", "/scim/v2/Users/{id}", requests.delete(at, headers=scim, timeout=10), 204)
    _described("GET", "/scim/v2/Users/{id}", requests.get(at, headers=scim, timeout=10), 404)

    _described("POST", "/revoke", requests.post(base + "/revoke", data={"token": issued["access_token"]},
                                                headers=callers.scim_basic, timeout=10), 200)
    gone = _described("POST", "/introspect", requests.post(base + "/introspect", data={
        "token": issued["access_token"]}, headers=callers.scim_basic, timeout=10), 200)
    assert gone == {"active": False}
