"""Authorization code flow with PKCE: the happy path and what the portal gets."""

from idp.audit import EventTag
from idp.models import AuditEvent
from tests.helpers import ISSUER


def test_sign_in_returns_code_state_and_issuer(rp, user):
    callback = rp.sign_in("anna@example.org", "correct horse battery")
    assert callback["state"] == rp.state
    assert callback["iss"] == ISSUER
    assert callback["code"]


def test_code_buys_tokens_with_a_valid_id_token(rp, user):
    tokens = rp.tokens("anna@example.org", "correct horse battery")
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]
    claims = rp.decode_id_token(tokens["id_token"])
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.portal.client_id
    assert claims["sub"] == user.sub
    assert claims["nonce"] == rp.nonce
    assert claims["amr"] == ["pwd"]
    assert claims["sid"] and claims["auth_time"] and claims["acr"]
    assert claims["email"] == "anna@example.org"
    assert claims["phone_number"] == "+31612345678"


def test_userinfo_gives_same_sub(rp, user, client):
    tokens = rp.tokens("anna@example.org", "correct horse battery")
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    assert response.get_json()["sub"] == user.sub


def test_sign_in_is_audited(rp, user, app):
    rp.tokens("anna@example.org", "correct horse battery")
    tags = [e.tag for e in AuditEvent.query.order_by(AuditEvent.id)]
    assert EventTag.LOGIN_PASSWORD_SUCCESS in tags
    assert EventTag.TOKEN_ISSUED in tags
