"""The SSO session and trusted-device cookies, read, set and cleared in one place with one set of attributes
(over https: Secure, host-only, Path=/, and named with the __Host- prefix, as the Flask session cookie is)."""

from __future__ import annotations

from flask import request

from idp import sessions
from idp.models import SsoSession
from idp.runtime import settings
from idp.sessions import devices


def _attributes() -> dict:
    return {"path": "/", "httponly": True, "samesite": "Lax", "secure": _https()}


def current_session() -> SsoSession | None:
    """The live SSO session of the browser making this request, if any."""
    return sessions.find(request.cookies.get(sessions.cookie_name(_https())))


def set_cookie(response, value: str) -> None:
    response.set_cookie(sessions.cookie_name(_https()), value, **_attributes())


def clear_cookie(response) -> None:
    response.delete_cookie(sessions.cookie_name(_https()), **_attributes())


def _https() -> bool:
    return settings().issuer.startswith("https://")


def device_token() -> str | None:
    """The trusted-device cookie of this browser (__Host- prefixed over https)."""
    return request.cookies.get(devices.cookie_name(_https()))


def set_device_cookie(response, value: str, days: int) -> None:

    response.set_cookie(devices.cookie_name(_https()), value, max_age=days * 86400, **_attributes())


def clear_device_cookie(response) -> None:

    response.delete_cookie(devices.cookie_name(_https()), **_attributes())
