"""A portal's sign-in profile: what each portal decides differently about signing in (issue 14).

A portal stores only what it sets (`Client.profile`, a JSON object); every other field is the deployment's
setting, so one deployment serves the insurer that shows a code prefix and re-sets the phone after a reset
next to the care organisation that asks a username at "forgot password". `of(client)` is the effective
profile; `explain(client)` says where each value comes from (`idp clients show`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from authlib.oidc.core import UserInfo

from idp import i18n
from idp.errors import InvalidInput
from idp.messaging.outbox import Sender
from idp.models import Client, User
from idp.models.client import BUILTIN_CLIENT_IDS
from idp.runtime import settings
from idp.security import codes, lockout

# Claims a portal may be refused, whatever scope it asks (seed 001: the insurer never gets the phone number).
WITHHOLDABLE = ("phone_number", "phone_number_verified", "email", "email_verified", "name", "given_name",
                "family_name", "locale", "roles", "org", "delegates")


# Which scope gives which claims: Authlib's (OIDC Core §5.4), our roles scope, our org scope (issue 16) and our
# delegations scope (who may act for the person at this portal: only where the profile offers delegation,
# idp/oidc/claims.py).
DELEGATIONS = "delegations"
SCOPE_CLAIMS: dict[str, list[str]] = {**UserInfo.SCOPES_CLAIMS_MAPPING, "roles": ["roles"], "org": ["org"],
                                      DELEGATIONS: ["delegates"]}


@dataclass(frozen=True)
class Profile:
    sms_prefix: bool  # show a prefix before the SMS code box, repeated in the SMS (seed 002)
    reset_asks_username: bool  # "forgot password" asks the username as well as the address (seed 002)
    reset_phone: bool  # after a reset, the mobile number is set again with an SMS check (seed 001)
    activation_phone: bool  # activation confirms a mobile number with an SMS code (seeds 001, 003)
    withheld_claims: tuple[str, ...]  # never released to this portal, whatever scope it asks
    sign_in_url: str  # the portal's own page that starts a sign-in: where links and mails send people back
    organisation: str  # whose sign-in this is, on every page of it (its <title> too); "" : the portal's name
    accent_colour: str  # "#rrggbb" for buttons and links, at least 4.5:1 on white; "": ours
    support_url: str  # the organisation's help page, linked from every page of its sign-in
    logo_url: str  # the organisation's logo (https; http only in dev mode), beside its name on every page
    help_by_role: tuple[tuple[str, str], ...]  # (role, where to ask for help) for people with that role (seed 000)
    sign_in_with: str  # what the sign-in page asks: "either" (e-mail address or username), "email", "username"
    sms_code_length: int  # digits of an SMS code (after the prefix), 6-10
    email_code_length: int  # letters of an e-mail code, 6-10 (seed 004: six)
    activation_order: str  # "password_first" (seed 001) or "phone_first": link, SMS code, password (seed 003)
    form_of_address: str  # how its Dutch pages, mails and SMS address the reader: "u" (formal) or "je" (informal)
    delegation: bool  # people may act for someone else here (issue 15); off: never offered (the business portal)
    self_delete: bool  # people may delete their own account on the account pages (every portal they use must allow it)
    new_accounts: str  # how an account an admin makes for it starts: "activation_link" (seeds 001, 003, 004) or
    # "temporary_password" (seed 002: a username and a temporary password by e-mail)
    activation_birth_date: bool  # its activation checks the date of birth (seed 004): an admin must enter one


def _defaults() -> dict[str, Any]:
    cfg = settings()
    return {
        "sms_prefix": cfg.codes.sms_prefix,
        "reset_asks_username": cfg.accounts.reset_asks_username,
        "reset_phone": cfg.accounts.reset_phone,
        "activation_phone": cfg.accounts.activation_phone,
        "withheld_claims": (),
        "sign_in_url": "",
        "organisation": "",
        "accent_colour": "",
        "support_url": "",
        "logo_url": "",
        "help_by_role": (),
        "sign_in_with": "either",
        "sms_code_length": cfg.codes.sms_length,
        "email_code_length": cfg.codes.email_length,
        "activation_order": "password_first",
        "form_of_address": "u",
        "delegation": False,
        "self_delete": False,
        "new_accounts": "activation_link",
        "activation_birth_date": False,
    }


NEW_ACCOUNTS = ("activation_link", "temporary_password")

FIELDS = tuple(f.name for f in fields(Profile))


def of(client: Client | None) -> Profile:
    """The effective profile: the portal's own values over the deployment's defaults (None: no portal)."""
    values = _defaults()
    values.update(_own(client))
    return Profile(**values)


def explain(client: Client) -> dict[str, dict[str, Any]]:
    """Each field's value and where it comes from ("portal" or "default")."""
    own, effective = _own(client), of(client)
    return {name: {"value": _plain(getattr(effective, name)), "from": "portal" if name in own else "default"}
            for name in FIELDS}


def _own(client: Client | None) -> dict[str, Any]:
    """The values this portal set itself, typed; whatever is unknown or malformed in the row is ignored."""
    stored = getattr(client, "profile", None) or {}
    own: dict[str, Any] = {}
    for name, value in stored.items():
        if name in _PARSE:
            try:
                own[name] = _PARSE[name](value)
            except InvalidInput:
                continue
    return own


def _plain(value: Any) -> Any:
    return [_plain(item) for item in value] if isinstance(value, tuple) else value


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "on", "1"}:
        return True
    if text in {"false", "no", "off", "0"}:
        return False
    raise InvalidInput(f"not true or false: {value!r}")


def _claims(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    names = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    unknown = [name for name in names if name not in WITHHOLDABLE]
    if unknown:
        raise InvalidInput(f"cannot withhold {', '.join(unknown)} (known: {', '.join(WITHHOLDABLE)})")
    return names


def _url(value: object) -> str:
    text = str(value).strip()
    if not text.startswith(("https://", "http://")) or any(c.isspace() for c in text) or len(text) > 500:
        raise InvalidInput(f"not an http(s) address: {value!r}")
    return text


def _logo_url(value: object) -> str:
    """Shown on our pages (the page's CSP lets images come from its origin): https, or http in dev mode."""
    text = _url(value)
    # Its origin goes into the page's CSP (img-src): a host and a port, nothing that could end the directive
    # or start another (';' ',' quotes) and no user name.
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", urlsplit(text).netloc):
        raise InvalidInput(f"a logo's address names a host (and a port) only: {value!r}")
    if text.startswith("http://") and not settings().server.dev_mode:
        raise InvalidInput(f"a logo must come over https outside dev mode: {value!r}")
    return text


def _text(value: object) -> str:
    text = " ".join(str(value).split())
    if len(text) > 100:
        raise InvalidInput("at most 100 characters")
    return text


def contrast_on_white(colour: str) -> float:
    """WCAG 2 contrast ratio of "#rrggbb" against white."""
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def _colour(value: object) -> str:
    text = str(value).strip().lower()
    if not re.fullmatch(r"#[0-9a-f]{6}", text):
        raise InvalidInput(f"not a colour as #rrggbb: {value!r}")
    if contrast_on_white(text) < 4.5:  # WCAG 1.4.3: text and buttons must stay readable
        raise InvalidInput(f"{text} is too light on white ({contrast_on_white(text):.1f}:1, at least 4.5:1)")
    return text


def _help_by_role(value: object) -> tuple[tuple[str, str], ...]:
    """"professional=bestellingen@example.org; end_user=088 123 45 67" (or pairs from the stored JSON)."""
    if isinstance(value, list | tuple):
        pairs = [(str(p[0]), str(p[1])) for p in value if isinstance(p, list | tuple) and len(p) == 2]
    else:
        pairs = []
        for item in str(value).split(";"):
            role, sep, contact = item.partition("=")
            if item.strip() and not sep:
                raise InvalidInput(f"expected role=contact, got {item.strip()!r}")
            if item.strip():
                pairs.append((role.strip(), contact.strip()))
    for role, contact in pairs:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", role) or not contact or len(contact) > 300:
            raise InvalidInput(f"not a role and a contact: {role!r}={contact!r}")
    return tuple(pairs)


SIGN_IN_WITH = ("either", "email", "username")
ACTIVATION_ORDERS = ("password_first", "phone_first")
# The profile's yes/no fields; the others are text, a number, a choice or a list.
BOOLEANS = ("sms_prefix", "reset_asks_username", "reset_phone", "activation_phone", "activation_birth_date",
            "delegation", "self_delete")


def _sign_in_with(value: object) -> str:
    text = str(value).strip().lower()
    if text not in SIGN_IN_WITH:
        raise InvalidInput(f"either, email or username, not {value!r}")
    return text


def _code_length(value: object) -> int:
    text = str(value).strip()
    # Fewer than six could be guessed within the tries; more than ten nobody types without mistakes.
    if not re.fullmatch(r"[0-9]{1,2}", text) or not 6 <= int(text) <= 10:
        raise InvalidInput(f"a number from 6 to 10, not {value!r}")
    return int(text)


def _activation_order(value: object) -> str:
    text = str(value).strip().lower()
    if text not in ACTIVATION_ORDERS:
        raise InvalidInput(f"password_first or phone_first, not {value!r}")
    return text


def _new_accounts(value: object) -> str:
    text = str(value).strip().lower()
    if text not in NEW_ACCOUNTS:
        raise InvalidInput(f"activation_link or temporary_password, not {value!r}")
    return text


def _form_of_address(value: object) -> str:
    text = str(value).strip().lower()
    if text not in i18n.FORMS_OF_ADDRESS:
        raise InvalidInput(f"u (formal) or je (informal), not {value!r}")
    return text


_PARSE: dict[str, Callable[[object], Any]] = {
    "sms_prefix": _boolean, "reset_asks_username": _boolean, "reset_phone": _boolean,
    "activation_phone": _boolean, "withheld_claims": _claims, "sign_in_url": _url,
    "organisation": _text, "accent_colour": _colour, "support_url": _url, "logo_url": _logo_url,
    "help_by_role": _help_by_role,
    "sign_in_with": _sign_in_with, "sms_code_length": _code_length, "email_code_length": _code_length,
    "activation_order": _activation_order, "form_of_address": _form_of_address, "delegation": _boolean,
    "self_delete": _boolean, "new_accounts": _new_accounts, "activation_birth_date": _boolean,
}


def change(client: Client, assignments: Mapping[str, Any]) -> list[str]:
    """Set (a text value, or a typed one from the config file) or reset to the default (None) some fields of the
    portal's profile (not committed); returns the fields changed. An unknown field or a bad value changes nothing
    and raises InvalidInput."""
    stored = dict(client.profile or {})
    for name, text in assignments.items():
        if name not in _PARSE:
            raise InvalidInput(f"no profile field {name!r} (known: {', '.join(FIELDS)})")
        if text is None:
            stored.pop(name, None)
            continue
        try:
            stored[name] = _plain(_PARSE[name](text))
        except InvalidInput as error:
            raise InvalidInput(f"profile {name}: {error}") from None
    client.profile = stored  # a new object, so SQLAlchemy sees the JSON change
    return sorted(assignments)


def code_style(client: Client | None) -> codes.Style:
    """How this portal's codes look: prefix and lengths (the deployment's settings where it sets nothing)."""
    chosen = of(client)
    return codes.Style(sms_prefix=chosen.sms_prefix, sms_length=chosen.sms_code_length,
                       email_length=chosen.email_code_length)


def organisation_name(client: Client) -> str:
    """The name a person sees this portal by, on its pages and in its messages: its organisation, else its own."""
    return " ".join((of(client).organisation or client.display_name).split())  # one line, whatever was typed


def sender(client: Client | None) -> Sender | None:
    """Who signs a mail or SMS sent for this portal, and in which form of address. None: no portal, or the
    provider's own account pages (their mails are signed by the sign-in service, like those for no portal)."""
    if client is None or client.client_id in BUILTIN_CLIENT_IDS:
        return None
    return Sender(name=organisation_name(client), form_of_address=of(client).form_of_address)


def shown_scopes(client: Client, scopes: list[str]) -> list[str]:
    """The scopes worth asking consent for: those that give this portal at least one claim it may receive (the
    delegations scope gives nothing where the profile does not offer delegation)."""
    withheld = set(of(client).withheld_claims)
    if not of(client).delegation:
        withheld |= set(SCOPE_CLAIMS[DELEGATIONS])
    return [s for s in scopes if s not in SCOPE_CLAIMS or not set(SCOPE_CLAIMS[s]) <= withheld]


def may_receive(client: Client, claim: str) -> bool:
    """May this portal receive this claim at all (not withheld by its profile; `delegates` only where it offers
    delegation)?"""
    chosen = of(client)
    if claim in SCOPE_CLAIMS[DELEGATIONS] and not chosen.delegation:
        return False
    return claim not in chosen.withheld_claims


def login_name(client: Client | None, user: User) -> str:
    """What this person types to sign in at this portal: the e-mail address, or the username where the portal
    signs people in by username (seeds 002 and 004) or lets them choose and they have one."""
    if of(client).sign_in_with == "email" or not user.username:
        return user.email
    return user.username


def help_contact(client: Client | None, user: User | None = None) -> str:
    """Where this person asks for help: the contact for their role at this portal (seed 000: professionals
    write to one address, end users to another), else the portal's, else the deployment's ("" : none). Only
    where the person is known (after the password, in mails to them): a page before it must not tell roles."""
    if client is not None and user is not None:
        roles = set(user.roles or [])
        for role, contact in of(client).help_by_role:
            if role in roles:
                return contact
    return lockout.help_contact(client)
