"""The ID token (OIDC Core §2, §3.1.3.6, §5.4): claims, scopes and signatures."""

import base64
import hashlib
import json

import pytest
import time_machine
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from idp.models import SsoSession
from tests.helpers import ISSUER, RelyingParty, tomorrow_at

PASSWORD = "correct horse battery"
SIGNED_IN_AT = tomorrow_at(10, 20, 30)


def _header(token: str) -> dict:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@pytest.fixture
def frozen():
    with time_machine.travel(SIGNED_IN_AT, tick=False):
        yield


def test_core_claims(rp, user, frozen, settings):
    tokens = rp.tokens(user.email, PASSWORD)
    claims = rp.decode_id_token(tokens["id_token"])
    now = int(SIGNED_IN_AT.timestamp())
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.portal.client_id
    assert claims["sub"] == user.sub
    assert claims["iat"] == now
    assert claims["exp"] == now + settings.tokens.id_token_seconds
    assert claims["auth_time"] == now
    assert claims["nonce"] == rp.nonce
    assert claims["acr"] == "urn:idp:acr:password"
    assert claims["amr"] == ["pwd"]
    assert claims["at_hash"] == _half_hash(tokens["access_token"])


def test_sid_is_the_sso_session(rp, user):
    claims = rp.decode_id_token(rp.tokens(user.email, PASSWORD)["id_token"])
    session = SsoSession.query.filter_by(user_id=user.id).one()
    assert claims["sid"] == session.sid


def test_no_azp_for_a_single_audience(rp, user):
    claims = rp.decode_id_token(rp.tokens(user.email, PASSWORD)["id_token"])
    assert claims.get("azp", rp.portal.client_id) == rp.portal.client_id


def test_nonce_is_left_out_when_none_was_sent(rp, user):
    callback = rp.sign_in(user.email, PASSWORD, nonce=None)
    claims = rp.decode_id_token(rp.exchange(callback["code"]).get_json()["id_token"])
    assert "nonce" not in claims


def test_sub_is_opaque_and_stable_across_sign_ins_and_portals(client, make_portal, user):
    first = RelyingParty(client, make_portal("A"))
    sub = first.decode_id_token(first.tokens(user.email, PASSWORD)["id_token"])["sub"]
    client.delete_cookie("idp_sso")
    second = RelyingParty(client, make_portal("B"))
    again = second.decode_id_token(second.tokens(user.email, PASSWORD, prompt="login")["id_token"])["sub"]
    assert sub == again == user.sub
    assert "anna" not in sub and "@" not in sub
    assert str(user.id) != sub
    assert len(sub) >= 32


def test_different_people_get_different_subs(client, portal, make_user, user):
    other = make_user("bram@example.org")
    assert other.sub != user.sub
    claims = RelyingParty(client, portal).decode_id_token(
        RelyingParty(client, portal).tokens("bram@example.org", PASSWORD)["id_token"])
    assert claims["sub"] == other.sub


def test_openid_scope_alone_gives_no_personal_data(rp, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="openid")
    claims = rp.decode_id_token(tokens["id_token"])
    for claim in ("name", "email", "email_verified", "phone_number", "preferred_username", "updated_at"):
        assert claim not in claims, claim


def test_email_scope_gives_email_only(rp, user):
    claims = rp.decode_id_token(rp.tokens(user.email, PASSWORD, scope="openid email")["id_token"])
    assert claims["email"] == "anna@example.org"
    assert claims["email_verified"] is user.email_verified is True
    assert "name" not in claims
    assert "phone_number" not in claims


def test_profile_scope_gives_name(rp, user):
    claims = rp.decode_id_token(rp.tokens(user.email, PASSWORD, scope="openid profile")["id_token"])
    assert claims["name"] == "Anna de Vries"
    assert isinstance(claims["updated_at"], int)
    assert "email" not in claims
    assert "phone_number" not in claims


def test_phone_scope_gives_the_phone_number_in_e164(rp, user):
    claims = rp.decode_id_token(rp.tokens(user.email, PASSWORD, scope="openid phone")["id_token"])
    assert claims["phone_number"] == "+31612345678"
    assert claims["phone_number_verified"] is user.phone_verified is True
    assert "email" not in claims


def test_a_number_typed_by_someone_else_is_not_verified_until_its_owner_confirms_it(rp, make_user):
    bert = make_user("bert@example.org", PASSWORD, phone="06 12345699")  # as an admin adds it
    claims = rp.decode_id_token(rp.tokens(bert.email, PASSWORD, scope="openid phone")["id_token"])
    assert claims["phone_number"] == "+31612345699"
    assert claims["phone_number_verified"] is False


def test_rs256_by_default_with_a_published_kid(rp, client, user):
    token = rp.tokens(user.email, PASSWORD)["id_token"]
    header = _header(token)
    assert header["alg"] == "RS256"
    jwks = client.get("/jwks.json").get_json()
    published = {key["kid"]: key["alg"] for key in jwks["keys"]}
    assert published[header["kid"]] == "RS256"


def test_es256_for_a_portal_that_asks_for_it(client, make_portal, user):
    rp = RelyingParty(client, make_portal("EC portal", id_token_alg="ES256"))
    tokens = rp.tokens(user.email, PASSWORD)
    header = _header(tokens["id_token"])
    assert header["alg"] == "ES256"
    jwks = client.get("/jwks.json").get_json()
    [key] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert key["alg"] == "ES256"
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set({"keys": [key]}), algorithms=["ES256"]).claims
    assert claims["aud"] == rp.portal.client_id
    assert claims["at_hash"] == _half_hash(tokens["access_token"])


def test_a_tampered_id_token_does_not_verify(rp, user, client):
    token = rp.tokens(user.email, PASSWORD)["id_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", keys, algorithms=["RS256"])


def test_no_id_token_without_openid_scope(rp, user):
    tokens = rp.tokens(user.email, PASSWORD, scope="profile email")
    assert "id_token" not in tokens
    assert tokens["access_token"]
