"""Token revocation (RFC 7009)."""

import pytest

from idp.audit import EventTag
from tests.helpers import RelyingParty, audit_events, basic_auth

PASSWORD = "correct horse battery"


@pytest.fixture
def tokens(rp, user):
    return rp.tokens(user.email, PASSWORD)


def _ok(response) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_revoking_the_access_token_ends_it(rp, tokens):
    _ok(rp.revoke(tokens["access_token"], token_type_hint="access_token"))
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_revoking_the_refresh_token_ends_the_whole_grant(rp, tokens):
    newest = rp.refresh(tokens["refresh_token"]).get_json()
    _ok(rp.revoke(newest["refresh_token"], token_type_hint="refresh_token"))
    assert rp.userinfo(newest["access_token"]).status_code == 401
    refreshed = rp.refresh(newest["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_revocation_is_audited(rp, tokens, user):
    rp.revoke(tokens["refresh_token"])
    [event] = audit_events(EventTag.TOKEN_REVOKED)
    assert event.subject_user_id == user.id
    assert event.client_id == rp.portal.client_id
    assert event.outcome == "success"


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_both_client_authentication_methods_work(rp, tokens, auth):
    _ok(rp.revoke(tokens["access_token"], auth=auth))
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_unknown_token_answers_200(rp, tokens):
    _ok(rp.revoke("never-issued"))
    assert audit_events(EventTag.TOKEN_REVOKED) == []


def test_already_revoked_token_answers_200_and_is_audited_once(rp, tokens):
    _ok(rp.revoke(tokens["refresh_token"]))
    _ok(rp.revoke(tokens["refresh_token"]))
    _ok(rp.revoke(tokens["access_token"]))
    assert len(audit_events(EventTag.TOKEN_REVOKED)) == 1


def test_a_wrong_hint_does_not_stop_the_search(rp, tokens):
    _ok(rp.revoke(tokens["access_token"], token_type_hint="refresh_token"))
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_an_unknown_hint_is_ignored(rp, tokens):
    """RFC 7009 §2.2: an invalid token type hint value is ignored and does not change the response."""
    _ok(rp.revoke(tokens["access_token"], token_type_hint="id_token"))
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_missing_token_is_an_invalid_request(rp, tokens):
    response = rp.token_request({}, path="/revoke")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_client_must_authenticate(rp, tokens):
    response = rp.client.post("/revoke", data={"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert rp.userinfo(tokens["access_token"]).status_code == 200


def test_wrong_secret_is_invalid_client(rp, tokens):
    response = rp.client.post("/revoke", headers=basic_auth(rp.portal.client_id, "wrong"),
                              data={"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert rp.userinfo(tokens["access_token"]).status_code == 200


def test_another_portal_cannot_revoke_my_tokens(client, rp, tokens, make_portal):
    other = RelyingParty(client, make_portal("Other"))
    response = other.revoke(tokens["access_token"])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    assert audit_events(EventTag.TOKEN_REVOKED) == []


def test_public_client_revokes_with_its_client_id(client, make_portal, user):
    app_rp = RelyingParty(client, make_portal("App", public=True))
    callback = app_rp.sign_in(user.email, PASSWORD)
    tokens = app_rp.exchange(callback["code"], auth="none").get_json()
    _ok(app_rp.revoke(tokens["refresh_token"], auth="none"))
    assert app_rp.refresh(tokens["refresh_token"], auth="none").status_code == 400
