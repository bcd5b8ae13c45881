"""OIDC endpoints. Thin: parse, call the domain, respond."""

from __future__ import annotations

import secrets

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Response,
    redirect,
    request,
    url_for,
)
from flask import session as browser
from joserfc.errors import JoseError

from idp.extensions import csrf, db
from idp.login import sessions
from idp.oidc import pending, policy
from idp.oidc.authorize import error_redirect, error_response, respond_with_code, server
from idp.oidc.discovery import discovery_json
from idp.oidc.userinfo import userinfo_response
from idp.runtime import keyring, settings

bp = Blueprint("oidc", __name__)

_STATIC_CACHE = "public, max-age=300"


def _cached_json(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = _STATIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/openid-configuration")
def discovery():
    return _cached_json(discovery_json())


@bp.get("/jwks.json")
def jwks():
    return _cached_json(keyring().jwks_json())


def browser_id() -> str:
    if "bid" not in browser:
        browser["bid"] = secrets.token_urlsafe(24)
    return browser["bid"]


def current_session():
    return sessions.find(request.cookies.get(sessions.COOKIE))


def _hint_sub(hint: str | None) -> str | None:
    if not hint:
        return None
    token = keyring().verify(hint)  # raises JoseError when not ours
    if token.claims.get("iss") != settings().issuer:
        raise JoseError("id_token_hint was not issued here")
    return token.claims.get("sub")


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    params = request.values
    try:
        grant = server().get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return error_response(error, params.get("state"))
    redirect_uri, state = grant.redirect_uri, params.get("state")

    if params.get("request") or params.get("request_uri"):
        return error_redirect(redirect_uri, "request_not_supported", state)
    if params.get("response_mode", "query") != "query":
        return error_redirect(redirect_uri, "invalid_request", state, "Only response_mode=query is supported.")
    wanted = policy.prompts(params)
    if "none" in wanted and len(wanted) > 1:
        return error_redirect(redirect_uri, "invalid_request", state, "prompt=none cannot be combined.")
    max_age = params.get("max_age")
    if max_age is not None and (not max_age.isdigit() or len(max_age) > 9):
        return error_redirect(redirect_uri, "invalid_request", state, "max_age must be a non-negative integer.")
    try:
        hint_sub = _hint_sub(params.get("id_token_hint"))
    except (JoseError, ValueError):
        return error_redirect(redirect_uri, "invalid_request", state, "id_token_hint is not valid.")

    session = current_session()
    decision = policy.decide(params, grant.client, session, hint_sub)
    if decision is None:
        return respond_with_code(grant, session)
    if "none" in wanted:
        return error_redirect(redirect_uri, decision.prompt_none_error, state)

    flow: dict = {}
    if not decision.needs_login:
        flow = {"user_id": session.user_id, "session_sid": session.sid}
    parked = pending.park({k: params.get(k) for k in pending.PARAMS}, decision.reason, browser_id(), flow)
    db.session.commit()
    return redirect(url_for("login.stage", uid=parked.uid))


@bp.route("/token", methods=["POST"])
@csrf.exempt
def token():
    response = server().create_token_response()
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    return userinfo_response(request)


@bp.route("/revoke", methods=["POST"])
@csrf.exempt
def revoke():
    response = server().create_endpoint_response("revocation")
    db.session.commit()
    return response


@bp.route("/introspect", methods=["POST"])
@csrf.exempt
def introspect():
    return server().create_endpoint_response("introspection")

