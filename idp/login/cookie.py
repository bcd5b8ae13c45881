"""The SSO session cookie, read, set and cleared in one place with one set of attributes (web layer)."""

from __future__ import annotations

from flask import request

from idp.login import sessions
from idp.models import SsoSession
from idp.runtime import settings


def _attributes() -> dict:
    return {"path": "/", "httponly": True, "samesite": "Lax", "secure": settings().issuer.startswith("https://")}


def current_session() -> SsoSession | None:
    """The live SSO session of the browser making this request, if any."""
    return sessions.find(request.cookies.get(sessions.COOKIE))


def set_cookie(response, value: str) -> None:
    response.set_cookie(sessions.COOKIE, value, **_attributes())


def clear_cookie(response) -> None:
    response.delete_cookie(sessions.COOKIE, **_attributes())
