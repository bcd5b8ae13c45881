"""How a browser without a session reaches the account pages and the admin console: the normal sign-in, as
built-in portals.

Both are clients of the provider like any portal (code flow, PKCE S256), so every sign-in rule (second factor,
trusted device, lockout) holds for them without a second door. The console is a client of its own with a
stricter profile: a code at every sign-in there, and no trusted browser standing in for it.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from urllib.parse import quote, urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.errors import UserFacingError
from idp.extensions import db
from idp.models import Client
from idp.models.client import ACCOUNT_CLIENT_ID, ADMIN_CLIENT_ID
from idp.portals.registry import register
from idp.runtime import settings

CLIENT_ID = ACCOUNT_CLIENT_ID
# Browser-session key: pending sign-ins by state, so two tabs opening /account both come back.
KEY = "account_sign_in"
_KEEP = 5


class SignInFailed(UserFacingError):
    """The account pages' own sign-in came back without a session; `reason` ("state", "no_session" or the
    OAuth error) picks the sentence, and is never shown as such (it came from the URL)."""

    message = _l("Signing in did not work")
    page = "accounts/sign_in_failed.html"


class UnknownState(Exception):
    """The callback's state is not one this browser started: a stale tab, or a forged callback."""


def redirect_uri() -> str:
    return settings().issuer + "/account/callback"


# Each built-in client: its registered name and its sign-in profile (mfa, trusted_device_days).
_BUILT_IN = {
    ACCOUNT_CLIENT_ID: ("My account", "optional", 7),
    # The console: a second factor's code at every sign-in to it ("every"), never a trusted browser instead.
    ADMIN_CLIENT_ID: ("Administration", "every", 0),
}


def ensure_account_client(client_id: str = CLIENT_ID) -> Client:
    """A built-in client (the account pages', the console's), registered on first use (not committed); its
    profile is brought back to the built-in one at every use."""
    name, mfa, trusted_days = _BUILT_IN[client_id]
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        try:
            with db.session.begin_nested():  # another worker may register it at the same moment
                client = register(name, [redirect_uri()], first_party=True, public=True,
                                  client_id=client_id).client
                client.grant_types = ["authorization_code"]
                client.scope = "openid"
        except IntegrityError:
            client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client.redirect_uris != [redirect_uri()]:  # the issuer moved since it was registered
        client.redirect_uris = [redirect_uri()]
    if (client.mfa, client.trusted_device_days) != (mfa, trusted_days):
        client.mfa, client.trusted_device_days = mfa, trusted_days
    return client


HOME = "/account"


def local_path(path: str) -> str:
    """A path of ours to send the browser back to, as a Location header can carry it: percent-encoded (a path
    from a URL may hold a decoded newline, space or backslash), and never another host's (//host): HOME then."""
    quoted = quote(path or "", safe="/-._~!$&'()*+,;=:@%")
    if not quoted.startswith("/") or quoted.startswith("//"):
        return HOME
    return quoted


def begin(store: MutableMapping, target: str, extra: dict[str, str] | None = None,
          client_id: str = CLIENT_ID) -> str:
    """Remember a new sign-in in the browser session; returns the /authorize URL to send the browser to.

    `target` is the local path to return to afterwards (chosen by the caller, never taken from the request);
    `extra`: more authorization parameters (the admin console asks acr_values and max_age); `client_id`: which
    built-in client signs in (both come back at /account/callback).
    """
    ensure_account_client(client_id)
    target = local_path(target)
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    started = dict(store.get(KEY) or {})
    started[state] = {"verifier": verifier, "target": target}
    store[KEY] = dict(list(started.items())[-_KEEP:])
    params = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": redirect_uri(),
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **(extra or {}),
    }
    return settings().issuer + "/authorize?" + urlencode(params)


def finish(store: MutableMapping, state: str | None) -> str:
    """Take back the sign-in this callback belongs to (single use); returns its target path.

    The code itself is not redeemed: the sign-in has already set the SSO cookie, which is all the
    account pages use.
    """
    started = dict(store.get(KEY) or {})
    pending = started.pop(state or "", None)
    if not isinstance(pending, dict):
        raise UnknownState(state)
    store[KEY] = started
    return local_path(str(pending.get("target") or ""))
