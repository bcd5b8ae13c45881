"""The authorization endpoint's decisions, shared by /authorize and the end of a sign-in."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from flask import current_app, render_template

from idp.extensions import db
from idp.login import sessions
from idp.models import SsoSession
from idp.runtime import settings


def server():
    return current_app.extensions["idp.oauth_server"]


def error_redirect(redirect_uri: str, error: str, state: str | None, description: str | None = None):
    """An OAuth error sent back to a redirect_uri that was already checked against the client."""
    params = [("error", error)]
    if description:
        params.append(("error_description", description))
    if state:
        params.append(("state", state))
    params.append(("iss", settings().issuer))
    return current_app.response_class(status=302, headers={"Location": add_params_to_uri(redirect_uri, params)})


def error_response(error: OAuth2Error, state: str | None = None):
    """Redirect only to a validated redirect_uri; otherwise an error page for the person (never a redirect)."""
    if error.redirect_uri:
        return error_redirect(error.redirect_uri, error.error, state or error.state, error.description)
    return render_template("oidc/error.html", error=error.error, description=error.description), 400


def respond_with_code(grant, session: SsoSession):
    """Issue the code for a validated grant to the session's user and remember the portal took part."""
    grant.request.sso_session = session
    sessions.add_client(session, grant.client)
    response = server().create_authorization_response(request=grant.request, grant_user=session.user, grant=grant)
    db.session.commit()
    return response
