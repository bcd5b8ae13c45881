"""Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1, §4.4, §5.2)."""

import pytest

from idp.extensions import db
from tests.helpers import RelyingParty, basic_auth

PASSWORD = "correct horse battery"


def _invalid_client(response, basic: bool) -> None:
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    if basic:
        assert response.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.fixture
def service(client, make_portal):
    return RelyingParty(client, make_portal("Declaratieservice", service=True, redirect_uris=[],
                                            post_logout_redirect_uris=[]))


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_confidential_portal_may_use_basic_or_post(rp, user, auth):
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.exchange(callback["code"], auth=auth)
    assert response.status_code == 200, response.get_json()
    refreshed = rp.refresh(response.get_json()["refresh_token"], auth=auth)
    assert refreshed.status_code == 200, refreshed.get_json()


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_third_party_portal_may_use_basic_or_post_too(client, make_portal, user, auth):
    rp = RelyingParty(client, make_portal("Apotheek", first_party=False))
    callback = rp.sign_in(user.email, PASSWORD)
    assert rp.exchange(callback["code"], auth=auth).status_code == 200


def test_wrong_secret_with_basic_is_401_with_a_challenge(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.client.post("/token", headers=basic_auth(rp.portal.client_id, "wrong-secret"), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier})
    _invalid_client(response, basic=True)
    # A failed authentication does not cost the portal its code.
    assert rp.exchange(callback["code"]).status_code == 200


def test_wrong_secret_with_post_is_invalid_client(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.client.post("/token", data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier, "client_id": rp.portal.client_id, "client_secret": "wrong-secret"})
    _invalid_client(response, basic=False)


def test_unknown_client_is_invalid_client(rp):
    response = rp.client.post("/token", headers=basic_auth("nobody", "secret"),
                              data={"grant_type": "client_credentials"})
    _invalid_client(response, basic=True)


def test_confidential_portal_cannot_skip_authentication(rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    _invalid_client(rp.exchange(callback["code"], auth="none"), basic=False)


def test_secret_of_another_portal_does_not_work(rp, make_portal, user):
    other = make_portal("Other")
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.client.post("/token", headers=basic_auth(rp.portal.client_id, other.secret), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier})
    _invalid_client(response, basic=True)


def test_secret_is_stored_as_a_keyed_hash(portal):
    assert portal.secret
    assert portal.secret_hash != portal.secret
    assert portal.secret not in portal.secret_hash


def test_rotated_secret_replaces_the_old_one(rp, user):
    from idp.portals.registry import rotate_secret

    old = rp.portal.secret
    new = rotate_secret(rp.portal)
    db.session.commit()
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.client.post("/token", headers=basic_auth(rp.portal.client_id, old), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier})
    _invalid_client(response, basic=True)
    rp.portal.secret = new
    assert rp.exchange(callback["code"]).status_code == 200


def test_public_client_authenticates_with_none_and_pkce(client, make_portal, user):
    rp = RelyingParty(client, make_portal("App", public=True))
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.exchange(callback["code"], auth="none")
    assert response.status_code == 200, response.get_json()


def test_public_client_cannot_pretend_to_have_a_secret(client, make_portal, user):
    rp = RelyingParty(client, make_portal("App", public=True))
    callback = rp.sign_in(user.email, PASSWORD)
    response = rp.client.post("/token", data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier, "client_id": rp.portal.client_id, "client_secret": "guess"})
    _invalid_client(response, basic=False)


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_service_client_gets_an_access_token_with_client_credentials(service, auth):
    response = service.token_request({"grant_type": "client_credentials"}, auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"]
    assert body["expires_in"] == 600
    assert "id_token" not in body
    assert "refresh_token" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_service_client_token_is_introspectable_without_a_subject(service):
    token = service.token_request({"grant_type": "client_credentials"}).get_json()["access_token"]
    body = service.introspect(token).get_json()
    assert body["active"] is True
    assert body["client_id"] == service.portal.client_id
    assert "sub" not in body


def test_service_client_cannot_ask_for_openid(service):
    response = service.token_request({"grant_type": "client_credentials", "scope": "openid"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_service_client_must_authenticate(service):
    response = service.token_request({"grant_type": "client_credentials"}, auth="none")
    _invalid_client(response, basic=False)


def test_portal_may_not_use_client_credentials(rp):
    response = rp.token_request({"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "unauthorized_client"


def test_service_client_may_not_redeem_codes(service, rp, user):
    callback = rp.sign_in(user.email, PASSWORD)
    response = service.token_request({"grant_type": "authorization_code", "code": callback["code"],
                                      "redirect_uri": rp.redirect_uri})
    assert response.status_code == 400
    assert response.get_json()["error"] == "unauthorized_client"


@pytest.mark.parametrize("body_secret", ["wrong-secret", "right"])
def test_two_authentication_methods_in_one_request_are_refused(rp, user, body_secret):
    """RFC 6749 §2.3 and §5.2 (issue 13): Basic and a body secret together are invalid_request, even when the
    Basic one is right; the code is not spent, and the portal gets its tokens with one method."""
    callback = rp.sign_in(user.email, PASSWORD)
    secret = rp.portal.secret if body_secret == "right" else body_secret
    response = rp.client.post("/token", headers=basic_auth(rp.portal.client_id, rp.portal.secret), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier, "client_id": rp.portal.client_id, "client_secret": secret})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert "access_token" not in response.get_json()
    assert rp.exchange(callback["code"]).status_code == 200


@pytest.mark.parametrize("path", ["/revoke", "/introspect"])
def test_two_methods_are_refused_at_revocation_and_introspection_too(rp, path):
    response = rp.client.post(path, headers=basic_auth(rp.portal.client_id, rp.portal.secret), data={
        "token": "anything", "client_id": rp.portal.client_id, "client_secret": "wrong-secret"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
