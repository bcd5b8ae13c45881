"""UserInfo (OIDC Core §5.3) with RFC 6750 bearer tokens from the header or a form body."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from flask import jsonify

from idp.accounts.users import phone_of
from idp.oidc.claims import user_claims
from idp.oidc.server import find_token


def _challenge(status: int, error: str | None = None, description: str | None = None, scope: str | None = None):
    parts = ['Bearer realm="idp"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    body = {"error": error, "error_description": description} if error else {}
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = ", ".join(parts)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer(request) -> tuple[str | None, str | None]:
    """The access token and an error code (RFC 6750 §2: exactly one method)."""
    header = request.headers.get("Authorization", "")
    from_form = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        from_form = request.form.get("access_token")
    scheme, _, value = header.partition(" ")
    # RFC 6750 §3.1: another scheme (Basic, …) is "no authentication information", not an error.
    if scheme.lower() == "bearer":
        if not value.strip():
            return None, "invalid_request"
        if from_form:
            return None, "invalid_request"
        return value.strip(), None
    if from_form:
        return from_form, None
    return None, None


def userinfo_response(request):
    token_string, error = _bearer(request)
    if error:
        return _challenge(400, error, "Send the access token in exactly one way.")
    if not token_string:
        return _challenge(401)
    token = find_token(token_string, "access_token")
    if (token is None or getattr(token, "matched_kind", "") != "access_token" or token.is_revoked()
            or token.is_expired()):
        return _challenge(401, "invalid_token", "The access token is invalid, expired or revoked.")
    if token.user is None or not token.user.is_active:
        return _challenge(401, "invalid_token", "The access token has no active user.")
    if "openid" not in scope_to_list(token.scope):
        return _challenge(403, "insufficient_scope", "The access token lacks the openid scope.", scope="openid")
    response = jsonify(user_claims(token.user, token.scope, phone_of(token.user)))
    response.headers["Cache-Control"] = "no-store"
    return response
