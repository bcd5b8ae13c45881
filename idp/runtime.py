"""Per-app singletons built once in create_app (settings, crypto, keys); read here, never re-read per request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from idp.oidc.keys import KeyRing
    from idp.security.crypto import Crypto
    from idp.settings import Settings


def settings() -> Settings:
    return current_app.extensions["idp.settings"]


def crypto() -> Crypto:
    return current_app.extensions["idp.crypto"]


def keyring() -> KeyRing:
    return current_app.extensions["idp.keys"]
