"""UserInfo (OIDC Core §5.3) with bearer tokens as RFC 6750 describes them."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from idp.extensions import db
from tests.helpers import bearer

PASSWORD = "correct horse battery"


@pytest.fixture
def tokens(rp, user):
    return rp.tokens(user.email, PASSWORD)


def _challenge(response, status: int, error: str | None) -> str:
    assert response.status_code == status
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    if error:
        assert f'error="{error}"' in challenge
        assert response.get_json()["error"] == error
    else:
        assert "error=" not in challenge
    return challenge


def test_get_with_bearer_header_gives_the_same_sub_as_the_id_token(rp, client, tokens, user):
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["sub"] == rp.decode_id_token(tokens["id_token"])["sub"] == user.sub
    assert body["email"] == "anna@example.org"
    assert body["name"] == "Anna de Vries"
    assert body["phone_number"] == "+31612345678"


def test_post_with_bearer_header(client, tokens, user):
    response = client.post("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.get_json()["sub"] == user.sub


def test_post_with_token_in_the_form_body(client, tokens, user):
    response = client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert response.status_code == 200
    assert response.get_json()["sub"] == user.sub


def test_bearer_scheme_is_case_insensitive(client, tokens, user):
    response = client.get("/userinfo", headers={"Authorization": f"bearer {tokens['access_token']}"})
    assert response.status_code == 200


def test_claims_follow_the_scope_of_the_token(rp, client, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="openid email")
    body = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert body == {"sub": user.sub, "email": "anna@example.org", "email_verified": True}


def test_missing_token_is_401_without_an_error_code(client):
    _challenge(client.get("/userinfo"), 401, None)
    _challenge(client.post("/userinfo"), 401, None)


def test_token_in_the_query_string_is_not_accepted(client, tokens):
    """RFC 6750 §2.3 is a SHOULD NOT: URLs end up in logs."""
    _challenge(client.get("/userinfo?access_token=" + tokens["access_token"]), 401, None)


def test_another_authentication_scheme_counts_as_missing(client, tokens):
    _challenge(client.get("/userinfo", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, None)


def test_empty_bearer_is_a_malformed_request(client):
    _challenge(client.get("/userinfo", headers={"Authorization": "Bearer "}), 400, "invalid_request")


def test_unknown_token_is_invalid_token(client, tokens):
    _challenge(client.get("/userinfo", headers=bearer("not-a-token")), 401, "invalid_token")


def test_refresh_token_is_not_an_access_token(client, tokens):
    _challenge(client.get("/userinfo", headers=bearer(tokens["refresh_token"])), 401, "invalid_token")


def test_expired_token_is_invalid_token(client, tokens, settings):
    later = datetime.now(UTC) + timedelta(seconds=settings.tokens.access_token_seconds + 1)
    with time_machine.travel(later, tick=False):
        _challenge(client.get("/userinfo", headers=bearer(tokens["access_token"])), 401, "invalid_token")


def test_revoked_token_is_invalid_token(rp, client, tokens):
    assert rp.revoke(tokens["access_token"]).status_code == 200
    _challenge(client.get("/userinfo", headers=bearer(tokens["access_token"])), 401, "invalid_token")


def test_token_of_a_disabled_user_is_invalid_token(client, tokens, user):
    from idp.accounts.users import disable

    disable(user)
    db.session.commit()
    _challenge(client.get("/userinfo", headers=bearer(tokens["access_token"])), 401, "invalid_token")


def test_token_without_openid_scope_is_insufficient_scope(rp, client, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="profile email")
    challenge = _challenge(client.get("/userinfo", headers=bearer(tokens["access_token"])), 403,
                           "insufficient_scope")
    assert 'scope="openid"' in challenge


def test_token_in_header_and_body_is_an_invalid_request(client, tokens):
    response = client.post("/userinfo", headers=bearer(tokens["access_token"]),
                           data={"access_token": tokens["access_token"]})
    _challenge(response, 400, "invalid_request")


def test_token_in_a_multipart_body_is_not_accepted(client, tokens):
    """RFC 6750 §2.2: a form-encoded body only (application/x-www-form-urlencoded)."""
    response = client.post("/userinfo", data={"access_token": tokens["access_token"]},
                           content_type="multipart/form-data")
    _challenge(response, 401, None)
    assert response.get_json() == {}


def test_form_encoded_body_with_a_charset_is_accepted(client, tokens, user):
    response = client.post("/userinfo", data=f"access_token={tokens['access_token']}",
                           content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 200
    assert response.get_json()["sub"] == user.sub
