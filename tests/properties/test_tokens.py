"""Signed tokens: the id_token_hint of an authorization or end-session request (idp.oidc.claims.id_token_hint)
and the logout token a portal's back-channel receiver checks (clients/backchannel.py LogoutTokens). Any change
of one character (or one added or removed) in a valid token is refused; a logout token is never an
id_token_hint, nor an ID token a logout token; a token signed with another key is refused, whatever its kid."""

from __future__ import annotations

import json
import secrets
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from clients.backchannel import LogoutTokens
from idp import clock
from idp.extensions import db
from idp.messaging.backchannel import logout_token
from idp.oidc.claims import InvalidHint, id_token_hint
from idp.runtime import keyring, settings
from idp.sessions import start
from tests.oidc.forged_hints import resign
from tests.properties.conftest import DB_EXAMPLES

EVENT = "http://schemas.openid.net/event/backchannel-logout"
ALGS = st.sampled_from(["RS256", "ES256"])
TOKEN_CHARACTERS = st.one_of(st.sampled_from(string.ascii_letters + string.digits + "-_.=+/ "), st.characters())


@pytest.fixture(scope="module")
def other_keys():
    """Keys we never published (RSA generation is slow: once per module)."""
    return {"RS256": RSAKey.generate_key(2048), "ES256": ECKey.generate_key("P-256")}


@st.composite
def one_character_off(draw, token: str) -> str:
    """The token with one character replaced, added or removed. Drawn without looking at the token's characters
    (it is signed afresh for every example), so Hypothesis can replay the draws."""
    how = draw(st.sampled_from(["replace", "insert", "delete"]))
    at = draw(st.integers(0, len(token) - 1))
    other = draw(TOKEN_CHARACTERS)
    if how == "replace":
        other = other if other != token[at] else ("A" if token[at] != "A" else "B")
        return token[:at] + other + token[at + 1:]
    if how == "insert":
        return token[:at] + other + token[at:]
    return token[:at] + token[at + 1:]


def id_token_claims(portal_id: str, sid: str | None = "sid-1") -> dict[str, object]:
    now = clock.timestamp(clock.now())
    claims: dict[str, object] = {"iss": settings().issuer, "sub": "sub-1", "aud": portal_id, "iat": now,
                                 "exp": now + 600, "auth_time": now, "nonce": secrets.token_urlsafe(8)}
    if sid is not None:
        claims["sid"] = sid
    return claims


@DB_EXAMPLES
@given(alg=ALGS, data=st.data())
def test_an_id_token_hint_changed_in_one_character_is_refused(app, alg, data):
    token = keyring().sign(id_token_claims("portal"), alg)
    assert id_token_hint(token).sub == "sub-1"  # the control: the token itself is a valid hint
    changed = data.draw(one_character_off(token))
    with pytest.raises(InvalidHint):
        id_token_hint(changed)


@DB_EXAMPLES
@given(alg=ALGS, typ=st.sampled_from([None, "JWT", "logout+jwt", "application/logout+jwt", "jwt"]),
       with_events=st.booleans(), with_sub=st.booleans())
def test_a_logout_token_is_never_an_id_token_hint(app, alg, typ, with_events, with_sub):
    """A logout token is told apart by its typ or its events claim: either is enough."""
    claims = {**id_token_claims("portal"), "jti": secrets.token_urlsafe(8)}
    claims.pop("nonce")
    if not with_sub:
        claims.pop("sub")
    if with_events or typ not in ("logout+jwt", "application/logout+jwt"):
        claims["events"] = {EVENT: {}}
    key = keyring().signing_key(alg)
    header = {"alg": alg, "kid": key.kid, **({"typ": typ} if typ else {})}
    with pytest.raises(InvalidHint):
        id_token_hint(jwt.encode(header, claims, key, algorithms=[alg]))


@DB_EXAMPLES
@given(alg=ALGS, same_kid=st.booleans())
def test_an_id_token_hint_signed_with_another_key_is_refused(app, other_keys, alg, same_kid):
    claims = id_token_claims("portal")
    ours = keyring().signing_key(alg)
    header = {"alg": alg, "typ": "JWT", "kid": ours.kid if same_kid else "not-ours"}
    with pytest.raises(InvalidHint):
        id_token_hint(jwt.encode(header, claims, other_keys[alg], algorithms=[alg]))


@DB_EXAMPLES
@given(alg=ALGS, forged_alg=st.sampled_from(["none", "None", "NONE", "HS256"]),
       secret=st.sampled_from(["public PEM", "public JWK", "kid"]))
def test_an_id_token_hint_resigned_by_an_attacker_is_refused(app, alg, forged_alg, secret):
    """tests/oidc/forged_hints.py's forgeries over generated tokens: alg none, or HMAC with what anyone knows."""
    token = keyring().sign(id_token_claims("portal"), alg)
    ours = keyring().signing_key(alg)
    key = {"public PEM": lambda: ours.as_pem(private=False), "kid": lambda: ours.kid.encode(),
           "public JWK": lambda: json.dumps(ours.as_dict(private=False)).encode()}[secret]()
    forged = resign(token, forged_alg, None if forged_alg.lower() == "none" else key)
    with pytest.raises(InvalidHint):
        id_token_hint(forged)


class Published:
    """What the portal's OAuth client gives LogoutTokens: the provider's published keys (here read from the
    provider itself rather than over HTTP)."""

    def fetch_jwk_set(self, force: bool = False) -> dict:
        return json.loads(keyring().jwks_json())


@pytest.fixture
def sso_session(user, portal):
    session, _cookie = start(user, amr=["pwd"], acr="urn:idp:acr:pwd", auth_time=clock.now(),
                             client_id=portal.client_id)
    db.session.commit()
    return session


@DB_EXAMPLES
@given(data=st.data())
def test_a_logout_token_changed_in_one_character_is_refused_by_the_portal(app, portal, sso_session, data):
    receiver = LogoutTokens(Published(), settings().issuer, portal.client_id)
    token = logout_token(portal, sso_session)
    with pytest.raises(InvalidHint):
        id_token_hint(token)  # the provider's own logout token, as signed for delivery
    changed = data.draw(one_character_off(token))
    assert receiver.claims(changed) is None
    # The control, after the change was refused (a token is accepted once): the token itself is accepted.
    assert receiver.claims(token)["sid"] == sso_session.sid


@DB_EXAMPLES
@given(alg=ALGS, with_events=st.booleans())
def test_an_id_token_is_never_a_logout_token(app, portal, sso_session, alg, with_events):
    receiver = LogoutTokens(Published(), settings().issuer, portal.client_id)
    claims = {**id_token_claims(portal.client_id, sso_session.sid), "jti": secrets.token_urlsafe(8)}
    claims.pop("nonce")
    if with_events:
        claims["events"] = {EVENT: {}}  # an ID token's typ, a logout token's claims: still not a logout token
    assert receiver.claims(keyring().sign(claims, alg)) is None


@DB_EXAMPLES
@given(alg=ALGS, same_kid=st.booleans())
def test_a_logout_token_signed_with_another_key_is_refused_by_the_portal(app, portal, sso_session, other_keys, alg,
                                                                         same_kid):
    receiver = LogoutTokens(Published(), settings().issuer, portal.client_id)
    now = clock.timestamp(clock.now())
    claims = {"iss": settings().issuer, "aud": portal.client_id, "iat": now, "exp": now + 120,
              "jti": secrets.token_urlsafe(16), "sid": sso_session.sid, "events": {EVENT: {}}}
    header = {"alg": alg, "typ": "logout+jwt", "kid": keyring().signing_key(alg).kid if same_kid else "not-ours"}
    assert receiver.claims(jwt.encode(header, claims, other_keys[alg], algorithms=[alg])) is None
    # The control: the same claims signed with our key are accepted.
    header["kid"] = keyring().signing_key(alg).kid
    assert receiver.claims(jwt.encode(header, claims, keyring().signing_key(alg), algorithms=[alg])) is not None
