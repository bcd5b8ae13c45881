"""What the provider says about a person: claims by scope, and the ID token."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oidc.core import OpenIDToken, UserInfo
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp import clock
from idp.accounts.users import phone_of
from idp.delegation import invitations
from idp.delegation.acting import still_usable
from idp.delegation.grants import delegates_of, ends_at
from idp.models import AuthorizationCode, Client, Delegation, Token, User
from idp.portals import profile
from idp.runtime import keyring, settings

SCOPES = ("openid", "profile", "email", "phone", "roles", "org", profile.DELEGATIONS, "offline_access")


class Claims(UserInfo):  # type: ignore[misc]  # Authlib is untyped
    """Authlib's standard claims (OIDC Core §5.1) and which scope gives which (§5.4), with our roles and org
    scopes."""

    REGISTERED_CLAIMS: ClassVar[list[str]] = [*UserInfo.REGISTERED_CLAIMS, "roles", "org"]
    SCOPES_CLAIMS_MAPPING: ClassVar[dict[str, list[str]]] = profile.SCOPE_CLAIMS


def user_claims(user: User, scope: str, phone: str | None = None, client: Client | None = None) -> dict[str, object]:
    """Standard claims the scope allows (Authlib's UserInfo.filter), leaving out what we do not know and what
    the portal's profile withholds whatever it asks (seed 001: the insurer never gets the phone number)."""
    known = Claims(
        name=user.name,
        given_name=user.given_name,
        family_name=user.family_name,
        preferred_username=user.username,
        locale=user.locale,
        updated_at=clock.timestamp(user.updated_at),
        email=user.email,
        email_verified=bool(user.email_verified),
        phone_number=phone,
        phone_number_verified=bool(user.phone_verified) if phone else None,
        roles=sorted(user.roles or []),  # what a portal shows or allows by role (professional, admin, ...)
        org=organisation(user),
    )
    # Authlib gives sub only with the openid scope; we name the person whatever the scope.
    claims = {"sub": user.sub, **known.filter(scope or "")}
    withheld = set(profile.of(client).withheld_claims) if client is not None else set()
    return {k: v for k, v in claims.items() if v is not None and k not in withheld}


def organisation(user: User) -> dict[str, str] | None:
    """The `org` claim: the organisation a person is a member of, by its code (stable, short) and name."""
    if user.org is None:
        return None
    return {"id": user.org.code, "name": user.org.name}


def subject_claims(user: User, scope: str, client: Client | None, acting_for: Delegation | None) -> dict[str, object]:
    """The claims of a grant's subject. Under a delegation (issue 15) that is the principal: their sub and
    profile claims (an account without a login of its own has no e-mail address to give), and RFC 8693's actor
    claim `act` names who acts: the delegate's sub, and their name for the portal to show (§4.1 allows more
    claims in act)."""
    if acting_for is None:
        claims = user_claims(user, scope, phone_of(user), client)
        if profile.DELEGATIONS in (scope or "").split() and client is not None \
                and profile.may_receive(client, "delegates"):
            claims["delegates"] = delegates(user, client, clock.now())
        return claims
    # Who else may act for the principal is theirs to know and manage (/account/delegations): never told to
    # someone acting for them, whatever the delegation's scopes.
    principal = acting_for.principal
    claims = user_claims(principal, scope, phone_of(principal), client)
    if principal.no_login:
        claims.pop("email", None)
        claims.pop("email_verified", None)
    claims["act"] = actor(acting_for)
    return claims


def actor(acting_for: Delegation) -> dict[str, object]:
    """RFC 8693's `act`: who acts (the delegate's sub), and their name for the portal to show."""
    delegate = acting_for.delegate
    claims: dict[str, object] = {"sub": delegate.sub}
    if delegate.name:
        claims["name"] = delegate.name
    return claims


def delegates(principal: User, client: Client, now: datetime) -> list[dict[str, object]]:
    """The `delegates` claim (scope `delegations`): who may act for this person at this portal now, then the
    invitations still open that would count here once accepted (status pending; no sub: an invited address
    must not tell whether it had an account). Times are seconds since the epoch, like the other time claims."""
    listed: list[dict[str, object]] = []
    for delegation in delegates_of(principal, client.client_id, now):
        delegate = delegation.delegate
        entry: dict[str, object] = {"sub": delegate.sub, "name": delegate.name or invitations.shown_name(delegation)}
        entry.update(_relation(delegation))
        entry["since"] = clock.timestamp(delegation.valid_from)
        until = ends_at(delegation)
        if until is not None:
            entry["until"] = clock.timestamp(until)
        entry["status"] = "active"
        listed.append(entry)
    for invitation in invitations.open_for(principal, client.client_id, now):
        entry = {"name": invitations.invited_name(invitation), **_relation(invitation),
                 "since": clock.timestamp(invitation.created_at),
                 "until": clock.timestamp(invitations.expires_at(invitation)), "status": "pending"}
        listed.append(entry)
    return listed


def _relation(delegation: Delegation) -> dict[str, object]:
    relation = invitations.relation_of(delegation)
    return {"relation": relation.replace(" ", "_")} if relation else {}


def acts_now(token: Token) -> bool:
    """A token issued under a delegation: may it still be used (asked at every userinfo call and
    introspection, with the time of that use)?"""
    return token.delegation is not None and still_usable(
        token.delegation, token.client.client_id, token.scope.split(), clock.now())


# The portal whose ID token is being made, and the delegation its grant acts under: Authlib's
# generate_user_info(user, scope) is not told them, and one IdToken serves every request, so they travel in
# context variables set around process_token.
_portal: ContextVar[Client | None] = ContextVar("idp_id_token_portal", default=None)
_acting_for: ContextVar[Delegation | None] = ContextVar("idp_id_token_acting_for", default=None)


class IdToken(OpenIDToken):  # type: ignore[misc]  # Authlib is untyped
    """Authlib's ID token hook: an ID token for every token response whose scope holds openid (code and
    refresh grants), with our claims, clock and keys.

    Not Authlib's OpenIDCode: it would also judge `prompt` (prompt=none without a signed-in user is
    login_required before our sign-in policy has looked at the browser's session, idp/login/policy.py) and
    check nonces for replay; the authorize view decides prompt, and a nonce is the portal's to check.
    """

    def get_compatible_claims(self, request: OAuth2Request) -> dict[str, object]:
        # Authlib's default sends aud as a list, puts auth_time "now" when it is unknown and reads
        # time.time(); ours: one audience (so no azp, OIDC Core §2), auth_time only when known, our clock.
        cfg = settings()
        now = clock.timestamp(clock.now())
        claims: dict[str, object] = {
            "iss": cfg.issuer, "aud": request.client.client_id, "iat": now, "exp": now + cfg.tokens.id_token_seconds,
        }
        if request.refresh_token is not None:
            # A refresh has no code: what the sign-in proved comes with the grant, no nonce (OIDC Core §12.2).
            claims.update(self.get_authorization_code_claims(request.refresh_token))
        return claims

    def get_authorization_code_claims(self, authorization_code: AuthorizationCode | Token) -> dict[str, object]:
        # Authlib's: nonce, auth_time, acr and amr, from the code's getters (and the refresh token's alike).
        claims: dict[str, object] = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            claims["sid"] = authorization_code.sid  # the SSO session, as back-channel logout tokens name it
        return claims

    def process_token(self, grant: Any, response: Any) -> Any:
        issued_by = grant.request.authorization_code or grant.request.refresh_token
        reset = _portal.set(grant.request.client)
        reset_acting = _acting_for.set(issued_by.delegation if issued_by is not None else None)
        try:
            return super().process_token(grant, response)
        finally:
            _acting_for.reset(reset_acting)
            _portal.reset(reset)

    def generate_user_info(self, user: User, scope: str) -> dict[str, object]:
        return subject_claims(user, scope, _portal.get(), _acting_for.get())

    def get_encode_header(self, client: Client) -> dict[str, str | None]:  # our keys all have a kid (auto_kid)
        alg: str = self.get_client_algorithm(client)  # the client's id_token_signed_response_alg
        return {"alg": alg, "kid": keyring().signing_key(alg).kid, "typ": "JWT"}

    def resolve_client_private_key(self, client: Client) -> KeySet:
        # All the keys we hold: joserfc signs with the one the header's kid names, even if a reload
        # between the two calls made another key the active one.
        return keyring().signing_keyset()


class InvalidHint(ValueError):
    """An id_token_hint we did not issue, or a token of ours that is not an ID token."""


@dataclass(frozen=True)
class Hint:
    """What an id_token_hint we issued says: whom it names, for which portals, in which SSO session."""

    sub: str  # the person who signed in: the subject, or under a delegation the actor (act.sub)
    audiences: list[str]
    sid: str | None
    expired: bool = False  # an old ID token still names the person, but proves no live portal session


def id_token_hint(hint: str) -> Hint:
    """An ID token we issued, expired ones included (they only name the person); raises InvalidHint.

    Logout tokens are signed with the same keys: their typ and events claim tell them apart. (Authlib's
    EndSessionEndpoint checks a hint's signature only, in a private method; the authorize endpoint has none.)
    """
    try:
        token = keyring().verify(hint)
    except (JoseError, ValueError) as exc:
        raise InvalidHint("id_token_hint is not valid") from exc
    claims = token.claims
    sub, aud, sid = claims.get("sub"), claims.get("aud"), claims.get("sid")
    acted = claims.get("act")
    if isinstance(acted, dict) and isinstance(acted.get("sub"), str):
        # Issued to someone acting for another (issue 15): the person who signed in is the actor.
        sub = acted["sub"]
    if (
        token.header.get("typ", "JWT") != "JWT"
        or "events" in claims
        or claims.get("iss") != settings().issuer
        or not isinstance(sub, str)
    ):
        raise InvalidHint("id_token_hint is not an ID token issued here")
    if isinstance(aud, list):
        audiences = [a for a in aud if isinstance(a, str)]
    else:
        audiences = [aud] if isinstance(aud, str) else []
    exp = claims.get("exp")
    expired = not isinstance(exp, int) or isinstance(exp, bool) or exp <= clock.timestamp(clock.now())
    return Hint(sub=sub, audiences=audiences, sid=sid if isinstance(sid, str) else None, expired=expired)
