"""Registering portals as clients: validation of their URIs, secrets shown once and stored as keyed hashes."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from idp import clock
from idp.audit import EventTag, record
from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.models import (
    AuthorizationCode,
    Client,
    Consent,
    Organisation,
    OutboxMessage,
    SessionClient,
    Token,
    User,
)
from idp.models.client import BUILTIN_CLIENT_IDS, PORTAL_SCOPE
from idp.models.factor import FACTOR_KINDS
from idp.portals import profile as portal_profile
from idp.runtime import crypto, settings

CLIENT_ID = re.compile(r"[A-Za-z0-9._~][A-Za-z0-9._~-]{0,63}")
_ALPHANUMERIC = string.ascii_letters + string.digits


def new_client_id() -> str:
    """24 letters and digits (~143 bits): safe in URLs, config files and on a command line (no leading '-')."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))


LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def check_uri(uri: str, what: str, dev_mode: bool) -> str:
    """An absolute https URI without fragment; plain http only to loopback in dev mode."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidInput(f"{what}: not a valid URL: {uri!r}") from None
    if "*" in uri:
        raise InvalidInput(f"{what}: must not contain a wildcard (*): every address is registered in full: {uri!r}")
    # urlsplit drops leading spaces and control characters, tabs and newlines, and reads a backslash as part of
    # the userinfo, where a browser reads it as "/": "http://evil.example\\@localhost/" would pass for loopback.
    if any(c.isspace() or c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        raise InvalidInput(f"{what}: must not contain spaces, control characters or backslashes: {uri!r}")
    try:
        parts.port  # noqa: B018  (a port out of range raises here)
    except ValueError:
        raise InvalidInput(f"{what}: not a valid port: {uri!r}") from None
    if parts.fragment or "#" in uri:
        raise InvalidInput(f"{what}: must not contain a fragment: {uri!r}")
    if not parts.netloc or parts.scheme not in {"https", "http"}:
        raise InvalidInput(f"{what}: must be an absolute http(s) URL: {uri!r}")
    if parts.scheme == "http" and not (dev_mode and parts.hostname in LOOPBACK):
        raise InvalidInput(f"{what}: must use https (plain http only for 127.0.0.1/localhost in dev mode): {uri!r}")
    return uri


ID_TOKEN_ALGS = ("RS256", "ES256")


def check_id_token_alg(alg: str) -> str:
    if alg not in ID_TOKEN_ALGS:
        raise InvalidInput("id token algorithm must be RS256 or ES256")
    return alg


OPAQUE, JWT = "opaque", "jwt"
ACCESS_TOKEN_FORMATS = (OPAQUE, JWT)


def check_access_token_format(value: str) -> str:
    """opaque (the default: a random string, revocable at once) or jwt (RFC 9068: checked without asking us)."""
    if value not in ACCESS_TOKEN_FORMATS:
        raise InvalidInput(f"access token format must be opaque or jwt, not {value!r}")
    return value


def check_pkce(public: bool, pkce_required: bool) -> None:
    if public and not pkce_required:
        raise InvalidInput("a public client always needs PKCE: only a confidential portal can be exempted")


def check_kind(public: bool, service: bool) -> None:
    if service and public:
        raise InvalidInput("a service client (client_credentials) cannot be public")


def check_client_id(client_id: str) -> str:
    if not CLIENT_ID.fullmatch(client_id):
        raise InvalidInput(f"client id must be 1-64 letters, digits, '.', '_', '~' or '-', not starting with '-': "
                           f"{client_id!r}")
    return client_id


def taken(client_id: str) -> bool:
    """Registered already, or a person's sub: a service's JWT access token names the service as its sub (RFC 9068
    §2.2), which must never pass for a person at a resource server (§5)."""
    return (db.session.scalar(select(Client.id).where(Client.client_id == client_id)) is not None
            or db.session.scalar(select(User.id).where(User.sub == client_id)) is not None)


class ClientIdTaken(InvalidInput):
    """The client_id asked for is registered already (perhaps a moment ago, by another process)."""


@dataclass
class Registered:
    client: Client
    secret: str | None


def check_name(name: str | None, missing: str) -> str:
    """A portal's name as people see it on pages and in mail subjects: one line of at most 200 characters."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(missing)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput("a portal's name is one line, without control characters")
    if len(name) > 200:
        raise InvalidInput("a portal's name is at most 200 characters")
    return name


def register(
    name: str,
    redirect_uris: list[str],
    *,
    post_logout_redirect_uris: list[str] = (),
    backchannel_logout_uri: str | None = None,
    first_party: bool = False,
    public: bool = False,
    service: bool = False,
    id_token_alg: str | None = None,
    access_token_format: str = OPAQUE,
    client_id: str | None = None,
    mfa: str = "optional",
    mfa_factors: list[str] | None = None,
    trusted_device_days: int = 7,
    password_policy: str | None = None,
    help_contact: str | None = None,
    email_domains: list[str] | None = None,
    registration: bool | None = None,
    pkce_required: bool = True,
    profile: Mapping[str, Any] | None = None,
    secret: str | None = None,
    scopes: list[str] | None = None,
    organisation: Organisation | None = None,
) -> Registered:
    """Add a client (not committed); the secret (given, or made here) is returned once and only its hash is kept.
    The ID token algorithm defaults to the deployment's (keys.algorithm)."""
    dev = settings().server.dev_mode
    name = check_name(name, "a client needs a --name")
    check_kind(public, service)
    if not service and not redirect_uris:
        raise InvalidInput("a portal needs at least one --redirect-uri")
    id_token_alg = check_id_token_alg(id_token_alg or settings().keys.algorithm)
    access_token_format = check_access_token_format(access_token_format)
    check_pkce(public, pkce_required)
    scope = check_service_scopes(scopes or [], organisation, service)
    redirect_uris = [check_uri(u, "redirect-uri", dev) for u in redirect_uris]
    post_logout = [check_uri(u, "post-logout-redirect-uri", dev) for u in post_logout_redirect_uris]
    if backchannel_logout_uri:
        check_uri(backchannel_logout_uri, "backchannel-logout-uri", dev)
    if client_id is not None:
        check_client_id(client_id)
    client_id = client_id or new_client_id()
    if taken(client_id):
        raise ClientIdTaken(f"client id {client_id} is taken")
    secret = None if public else secret or secrets.token_urlsafe(32)
    grant_types = ["client_credentials"] if service else ["authorization_code", "refresh_token"]
    client = Client(
        client_id=client_id,
        secret_hash=crypto().keyed_hash(secret) if secret else None,
        name=name,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout,
        backchannel_logout_uri=backchannel_logout_uri or None,
        grant_types=grant_types,
        scope=scope if service else PORTAL_SCOPE,
        organisation_id=organisation.id if organisation is not None else None,
        first_party=first_party,
        public=public,
        pkce_required=pkce_required,
        id_token_alg=id_token_alg,
        access_token_format=access_token_format,
        created_at=clock.now(),
    )
    set_mfa_policy(client, mfa=mfa, factors=mfa_factors or list(FACTOR_KINDS),
                   trusted_device_days=trusted_device_days)
    set_account_rules(client, password_policy=password_policy, help_contact=help_contact,
                      email_domains=email_domains, registration=bool(registration))
    client.profile = {}
    portal_profile.change(client, profile or {})
    db.session.add(client)
    db.session.flush()
    record(EventTag.CLIENT_CREATED, client_id=client.client_id, name=name, scope=scope or None,
           organisation=organisation.code if organisation is not None else None)
    return Registered(client, secret)


SCIM_SCOPE = "scim"  # provisioning at /scim/v2 (idp/scim)
SERVICE_SCOPES = (SCIM_SCOPE,)  # what a service (client_credentials) client may be granted


def check_service_scopes(scopes: list[str], organisation: Organisation | None, service: bool) -> str:
    """The scope of a service client: some of SERVICE_SCOPES; an organisation only limits a scim client."""
    scopes = sorted({s.strip() for s in scopes if s.strip()})
    if scopes and not service:
        raise InvalidInput("only a service client (--service) is given a --scope; a portal's are the portal scopes")
    unknown = [s for s in scopes if s not in SERVICE_SCOPES]
    if unknown:
        raise InvalidInput(f"not a service scope: {unknown[0]!r} (one of {', '.join(SERVICE_SCOPES)})")
    if organisation is not None and SCIM_SCOPE not in scopes:
        raise InvalidInput("an --organisation limits a SCIM client: give --scope scim too")
    return " ".join(scopes)


MFA_POLICIES = ("every", "required", "optional", "off")
MAX_TRUSTED_DEVICE_DAYS = 365


def set_mfa_policy(client: Client, *, mfa: str | None = None, factors: list[str] | None = None,
                   trusted_device_days: int | None = None) -> None:
    """The portal's second-factor policy: every | required | optional | off, the factors it accepts, the days a trusted
    browser may skip the second factor (0: never). Only what is given changes."""
    if mfa is not None:
        if mfa not in MFA_POLICIES:
            raise InvalidInput(f"mfa must be every, required, optional or off, not {mfa!r}")
        client.mfa = mfa
    if factors is not None:
        unknown = sorted(set(factors) - set(FACTOR_KINDS))
        if unknown or not factors:
            raise InvalidInput(f"factors must be some of {', '.join(FACTOR_KINDS)}" +
                               (f", not {', '.join(unknown)}" if unknown else ""))
        client.mfa_factors = [kind for kind in FACTOR_KINDS if kind in factors]
    if trusted_device_days is not None:
        if not 0 <= trusted_device_days <= MAX_TRUSTED_DEVICE_DAYS:
            raise InvalidInput(f"trusted device days must be between 0 and {MAX_TRUSTED_DEVICE_DAYS}")
        client.trusted_device_days = trusted_device_days


_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def set_account_rules(client: Client, *, password_policy: str | None = None, help_contact: str | None = None,
                      email_domains: list[str] | None = None, registration: bool | None = None) -> None:
    """Which password policy the portal's people need, where a locked-out person asks for help, the e-mail
    domains an account must have to sign in here (none: any), and whether people may create their own account
    from its sign-in page. Only what is given changes; "" clears."""
    if registration is not None:
        client.registration = registration
    if password_policy is not None:
        if password_policy and password_policy not in settings().password_policies:
            known = ", ".join(sorted(settings().password_policies))
            raise InvalidInput(f"no password policy {password_policy!r} (known: {known})")
        client.password_policy = password_policy or None
    if help_contact is not None:
        if len(help_contact) > 300:
            raise InvalidInput("help contact: at most 300 characters")
        client.help_contact = help_contact.strip() or None
    if email_domains is not None:
        domains = [d.strip().lower().removeprefix("@") for d in email_domains if d.strip()]
        bad = [d for d in domains if not _DOMAIN.fullmatch(d)]
        if bad:
            raise InvalidInput(f"not an e-mail domain: {bad[0]!r}")
        client.email_domains = sorted(set(domains))


def update(client: Client, *, name: str | None = None, password_policy: str | None = None,
           help_contact: str | None = None, email_domains: list[str] | None = None,
           registration: bool | None = None, pkce_required: bool | None = None,
           profile: Mapping[str, Any] | None = None, redirect_uris: list[str] | None = None,
           post_logout_redirect_uris: list[str] | None = None, backchannel_logout_uri: str | None = None,
           first_party: bool | None = None, id_token_alg: str | None = None,
           access_token_format: str | None = None, **policy) -> None:
    """Change a portal's name, addresses, second-factor policy, account rules, PKCE exemption, consent screen,
    ID token algorithm, access token format or profile (audited). A list given replaces the registered one;
    backchannel_logout_uri "" removes it."""
    if name is not None:
        client.name = check_name(name, "a client needs a name")
    if id_token_alg is not None:
        client.id_token_alg = check_id_token_alg(id_token_alg)
    if access_token_format is not None:
        # Tokens issued before stay as they were until they expire: a JWT cannot be taken back.
        client.access_token_format = check_access_token_format(access_token_format)
    if first_party is not None:
        client.first_party = first_party
    addresses = set_addresses(client, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri)
    if pkce_required is not None:
        check_pkce(client.public, pkce_required)
        client.pkce_required = pkce_required
    set_mfa_policy(client, **policy)
    rules = {"password_policy": password_policy, "help_contact": help_contact, "email_domains": email_domains,
             "registration": registration}
    set_account_rules(client, **rules)
    policy.update(rules, pkce_required=pkce_required, first_party=first_party, id_token_alg=id_token_alg,
                  access_token_format=access_token_format)
    changed_profile = [f"profile.{field}" for field in portal_profile.change(client, profile or {})]
    record(EventTag.CLIENT_UPDATED, client_id=client.client_id,
           changed=sorted([k for k, v in policy.items() if v is not None] + (["name"] if name else [])
                          + changed_profile + addresses))


def set_addresses(client: Client, redirect_uris: list[str] | None, post_logout: list[str] | None,
               backchannel: str | None) -> list[str]:
    """Replace the portal's registered addresses that are given, each checked as at registration."""
    dev, changed = settings().server.dev_mode, []
    if redirect_uris is not None:
        if not redirect_uris and "authorization_code" in client.grant_types:
            raise InvalidInput("a portal needs at least one --redirect-uri")
        client.redirect_uris = [check_uri(u, "redirect-uri", dev) for u in redirect_uris]
        changed.append("redirect_uris")
    if post_logout is not None:
        client.post_logout_redirect_uris = [check_uri(u, "post-logout-redirect-uri", dev) for u in post_logout]
        changed.append("post_logout_redirect_uris")
    if backchannel is not None:
        client.backchannel_logout_uri = check_uri(backchannel, "backchannel-logout-uri", dev) if backchannel \
            else None
        changed.append("backchannel_logout_uri")
    return changed


def find(client_id: str | None) -> Client | None:
    """The portal with this client_id, or None (an over-long or empty id names none)."""
    if not client_id or len(client_id) > 64:
        return None
    return db.session.scalar(select(Client).where(Client.client_id == client_id))


def portals() -> list[Client]:
    """The portals people sign in to (not the account pages, not machine clients), by name: those an account
    can be made for."""
    found = db.session.scalars(select(Client).where(Client.client_id.not_in(BUILTIN_CLIENT_IDS))
                              .order_by(Client.name))
    return [c for c in found if for_people(c)]


def for_people(client: Client) -> bool:
    """A portal people sign in to (one of `portals`): not our own account pages or console, not a machine
    client (SCIM provisioning, client credentials only)."""
    return client.client_id not in BUILTIN_CLIENT_IDS and "authorization_code" in (client.grant_types or [])


def get(client_id: str) -> Client:
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    return client


def rotate_secret(client: Client, secret: str | None = None) -> str:
    """A new secret (given, or made here); the old one stops working at once."""
    if client.public:
        raise InvalidInput("a public client has no secret")
    secret = secret or secrets.token_urlsafe(32)
    client.secret_hash = crypto().keyed_hash(secret)
    record(EventTag.CLIENT_SECRET_ROTATED, client_id=client.client_id)
    return secret


def disable(client: Client, now: datetime) -> bool:
    """Stop a portal (not committed): its authorization requests get unauthorized_client, its token requests
    invalid_client, its tokens stop working. Its registration, sessions and consents stay, for `enable`.
    False: it was disabled already."""
    if client.disabled_at is not None:
        return False
    client.disabled_at = now
    record(EventTag.CLIENT_DISABLED, client_id=client.client_id)
    return True


def enable(client: Client) -> bool:
    """Let a disabled portal work again (not committed); False: it was not disabled."""
    if client.disabled_at is None:
        return False
    client.disabled_at = None
    record(EventTag.CLIENT_ENABLED, client_id=client.client_id)
    return True


def remove(client: Client) -> None:
    """Remove a client with everything issued to it. Explicit deletes, because SQLite does not enforce
    ON DELETE CASCADE unless asked, and a token must never outlive its client."""
    record(EventTag.CLIENT_REMOVED, client_id=client.client_id)
    for model in (Token, AuthorizationCode, Consent, SessionClient, OutboxMessage):
        db.session.execute(delete(model).where(model.client_id == client.id))
    db.session.delete(client)


def describe(client: Client) -> dict:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "grant_types": client.grant_types,
        "first_party": client.first_party,
        "public": client.public,
        "pkce_required": client.pkce_required,
        "id_token_signed_response_alg": client.id_token_alg,
        "access_token_format": client.access_token_format,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "mfa": client.mfa,
        "mfa_factors": client.mfa_factors,
        "trusted_device_days": client.trusted_device_days,
        "password_policy": client.password_policy or settings().passwords.default_policy,
        "help_contact": client.help_contact,
        "email_domains": client.email_domains,
        "registration": bool(client.registration),
        "profile": portal_profile.explain(client),
        "declared_in": client.declared_in,
        "disabled": client.disabled_at is not None,
        **({"scope": client.scope, "organisation": client.organisation.code if client.organisation else None}
           if "client_credentials" in (client.grant_types or []) else {}),
    }
