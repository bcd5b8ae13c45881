"""Discovery (OIDC Discovery 1.0 §3/§4) and the JWKS: what is advertised is exactly what works."""

from urllib.parse import urlsplit

import pytest

from tests.helpers import ISSUER

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def metadata(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_issuer_is_the_configured_one_and_endpoints_live_under_it(metadata):
    assert metadata["issuer"] == ISSUER
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"):
        assert metadata[name].startswith(ISSUER + "/"), name


@pytest.mark.parametrize(("name", "method", "status"), [
    # Each endpoint, called with nothing, answers with its own error rather than 404/405.
    ("authorization_endpoint", "GET", 400),
    ("token_endpoint", "POST", 400),
    ("userinfo_endpoint", "GET", 401),
    ("userinfo_endpoint", "POST", 401),
    ("jwks_uri", "GET", 200),
    ("revocation_endpoint", "POST", 401),
    ("introspection_endpoint", "POST", 401),
])
def test_every_advertised_endpoint_answers(client, metadata, name, method, status):
    path = urlsplit(metadata[name]).path
    response = client.open(path, method=method)
    assert response.status_code == status


def test_end_session_endpoint_answers(client, metadata):
    response = client.get(urlsplit(metadata["end_session_endpoint"]).path)
    assert response.status_code not in (404, 405)


def test_only_the_code_flow_is_advertised(metadata):
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["response_modes_supported"] == ["query"]
    assert "implicit" not in metadata["grant_types_supported"]
    assert set(metadata["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}


def test_pkce_s256_only(metadata):
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_client_authentication_methods_are_basic_and_post(metadata):
    methods = metadata["token_endpoint_auth_methods_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(methods)
    # "none" is there for public clients with PKCE; nothing we do not implement (no JWT client auth).
    assert set(methods) <= {"client_secret_basic", "client_secret_post", "none"}
    assert set(metadata["introspection_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post"}


def test_iss_parameter_and_request_objects(metadata):
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False


def test_scopes_algorithms_and_prompts(metadata):
    assert set(metadata["scopes_supported"]) == {"openid", "profile", "email", "phone", "roles", "org", "delegations",
                                                 "offline_access"}
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert metadata["subject_types_supported"] == ["public"]
    assert set(metadata["prompt_values_supported"]) == {"none", "login", "consent", "select_account"}
    assert set(metadata["ui_locales_supported"]) == {"nl", "en"}


def test_metadata_values_are_plain_strings(metadata):
    for name, value in metadata.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            assert isinstance(item, str | bool), (name, item)


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_public_documents_are_cacheable(client, path):
    response = client.get(path)
    assert response.status_code == 200
    cache_control = response.headers["Cache-Control"]
    assert "public" in cache_control
    assert "max-age=" in cache_control
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_jwks_publishes_rs256_and_es256_public_keys_only(client, metadata):
    response = client.get(urlsplit(metadata["jwks_uri"]).path)
    keys = response.get_json()["keys"]
    by_alg = {key["alg"]: key for key in keys}
    assert set(by_alg) == {"RS256", "ES256"}
    assert by_alg["RS256"]["kty"] == "RSA"
    assert by_alg["ES256"]["kty"] == "EC"
    assert by_alg["ES256"]["crv"] == "P-256"
    for key in keys:
        assert key["use"] == "sig"
        assert key["kid"]
        assert not PRIVATE_MEMBERS & set(key), key
