"""RFC 9068 JWT access tokens for portals whose access_token_format is "jwt": exactly the header and claims the
RFC names, checked against /jwks.json as a resource server would; no row per token; our own userinfo and
introspection take them; what is not ours (forged, unsigned, another issuer's, an ID token) is refused."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import func, select

from idp import clock
from idp.accounts import people
from idp.accounts.users import disable
from idp.audit import EventTag
from idp.extensions import db
from idp.models import Token
from idp.portals import registry
from idp.runtime import crypto, keyring
from tests.helpers import ISSUER, RelyingParty, audit_events, bearer

PASSWORD = "correct horse battery"
# RFC 9068 §2.2 (required), §2.2.3 (scope) and §2.2.1 (what the sign-in proved): nothing else may be in it.
REQUIRED = {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}
OPTIONAL = {"scope", "auth_time", "acr", "amr"}


@pytest.fixture
def jwt_rp(client, make_portal):
    return RelyingParty(client, make_portal("Zorgportaal", access_token_format="jwt"))


@pytest.fixture
def jwt_service(client, make_portal):
    return RelyingParty(client, make_portal("Declaratieservice", service=True, scopes=["scim"], redirect_uris=[],
                                            post_logout_redirect_uris=[], access_token_format="jwt"))


def token_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Token))


def verified(client, token: str) -> jwt.Token:
    """What a resource server does (RFC 9068 §4): the JWKS, our algorithms only, typ, iss, exp, aud."""
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    decoded = jwt.decode(token, keys, algorithms=["ES256", "RS256"])
    assert decoded.header["typ"] == "at+jwt"
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, exp={"essential": True},
                          aud={"essential": True}, now=int(clock.now().timestamp())).validate(decoded.claims)
    return decoded


def at_hash(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()[:16]).rstrip(b"=").decode()


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- what is issued -------------------------------------------------------------------------------


def test_the_code_flow_gives_an_rfc9068_token_and_writes_no_row(jwt_rp, client, user, frozen, settings):
    before = token_rows()
    body = jwt_rp.tokens(user.email, PASSWORD, scope="openid profile email")
    assert token_rows() == before  # no refresh token asked: nothing written for the access token

    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.tokens.jwt_access_token_seconds == 300
    token = verified(client, body["access_token"])
    published = {key["kid"]: key["alg"] for key in client.get("/jwks.json").get_json()["keys"]}
    assert set(token.header) == {"alg", "kid", "typ"}
    assert token.header["alg"] == "ES256" and published[token.header["kid"]] == "ES256"

    claims, id_token = token.claims, jwt_rp.decode_id_token(body["id_token"])
    issued = int(frozen.timestamp())
    assert REQUIRED <= set(claims) <= REQUIRED | OPTIONAL  # no name, no e-mail address: nothing personal
    assert claims["iss"] == ISSUER
    assert claims["aud"] == claims["client_id"] == jwt_rp.portal.client_id
    assert claims["sub"] == user.sub == id_token["sub"]
    assert (claims["iat"], claims["exp"]) == (issued, issued + 300)
    assert claims["scope"] == "openid profile email"
    assert claims["auth_time"] == id_token["auth_time"] == issued
    assert claims["amr"] == id_token["amr"]
    assert claims.get("acr") == id_token.get("acr")
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert id_token["at_hash"] == at_hash(body["access_token"])  # the ID token vouches for the JWT given


def test_every_token_has_its_own_jti(jwt_service):
    first, second = (jwt_service.token_request({"grant_type": "client_credentials", "scope": "scim"})
                     .get_json()["access_token"] for _ in range(2))
    assert jwt.decode(first, keyring().public_keyset()).claims["jti"] != \
        jwt.decode(second, keyring().public_keyset()).claims["jti"]


def test_client_credentials_names_the_client_as_subject_and_writes_no_row(jwt_service, client, frozen):
    before = token_rows()
    response = jwt_service.token_request({"grant_type": "client_credentials", "scope": "scim"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert token_rows() == before
    assert "refresh_token" not in body and "id_token" not in body

    claims = verified(client, body["access_token"]).claims
    service_id = jwt_service.portal.client_id
    issued = int(frozen.timestamp())
    assert set(claims) == REQUIRED | {"scope"}  # no person signed in: no auth_time, acr or amr
    assert claims["sub"] == claims["client_id"] == claims["aud"] == service_id  # RFC 9068 §2.2
    assert (claims["iss"], claims["scope"], claims["iat"], claims["exp"]) == (ISSUER, "scim", issued, issued + 300)
    issued_event = audit_events(EventTag.TOKEN_ISSUED)[-1]
    assert issued_event.details["format"] == "jwt" and issued_event.client_id == service_id
    assert body["access_token"] not in str(issued_event.details)


def test_a_refresh_token_keeps_its_row_and_rotates_while_access_tokens_stay_rowless(jwt_rp, client, user):
    before = token_rows()
    body = jwt_rp.tokens(user.email, PASSWORD)  # offline_access: a refresh token
    [row] = db.session.scalars(select(Token)).all()[before:]
    assert row.access_token_hash is None
    assert row.refresh_token_hash == crypto().keyed_hash(body["refresh_token"])

    refreshed = jwt_rp.refresh(body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    new = refreshed.get_json()
    assert verified(client, new["access_token"]).claims["sub"] == user.sub
    assert token_rows() == before + 2  # one row per refresh token, none per access token
    db.session.expire_all()
    assert db.session.get(Token, row.id).rotated_at is not None
    assert jwt_rp.refresh(body["refresh_token"]).get_json()["error"] == "invalid_grant"  # reuse is refused

    # Revoking the refresh token ends the grant (RFC 7009), as for an opaque portal.
    assert jwt_rp.revoke(new["refresh_token"]).status_code == 200
    assert jwt_rp.refresh(new["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_an_opaque_portal_is_unchanged(rp, user, settings):
    before = token_rows()
    body = rp.tokens(user.email, PASSWORD, scope="openid profile")
    assert "." not in body["access_token"]
    assert body["expires_in"] == settings.tokens.access_token_seconds
    assert token_rows() == before + 1
    row = db.session.scalar(select(Token).where(Token.access_token_hash == crypto().keyed_hash(body["access_token"])))
    assert row is not None and row.client_id == rp.portal.id


def test_the_setting_may_choose_rs256(jwt_service, client, settings):
    settings.tokens.jwt_access_token_alg = "RS256"
    token = jwt_service.token_request({"grant_type": "client_credentials", "scope": "scim"}).get_json()["access_token"]
    assert verified(client, token).header["alg"] == "RS256"


# --- our own userinfo and introspection -------------------------------------------------------------


def test_userinfo_takes_a_jwt_access_token(jwt_rp, client, user):
    body = jwt_rp.tokens(user.email, PASSWORD, scope="openid profile email")
    response = client.get("/userinfo", headers=bearer(body["access_token"]))
    assert response.status_code == 200, response.get_json()
    info = response.get_json()
    assert info["sub"] == user.sub and info["email"] == user.email and info["name"] == "Anna de Vries"


def test_introspection_is_active_until_exp_then_inactive(jwt_rp, user, frozen, time_machine, settings):
    access_token = jwt_rp.tokens(user.email, PASSWORD, scope="openid profile")["access_token"]
    issued = int(frozen.timestamp())
    body = jwt_rp.introspect(access_token).get_json()
    assert body == {"active": True, "token_type": "Bearer", "client_id": jwt_rp.portal.client_id,
                    "scope": "openid profile", "iat": issued, "exp": issued + 300, "iss": ISSUER,
                    "aud": jwt_rp.portal.client_id, "sub": user.sub, "jti": body["jti"]}

    time_machine.shift(timedelta(seconds=settings.tokens.jwt_access_token_seconds - 1))
    assert jwt_rp.introspect(access_token).get_json()["active"] is True
    time_machine.shift(timedelta(seconds=1))
    assert jwt_rp.introspect(access_token).get_json() == {"active": False}
    response = jwt_rp.userinfo(access_token)
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_another_portal_cannot_introspect_it(jwt_rp, client, user, make_portal):
    access_token = jwt_rp.tokens(user.email, PASSWORD)["access_token"]
    other = RelyingParty(client, make_portal("Other"))
    assert other.introspect(access_token).get_json() == {"active": False}


def test_a_service_token_introspects_with_the_client_as_subject(jwt_service):
    token = jwt_service.token_request({"grant_type": "client_credentials", "scope": "scim"}).get_json()["access_token"]
    body = jwt_service.introspect(token).get_json()
    assert body["active"] is True and body["sub"] == jwt_service.portal.client_id and "username" not in body


def test_revoking_a_jwt_access_token_answers_200_and_it_lives_until_exp(jwt_rp, user):
    access_token = jwt_rp.tokens(user.email, PASSWORD, scope="openid")["access_token"]
    response = jwt_rp.revoke(access_token)
    assert response.status_code == 200  # RFC 7009 §2.2
    # RFC 9068 tokens are checked without asking us: there is nothing to take back; it ends at exp (300 s).
    assert jwt_rp.userinfo(access_token).status_code == 200


def test_an_erased_person_makes_it_worthless_here(jwt_rp, user):
    access_token = jwt_rp.tokens(user.email, PASSWORD, scope="openid")["access_token"]
    assert jwt_rp.userinfo(access_token).status_code == 200
    people.erase(user, admin="admin", now=clock.now())
    db.session.commit()
    response = jwt_rp.userinfo(access_token)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"
    assert jwt_rp.introspect(access_token).get_json() == {"active": False}


def test_a_disabled_person_or_portal_makes_it_worthless_here(jwt_rp, make_portal, client, user):
    access_token = jwt_rp.tokens(user.email, PASSWORD, scope="openid")["access_token"]
    registry.disable(jwt_rp.portal, clock.now())
    db.session.commit()
    assert jwt_rp.userinfo(access_token).status_code == 401
    registry.enable(jwt_rp.portal)
    db.session.commit()
    assert jwt_rp.introspect(access_token).get_json()["active"] is True

    disable(user)
    db.session.commit()
    response = jwt_rp.userinfo(access_token)
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert jwt_rp.introspect(access_token).get_json() == {"active": False}


# --- what is not ours --------------------------------------------------------------------------------


def _forged(kind: str, jwt_rp, user) -> str:
    now = int(clock.now().timestamp())
    claims = {"iss": ISSUER, "exp": now + 300, "aud": jwt_rp.portal.client_id, "sub": user.sub,
              "client_id": jwt_rp.portal.client_id, "iat": now, "jti": "forged", "scope": "openid profile email"}
    ours = keyring().signing_key("ES256")
    if kind == "alg_none":
        return f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{b64(claims)}."
    if kind == "other_key":  # our kid, someone else's key
        key = ECKey.generate_key("P-256", parameters={"kid": ours.kid})
        return jwt.encode({"alg": "ES256", "kid": ours.kid, "typ": "at+jwt"}, claims, key)
    if kind == "other_issuer":
        return keyring().sign({**claims, "iss": "https://elders.example.org"}, "ES256", typ="at+jwt")
    if kind == "not_an_access_token":  # an ID token of ours (typ JWT) is no access token
        return keyring().sign(claims, "ES256", typ="JWT")
    if kind == "expired":
        return keyring().sign({**claims, "iat": now - 600, "exp": now - 300}, "ES256", typ="at+jwt")
    if kind == "tampered":
        header, _, signature = keyring().sign(claims, "ES256", typ="at+jwt").split(".")
        return f"{header}.{b64({**claims, 'scope': 'openid roles'})}.{signature}"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["alg_none", "other_key", "other_issuer", "not_an_access_token", "expired",
                                  "tampered"])
def test_a_token_that_is_not_ours_is_refused_at_userinfo(jwt_rp, client, user, kind):
    response = client.get("/userinfo", headers=bearer(_forged(kind, jwt_rp, user)))
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="idp"') and 'error="invalid_token"' in challenge  # RFC 6750 §3
    assert response.get_json()["error"] == "invalid_token"
    assert "sub" not in response.get_json()
    assert jwt_rp.introspect(_forged(kind, jwt_rp, user)).get_json() == {"active": False}


def test_a_client_id_never_equals_a_persons_sub(user):
    """A service's token names the service as sub (RFC 9068 §2.2): it must never pass for a person (§5)."""
    with pytest.raises(registry.ClientIdTaken):
        registry.register("Lookalike", [], service=True, client_id=user.sub, access_token_format="jwt")
    db.session.rollback()
    assert registry.find(user.sub) is None
