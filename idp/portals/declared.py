"""Portals declared in the config file ([[portals]], `DeclaredPortal` in idp/settings.py).

`check` says what `sync` would change, field by field; `sync` makes the database match the file: it registers a
missing portal with the secret from its secret_file, changes the fields that differ and sets the secret to the
file's when it differs. Each declared portal is marked with its file (`Client.declared_in`) and `guard` refuses
the CLI's own changes to it, so the file stays the one place it changes. A portal taken out of the file is
reported, never removed: removing a portal ends every session and token of it, which is the operator's call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from idp.audit import EventTag, record
from idp.errors import InvalidInput
from idp.extensions import db
from idp.models import Client
from idp.models.factor import FACTOR_KINDS
from idp.portals import profile as portal_profile
from idp.portals import registry
from idp.runtime import crypto, settings
from idp.settings import DeclaredPortal, Settings, SettingsError

ADD, UPDATE, UNCHANGED, UNDECLARED = "add", "update", "unchanged", "undeclared"
# Fixed at registration: a portal that turns public loses its secret, a service gets other grants. The file may
# not change them on a registered portal; the operator removes it and declares it again.
FIXED = ("public", "service")
# registry.update's name for a field where it differs from the file's.
_UPDATE_ARGUMENT = {"mfa_factors": "factors"}


@dataclass
class Change:
    """What sync does (or did) to one portal: add, update (these fields), unchanged, or undeclared (kept)."""

    client_id: str
    action: str
    fields: list[str] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def registration(client: Client) -> dict[str, Any]:
    """A portal's registration in the terms of the config file, to compare with what the file declares."""
    return {
        "name": client.name,
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "backchannel_logout_uri": client.backchannel_logout_uri or "",
        "first_party": bool(client.first_party),
        "public": bool(client.public),
        "service": "client_credentials" in (client.grant_types or []),
        "pkce_required": bool(client.pkce_required),
        "id_token_alg": client.id_token_alg,
        "access_token_format": client.access_token_format,
        "mfa": client.mfa,
        "mfa_factors": list(client.mfa_factors or []),
        "trusted_device_days": client.trusted_device_days,
        "password_policy": client.password_policy or "",
        "help_contact": client.help_contact or "",
        "email_domains": list(client.email_domains or []),
        "registration": bool(client.registration),
        "profile": dict(client.profile or {}),
    }


def _checked(where: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one of the registry's checks; its refusal becomes a settings error naming the portal and field."""
    try:
        return check(*args, **kwargs)
    except InvalidInput as exc:
        raise SettingsError(f"setting {where}: {exc}") from None


def wanted(portal: DeclaredPortal, cfg: Settings) -> dict[str, Any]:
    """The registration the file declares (as `registration` reads a row), checked and normalised by the same
    rules as `idp clients add`; a refused value is a SettingsError naming the portal and the field."""
    where = f"portals.{portal.client_id}"
    dev = cfg.server.dev_mode
    _checked(f"{where}.client_id", registry.check_client_id, portal.client_id)
    if portal.service and portal.public:
        raise SettingsError(f"setting {where}.public: a service portal (client_credentials) cannot be public")
    if not portal.service and not portal.redirect_uris:
        raise SettingsError(f"setting {where}.redirect_uris: a portal needs at least one redirect URI")
    if portal.public and not portal.pkce_required:
        raise SettingsError(f"setting {where}.pkce_required: a public portal always needs PKCE")
    alg = portal.id_token_alg or cfg.keys.algorithm
    if alg not in {"RS256", "ES256"}:
        raise SettingsError(f"setting {where}.id_token_alg: must be RS256 or ES256, not {alg!r}")
    token_format = _checked(f"{where}.access_token_format", registry.check_access_token_format,
                            portal.access_token_format)
    # A row never added to the session: the registry's own setters check each value and normalise it on it.
    name = _checked(f"{where}.name", registry.check_name, portal.name, "a portal needs a name")
    shape = Client(name=name, first_party=portal.first_party, public=portal.public,
                   grant_types=["client_credentials"] if portal.service else ["authorization_code", "refresh_token"],
                   pkce_required=portal.pkce_required, id_token_alg=alg, access_token_format=token_format,
                   profile={},
                   redirect_uris=[_checked(f"{where}.redirect_uris", registry.check_uri, uri, "redirect URI", dev)
                                  for uri in portal.redirect_uris],
                   post_logout_redirect_uris=[
                       _checked(f"{where}.post_logout_redirect_uris", registry.check_uri, uri,
                                "post-logout redirect URI", dev) for uri in portal.post_logout_redirect_uris],
                   backchannel_logout_uri=portal.backchannel_logout_uri and _checked(
                       f"{where}.backchannel_logout_uri", registry.check_uri, portal.backchannel_logout_uri,
                       "back-channel logout URI", dev))
    _checked(f"{where}.mfa", registry.set_mfa_policy, shape, mfa=portal.mfa)
    _checked(f"{where}.mfa_factors", registry.set_mfa_policy, shape, factors=portal.mfa_factors or list(FACTOR_KINDS))
    _checked(f"{where}.trusted_device_days", registry.set_mfa_policy, shape,
             trusted_device_days=portal.trusted_device_days)
    for key in ("password_policy", "help_contact", "email_domains", "registration"):
        _checked(f"{where}.{key}", registry.set_account_rules, shape, **{key: getattr(portal, key)})
    for name, value in portal.profile.items():
        try:
            portal_profile.change(shape, {name: value})
        except InvalidInput as exc:
            raise SettingsError(f"setting {where}.profile.{name}: "
                                f"{str(exc).removeprefix(f'profile {name}: ')}") from None
    return registration(shape)


def validate(cfg: Settings | None = None) -> None:
    """Check every declared portal by the registry's rules (create_app: a bad one stops start-up in one line)."""
    cfg = cfg or settings()
    for portal in cfg.portals:
        wanted(portal, cfg)


def _differences(have: dict[str, Any], want: dict[str, Any]) -> list[str]:
    changed = [key for key in want if key != "profile" and have[key] != want[key]]
    profile_keys = sorted(set(have["profile"]) | set(want["profile"]))
    return changed + [f"profile.{key}" for key in profile_keys if have["profile"].get(key) != want["profile"].get(key)]


def check(cfg: Settings | None = None) -> list[Change]:
    """What `sync` would do, portal by portal, changing nothing: add, update (with the fields that differ, and
    "secret" when the file's secret is not the registered one), unchanged; then the portals once declared that
    the file no longer declares (undeclared: kept)."""
    cfg = cfg or settings()
    declared = {portal.client_id: portal for portal in cfg.portals}
    rows = {client.client_id: client for client in db.session.scalars(
        select(Client).where(Client.client_id.in_(list(declared))))} if declared else {}
    changes = []
    for client_id, portal in declared.items():
        want = wanted(portal, cfg)
        client = rows.get(client_id)
        if client is None:
            changes.append(Change(client_id, ADD))
            continue
        fields = _differences(registration(client), want)
        secret = portal.secret()
        if secret is not None and not client.public and not crypto().matches(secret, client.secret_hash):
            fields.append("secret")
        if client.declared_in != cfg.config_path:
            fields.append("declared_in")
        fixed = [key for key in FIXED if key in fields]
        note = (f"{' and '.join(fixed)} cannot change on a registered portal: take it out of the file, run "
                f"`idp clients remove {client_id}`, then declare it again") if fixed else ""
        changes.append(Change(client_id, UPDATE if fields else UNCHANGED, fields, note))
    leftovers = db.session.scalars(select(Client).where(Client.declared_in.is_not(None))
                                   .order_by(Client.client_id))
    changes += [Change(client.client_id, UNDECLARED, note=(
        f"no longer declared in {client.declared_in}; kept (remove it with `idp clients remove {client.client_id}`)"))
        for client in leftovers if client.client_id not in declared]
    return changes


def sync(cfg: Settings | None = None) -> list[Change]:
    """Make the database match the file (not committed) and return what changed, as `check` says it. A change
    the file may not make (public, service) refuses the whole sync and changes nothing."""
    cfg = cfg or settings()
    changes = check(cfg)
    for change in changes:
        if change.action == UPDATE and change.note:
            raise InvalidInput(f"portal {change.client_id}: {change.note}")
    declared = {portal.client_id: portal for portal in cfg.portals}
    for change in changes:
        if change.action == ADD:
            _add(declared[change.client_id], cfg)
        elif change.action == UPDATE:
            _update(registry.get(change.client_id), declared[change.client_id], cfg, change.fields)
    db.session.flush()
    return changes


def _add(portal: DeclaredPortal, cfg: Settings) -> None:
    want = wanted(portal, cfg)
    registered = registry.register(
        want["name"], want["redirect_uris"], post_logout_redirect_uris=want["post_logout_redirect_uris"],
        backchannel_logout_uri=want["backchannel_logout_uri"] or None, first_party=want["first_party"],
        public=want["public"], service=want["service"], id_token_alg=want["id_token_alg"],
        access_token_format=want["access_token_format"],
        client_id=portal.client_id, mfa=want["mfa"], mfa_factors=want["mfa_factors"],
        trusted_device_days=want["trusted_device_days"], password_policy=want["password_policy"],
        help_contact=want["help_contact"], email_domains=want["email_domains"], registration=want["registration"],
        pkce_required=want["pkce_required"], profile=want["profile"], secret=portal.secret())
    registered.client.declared_in = cfg.config_path


def _update(client: Client, portal: DeclaredPortal, cfg: Settings, fields: list[str]) -> None:
    want = wanted(portal, cfg)
    profile_fields = [key.removeprefix("profile.") for key in fields if key.startswith("profile.")]
    arguments = {_UPDATE_ARGUMENT.get(key, key): want[key] for key in fields if key in want}
    if arguments or profile_fields:
        registry.update(client, **arguments,
                        profile={name: want["profile"].get(name) for name in profile_fields})
    if "secret" in fields:
        registry.rotate_secret(client, portal.secret())
    if "declared_in" in fields:
        client.declared_in = cfg.config_path
        record(EventTag.CLIENT_UPDATED, client_id=client.client_id, changed=["declared_in"])


def guard(client: Client) -> None:
    """Refuse to change a declared portal by hand (`idp clients update|rotate-secret|remove`): its config file
    is where it changes. Once that same file, loaded, no longer declares it, it is the operator's again (another
    config file, e.g. a staging one, never releases it: the next sync from its own file would undo the change)."""
    if client.declared_in is None:
        return
    cfg = settings()
    if cfg.config_path == client.declared_in and client.client_id not in {p.client_id for p in cfg.portals}:
        return
    raise InvalidInput(f"portal {client.client_id} is declared in {client.declared_in}; change it there and run "
                       "idp clients sync")


def guard_new(client_id: str | None) -> None:
    """Refuse `idp clients add` of a client_id the config file declares: `idp clients sync` registers it."""
    cfg = settings()
    if client_id and client_id in {portal.client_id for portal in cfg.portals}:
        raise InvalidInput(f"portal {client_id} is declared in {cfg.config_path}; run idp clients sync to register it")
