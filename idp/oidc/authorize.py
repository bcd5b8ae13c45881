"""The authorization endpoint's decisions, shared by /authorize and the end of a sign-in."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from flask import Response, current_app, render_template
from werkzeug.datastructures import MultiDict

from idp import sessions
from idp.audit import EventTag
from idp.delegation.acting import record_acting
from idp.extensions import db
from idp.models import Delegation, SsoSession
from idp.oidc import pending
from idp.oidc.claims import id_token_hint
from idp.oidc.grants import AuthorizationCodeGrant
from idp.oidc.server import Server
from idp.runtime import settings

# RFC 6749 §3.1: request parameters MUST NOT be included more than once. client_id and redirect_uri
# are checked by the grant (their repetition means there is nowhere safe to redirect to).
SINGLE_VALUED = (*tuple(p for p in pending.PARAMS if p not in {"client_id", "redirect_uri"}), "request", "request_uri")


def server() -> Server:
    built: Server = current_app.extensions["idp.oauth_server"]  # idp/app.py builds it once per app
    return built


def error_redirect(redirect_uri: str, error: str, state: str | None, description: str | None = None) -> Response:
    """An OAuth error sent back to a redirect_uri that was already checked against the client."""
    params = [("error", error)]
    if description:
        params.append(("error_description", description))
    if state:
        params.append(("state", state))
    params.append(("iss", settings().issuer))
    return current_app.response_class(status=302, headers={"Location": add_params_to_uri(redirect_uri, params)})


def error_response(error: OAuth2Error, state: str | None = None) -> Response | tuple[str, int]:
    """Redirect only to a validated redirect_uri; otherwise an error page for the person (never a redirect)."""
    if error.redirect_uri:
        return error_redirect(error.redirect_uri, error.error, state, error.description)
    return render_template("oidc/error.html", error=error.error, description=error.description), 400


def echoed_state(values: MultiDict[str, str]) -> str | None:
    """The state to send back: the one the portal sent, or none when it sent several (we cannot pick)."""
    states = values.getlist("state")
    return states[0] if len(states) == 1 else None


# Longest value we accept per parameter: what we store must fit its column, and nothing is unbounded.
MAX_LENGTH = {"nonce": 255, "state": 1000, "scope": 500, "claims_locales": 100, "ui_locales": 100,
              "login_hint": 320, "id_token_hint": 8000, "acr_values": 200, "prompt": 50, "max_age": 9}


def request_error(values: MultiDict[str, str]) -> tuple[str, str] | None:
    """Rules of an authorization request beyond what Authlib checks: (error, description) or None."""
    for name in SINGLE_VALUED:
        if len(values.getlist(name)) > 1:
            return "invalid_request", f"The parameter {name} was sent more than once."
    for name, limit in MAX_LENGTH.items():
        if len(values.get(name) or "") > limit:
            return "invalid_request", f"The parameter {name} is too long (at most {limit} characters)."
    # OIDC Core §3.1.2.1: an OpenID request names its redirect_uri, even when only one is registered.
    if "openid" in (values.get("scope") or "").split() and not values.get("redirect_uri"):
        return "invalid_request", "redirect_uri is required."
    if values.get("request"):
        return "request_not_supported", "Request objects are not supported."
    if values.get("request_uri"):
        return "request_uri_not_supported", "request_uri is not supported."
    if values.get("response_mode", "query") != "query":
        return "invalid_request", "Only response_mode=query is supported."
    wanted = (values.get("prompt") or "").split()
    if "none" in wanted and len(wanted) > 1:
        return "invalid_request", "prompt=none cannot be combined with other values."
    max_age = values.get("max_age")
    if max_age is not None and (not (max_age.isascii() and max_age.isdigit()) or len(max_age) > 9):
        return "invalid_request", "max_age must be a non-negative integer."
    return None


def hint_subject(hint: str | None) -> str | None:
    """The sub of an id_token_hint we issued (expired ones count: OIDC Core §3.1.2.1); raises InvalidHint."""
    return id_token_hint(hint).sub if hint else None


def respond_with_code(grant: AuthorizationCodeGrant, session: SsoSession, *, chosen: bool = False,
                      acting_for: Delegation | None = None) -> Response:
    """Issue the code for a validated grant to the session's user and remember the portal took part; `chosen`:
    the person chose whom they act for here (`acting_for`: under that delegation, None: themselves), which this
    session remembers for the portal until it asks again (prompt=select_account)."""
    grant.request.sso_session = session
    grant.request.delegation = acting_for
    sessions.add_client(session, grant.client, chosen=chosen, delegation_id=acting_for.id if acting_for else None)
    if acting_for is not None:
        record_acting(EventTag.DELEGATION_SIGN_IN, acting_for, grant.client.client_id, sid=session.sid)
    response: Response = server().create_authorization_response(
        request=grant.request, grant_user=session.user, grant=grant)
    db.session.commit()
    return response
