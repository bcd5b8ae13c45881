"""OIDC endpoints. Thin: parse, call the domain, respond."""

from __future__ import annotations

import secrets

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Response,
    g,
    redirect,
    request,
    url_for,
)
from flask import session as browser

from idp import clock
from idp.extensions import csrf, db
from idp.login import facts, policy
from idp.login.flow import acting_under
from idp.oidc import authorize as authz
from idp.oidc import pending
from idp.oidc.authorize import server
from idp.oidc.claims import InvalidHint
from idp.oidc.discovery import discovery_json
from idp.runtime import keyring
from idp.web.cookies import current_session, device_token

bp = Blueprint("oidc", __name__)

_STATIC_CACHE = "public, max-age=300"


def _cached_json(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = _STATIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# idp/oidc/documents.py answers these two in front of Flask; the routes keep url_for and the route map honest.
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


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    params = request.values
    g.ui_locales = params.get("ui_locales")  # error pages speak the portal's language too
    state = authz.echoed_state(params)
    try:
        grant = server().get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return authz.error_response(error, state)
    redirect_uri = grant.redirect_uri
    problem = authz.request_error(params)
    if problem:
        error, description = problem
        return authz.error_redirect(redirect_uri, error, state, description)
    try:
        hint_sub = authz.hint_subject(params.get("id_token_hint"))
    except InvalidHint:
        return authz.error_redirect(redirect_uri, "invalid_request", state, "id_token_hint is not valid.")

    session, client = current_session(), grant.client
    asked = facts.request_of(params, client, hint_sub)
    seed, steps = policy.first_steps(
        asked, facts.portal_of(client), facts.person_of(session.user if session else None, client, device_token(),
                                          request.user_agent.string),
        facts.session_of(session, client), clock.now())
    if not steps:
        return authz.respond_with_code(grant, session, chosen=seed.person_chosen, acting_for=acting_under(seed))
    if "none" in asked.prompts:
        return authz.error_redirect(redirect_uri, policy.prompt_none_error(steps[0]), state)
    parked = pending.park({k: params.get(k) for k in pending.PARAMS}, steps[0].reason, browser_id(), seed.dump())
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
    return server().create_endpoint_response("userinfo")


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

