"""Token introspection (RFC 7662): portals may ask about their own tokens only."""

from datetime import timedelta

import pytest
import time_machine

from tests.helpers import ISSUER, RelyingParty, basic_auth, tomorrow_at

PASSWORD = "correct horse battery"
ISSUED_AT = tomorrow_at(9)


@pytest.fixture
def tokens(rp, user):
    with time_machine.travel(ISSUED_AT, tick=False):
        return rp.tokens(user.email, PASSWORD)


def test_active_access_token(rp, tokens, user, settings):
    response = rp.introspect(tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    issued = int(ISSUED_AT.timestamp())
    assert body["active"] is True
    assert body["client_id"] == rp.portal.client_id
    assert body["sub"] == user.sub
    assert body["token_type"] == "Bearer"
    assert body["iat"] == issued
    assert body["exp"] == issued + settings.tokens.access_token_seconds
    assert body["iss"] == ISSUER
    assert set(body["scope"].split()) == {"openid", "profile", "email", "phone", "offline_access"}
    assert body["sid"] == rp.decode_id_token(tokens["id_token"])["sid"]


def test_active_refresh_token(rp, tokens, settings):
    body = rp.introspect(tokens["refresh_token"], token_type_hint="refresh_token").get_json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["exp"] == int((ISSUED_AT + timedelta(days=settings.tokens.refresh_token_days)).timestamp())


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_both_client_authentication_methods_work(rp, tokens, auth):
    assert rp.introspect(tokens["access_token"], auth=auth).get_json()["active"] is True


def test_expired_access_token_is_inactive(rp, tokens, settings):
    with time_machine.travel(ISSUED_AT + timedelta(seconds=settings.tokens.access_token_seconds), tick=False):
        assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
        # The refresh token outlives it.
        assert rp.introspect(tokens["refresh_token"]).get_json()["active"] is True


def test_revoked_token_is_inactive(rp, tokens):
    rp.revoke(tokens["access_token"])
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}


def test_rotated_refresh_token_is_inactive(rp, tokens):
    rp.refresh(tokens["refresh_token"])
    assert rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}


def test_unknown_token_is_inactive(rp, tokens):
    assert rp.introspect("never-issued").get_json() == {"active": False}


def test_token_of_another_portal_is_inactive(client, rp, tokens, make_portal):
    other = RelyingParty(client, make_portal("Other"))
    assert other.introspect(tokens["access_token"]).get_json() == {"active": False}


def test_unknown_hint_is_ignored(rp, tokens):
    assert rp.introspect(tokens["access_token"], token_type_hint="id_token").get_json()["active"] is True


def test_wrong_hint_does_not_stop_the_search(rp, tokens):
    assert rp.introspect(tokens["access_token"], token_type_hint="refresh_token").get_json()["active"] is True


def test_missing_token_is_an_invalid_request(rp, tokens):
    response = rp.token_request({}, path="/introspect")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_client_authentication_is_required(rp, tokens):
    response = rp.client.post("/introspect", data={"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_wrong_secret_is_invalid_client(rp, tokens):
    response = rp.client.post("/introspect", headers=basic_auth(rp.portal.client_id, "wrong"),
                              data={"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_public_client_cannot_introspect(client, make_portal, user):
    app_rp = RelyingParty(client, make_portal("App", public=True))
    callback = app_rp.sign_in(user.email, PASSWORD)
    tokens = app_rp.exchange(callback["code"], auth="none").get_json()
    response = app_rp.introspect(tokens["access_token"], auth="none")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_tokens_of_a_disabled_person_are_inactive(rp, tokens, user):
    from idp.accounts.users import disable
    from idp.extensions import db

    disable(user)
    db.session.commit()
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_introspection_does_not_hand_out_the_email_address(rp, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="openid")
    body = rp.introspect(tokens["access_token"]).get_json()
    assert body["active"] is True
    assert user.email not in str(body)
