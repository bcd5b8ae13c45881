"""How a browser without a session reaches the account pages: the normal sign-in, as a built-in portal.

The account pages are a client of the provider like any portal (code flow, PKCE S256), so every sign-in rule
(second factor, trusted device, lockout) holds for them without a second door.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.errors import UserFacingError
from idp.extensions import db
from idp.models import Client
from idp.models.client import ACCOUNT_CLIENT_ID
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


def ensure_account_client() -> Client:
    """The built-in "My account" client, registered on first use (not committed)."""
    client = db.session.scalar(select(Client).where(Client.client_id == CLIENT_ID))
    if client is None:
        try:
            with db.session.begin_nested():  # another worker may register it at the same moment
                client = register("My account", [redirect_uri()], first_party=True, public=True,
                                  client_id=CLIENT_ID).client
                client.grant_types = ["authorization_code"]
                client.scope = "openid"
                client.mfa = "optional"
        except IntegrityError:
            client = db.session.scalar(select(Client).where(Client.client_id == CLIENT_ID))
    if client.redirect_uris != [redirect_uri()]:  # the issuer moved since it was registered
        client.redirect_uris = [redirect_uri()]
    return client


def begin(store: MutableMapping, target: str, extra: dict[str, str] | None = None) -> str:
    """Remember a new sign-in in the browser session; returns the /authorize URL to send the browser to.

    `target` is the local path to return to afterwards (chosen by the caller, never taken from the request);
    `extra`: more authorization parameters (the admin console asks acr_values and max_age).
    """
    ensure_account_client()
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    started = dict(store.get(KEY) or {})
    started[state] = {"verifier": verifier, "target": target}
    store[KEY] = dict(list(started.items())[-_KEEP:])
    params = {
        "client_id": CLIENT_ID,
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
    return pending["target"]
