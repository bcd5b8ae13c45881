"""Registering and changing a portal from a form (the admin console's portals pages): every field as typed, checked
all at once by the registry's and the profile's own rules (so a form can say beside each field what is wrong),
then registered or changed through `registry.register` and `registry.update`, as `idp clients add|update` do.

A declared portal (idp/portals/declared.py) is refused here as at the CLI: its config file is where it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idp.errors import InvalidInput
from idp.models import Client
from idp.models.client import BUILTIN_CLIENT_IDS
from idp.models.factor import FACTOR_KINDS
from idp.portals import declared, registry
from idp.portals import profile as portal_profile
from idp.runtime import settings

# What a new portal is (fixed at registration): a confidential portal (with a secret), a public one (a native app
# or single-page app: no secret, always PKCE) or a service (client_credentials, no people sign in).
CONFIDENTIAL, PUBLIC, SERVICE = "confidential", "public", "service"
KINDS = (CONFIDENTIAL, PUBLIC, SERVICE)

# The registration's own fields that `update` compares and may change (the profile's are compared one by one).
_COMPARED = ("name", "redirect_uris", "post_logout_redirect_uris", "backchannel_logout_uri", "first_party",
             "pkce_required", "id_token_alg", "access_token_format", "mfa", "mfa_factors", "trusted_device_days",
             "password_policy", "help_contact", "email_domains", "registration")
# registry.update's name for a field where it differs from the row's.
_UPDATE_ARGUMENT = {"mfa_factors": "factors"}


@dataclass
class Typed:
    """A portal's registration as a form holds it: texts, lists of texts and yes/no. `profile`: each field's
    typed value, "" for the deployment's default."""

    name: str = ""
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    backchannel_logout_uri: str = ""
    first_party: bool = False
    pkce_required: bool = True
    id_token_alg: str = ""
    access_token_format: str = registry.OPAQUE
    mfa: str = "optional"
    mfa_factors: list[str] = field(default_factory=lambda: list(FACTOR_KINDS))
    trusted_device_days: str = "7"
    password_policy: str = ""
    help_contact: str = ""
    email_domains: list[str] = field(default_factory=list)
    registration: bool = False
    profile: dict[str, str] = field(default_factory=dict)
    client_id: str = ""  # registration only: "" for a random one
    kind: str = CONFIDENTIAL  # registration only


class Refused(InvalidInput):
    """Some fields are wrong: `problems` says which (field name, or profile.<field>) and why; nothing changed."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in problems.items()))
        self.problems = problems


def manageable(client: Client | None) -> bool:
    """Whether a portal is an admin's to see and change: not the provider's own built-in clients (the account
    pages', the console's), which the console itself signs in through."""
    return client is not None and client.client_id not in BUILTIN_CLIENT_IDS


def kind_of(client: Client) -> str:
    if "client_credentials" in (client.grant_types or []):
        return SERVICE
    return PUBLIC if client.public else CONFIDENTIAL


def typed_from(client: Client) -> Typed:
    """A registered portal as its edit form starts: its own values; the profile fields it does not set are ""."""
    own = client.profile or {}

    def shown(name: str) -> str:
        value = own.get(name)
        if value is None:
            return ""
        if name == "withheld_claims":
            return ",".join(value)
        if name == "help_by_role":
            return "; ".join(f"{role}={contact}" for role, contact in value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return Typed(
        name=client.name, redirect_uris=list(client.redirect_uris or []),
        post_logout_redirect_uris=list(client.post_logout_redirect_uris or []),
        backchannel_logout_uri=client.backchannel_logout_uri or "", first_party=bool(client.first_party),
        pkce_required=bool(client.pkce_required), id_token_alg=client.id_token_alg,
        access_token_format=client.access_token_format, mfa=client.mfa,
        mfa_factors=list(client.mfa_factors or []), trusted_device_days=str(client.trusted_device_days),
        password_policy=client.password_policy or "", help_contact=client.help_contact or "",
        email_domains=list(client.email_domains or []), registration=bool(client.registration),
        profile={name: shown(name) for name in portal_profile.FIELDS}, client_id=client.client_id,
        kind=kind_of(client))


def _checked(typed: Typed, client: Client | None) -> tuple[dict[str, str], Client]:
    """Every field checked by the registry's rules on a row never added to the session (as the config file's
    portals are, declared.wanted), which then holds the values normalised; and what was wrong, by field."""
    problems: dict[str, str] = {}

    def attempt(name: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            check(*args, **kwargs)
        except InvalidInput as error:
            problems.setdefault(name, str(error))

    kind = kind_of(client) if client is not None else typed.kind
    if kind not in KINDS:
        problems["kind"] = f"one of {', '.join(KINDS)}"
        kind = CONFIDENTIAL
    public, service = kind == PUBLIC, kind == SERVICE
    if client is None and typed.client_id:
        attempt("client_id", registry.check_client_id, typed.client_id)
        attempt("client_id", declared.guard_new, typed.client_id)
        if "client_id" not in problems and registry.taken(typed.client_id):
            problems["client_id"] = f"client id {typed.client_id} is taken"
    shape = Client(public=public, profile={}, name="",
                   grant_types=["client_credentials"] if service else ["authorization_code", "refresh_token"])
    try:
        shape.name = registry.check_name(typed.name, "a portal needs a name")
    except InvalidInput as error:
        problems["name"] = str(error)
    attempt("redirect_uris", registry.set_addresses, shape, typed.redirect_uris, None, None)
    attempt("post_logout_redirect_uris", registry.set_addresses, shape, None, typed.post_logout_redirect_uris, None)
    attempt("backchannel_logout_uri", registry.set_addresses, shape, None, None, typed.backchannel_logout_uri.strip())
    shape.first_party = typed.first_party
    attempt("pkce_required", registry.check_pkce, public, typed.pkce_required)
    shape.pkce_required = typed.pkce_required
    try:
        shape.id_token_alg = registry.check_id_token_alg(typed.id_token_alg or settings().keys.algorithm)
    except InvalidInput as error:
        problems["id_token_alg"] = str(error)
    try:
        shape.access_token_format = registry.check_access_token_format(typed.access_token_format)
    except InvalidInput as error:
        problems["access_token_format"] = str(error)
    attempt("mfa", registry.set_mfa_policy, shape, mfa=typed.mfa)
    attempt("mfa_factors", registry.set_mfa_policy, shape, factors=typed.mfa_factors)
    days = typed.trusted_device_days.strip()
    if days.isdigit() and len(days) <= 3:
        attempt("trusted_device_days", registry.set_mfa_policy, shape, trusted_device_days=int(days))
    else:
        problems["trusted_device_days"] = f"not a number of days: {days!r}"
    for name in ("password_policy", "help_contact", "email_domains", "registration"):
        attempt(name, registry.set_account_rules, shape, **{name: getattr(typed, name)})
    for name in portal_profile.FIELDS:
        text = (typed.profile.get(name) or "").strip()
        if text:
            attempt(f"profile.{name}", portal_profile.change, shape, {name: text})
    return problems, shape


def problems(typed: Typed, client: Client | None = None) -> dict[str, str]:
    """What is wrong with the typed registration, by field ({}: nothing): for a new portal (client None) or as a
    change to a registered one."""
    return _checked(typed, client)[0]


def register(typed: Typed) -> registry.Registered:
    """Register a new portal (not committed; audited as `idp clients add` is); its secret is in the result, once.
    Refused (nothing registered) when any field is wrong."""
    found, shape = _checked(typed, None)
    if found:
        raise Refused(found)
    return registry.register(
        shape.name, list(shape.redirect_uris or []),
        post_logout_redirect_uris=list(shape.post_logout_redirect_uris or []),
        backchannel_logout_uri=shape.backchannel_logout_uri, first_party=shape.first_party,
        public=typed.kind == PUBLIC, service=typed.kind == SERVICE, id_token_alg=shape.id_token_alg,
        access_token_format=shape.access_token_format, client_id=typed.client_id or None, mfa=shape.mfa,
        mfa_factors=list(shape.mfa_factors),
        trusted_device_days=shape.trusted_device_days, password_policy=shape.password_policy or "",
        help_contact=shape.help_contact or "", email_domains=list(shape.email_domains or []),
        registration=bool(shape.registration), pkce_required=shape.pkce_required, profile=dict(shape.profile))


def update(client: Client, typed: Typed) -> list[str]:
    """Change a registered portal to the typed registration (not committed): only the fields that differ, through
    `registry.update`, which audits them. Returns the fields changed ([]: none). A declared portal is refused, as
    is any wrong field (nothing changes)."""
    declared.guard(client)
    found, shape = _checked(typed, client)
    if found:
        raise Refused(found)
    arguments: dict[str, Any] = {}
    for name in _COMPARED:
        have, want = getattr(client, name), getattr(shape, name)
        if name in ("backchannel_logout_uri", "password_policy", "help_contact"):  # None and "" both: none
            have, want = have or "", want or ""
        if have != want:
            arguments[_UPDATE_ARGUMENT.get(name, name)] = want
    stored, wanted = client.profile or {}, shape.profile or {}
    profile = {name: wanted.get(name) for name in portal_profile.FIELDS if stored.get(name) != wanted.get(name)}
    if not arguments and not profile:
        return []
    registry.update(client, **arguments, profile=profile)
    return sorted([name for name in _COMPARED if _UPDATE_ARGUMENT.get(name, name) in arguments]
                  + [f"profile.{name}" for name in profile])
