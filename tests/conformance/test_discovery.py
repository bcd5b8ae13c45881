"""A portal developer points an RP at the issuer URL: discovery and JWKS must tell the truth."""

from __future__ import annotations

import requests

from tests.conformance.strict_rp import fetch_discovery


def test_discovery_is_complete_and_names_the_issuer_it_was_fetched_from(provider):
    doc = fetch_discovery(provider.issuer, requests.Session())
    assert doc["issuer"] == provider.issuer
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert {"client_secret_basic", "client_secret_post"} <= set(doc["token_endpoint_auth_methods_supported"])
    assert {"RS256", "ES256"} <= set(doc["id_token_signing_alg_values_supported"])
    assert doc["backchannel_logout_supported"] is True


def test_every_advertised_endpoint_exists(provider):
    doc = fetch_discovery(provider.issuer, requests.Session())
    for name in ("authorization_endpoint", "userinfo_endpoint", "end_session_endpoint", "jwks_uri"):
        assert requests.get(doc[name], timeout=10).status_code != 404, name
    for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        response = requests.post(doc[name], data={}, timeout=10)
        assert response.status_code in (400, 401), (name, response.status_code)
        assert "error" in response.json(), name


def test_jwks_publishes_public_signing_keys_with_kid_alg_and_use(provider):
    doc = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10).json()
    response = requests.get(doc["jwks_uri"], timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    keys = response.json()["keys"]
    assert {k["alg"] for k in keys} >= {"RS256", "ES256"}
    for key in keys:
        assert key["kid"] and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), f"private parts published in {key['kid']}"
    assert len({k["kid"] for k in keys}) == len(keys)
