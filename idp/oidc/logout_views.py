"""RP-initiated logout (end_session_endpoint). Back-channel delivery lives in idp/oidc/logout.py."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, current_app, make_response, redirect, render_template, request
from joserfc.errors import JoseError
from sqlalchemy import select

from idp.extensions import csrf, db
from idp.login import sessions
from idp.models import SsoSession
from idp.oidc import logout
from idp.oidc.server import query_client
from idp.oidc.views import current_session
from idp.runtime import keyring, settings

bp = Blueprint("logout", __name__)


def _logout_target(params) -> tuple[dict | None, object, str | None, str | None]:
    """Validate an end-session request: (hint claims, client, redirect target, error)."""
    claims = None
    hint = params.get("id_token_hint")
    if hint:
        try:
            claims = dict(keyring().verify(hint).claims)  # an expired hint is still a good hint
        except (JoseError, ValueError):
            return None, None, None, "id_token_hint"
        if claims.get("iss") != settings().issuer:
            return None, None, None, "id_token_hint"
    client = None
    client_id = params.get("client_id")
    aud = claims.get("aud") if claims else None
    auds = [aud] if isinstance(aud, str) else list(aud or [])
    if client_id:
        client = query_client(client_id)
        if client is None or (claims and client_id not in auds):
            return claims, None, None, "client_id"
    elif len(auds) == 1:
        client = query_client(auds[0])
    target = params.get("post_logout_redirect_uri")
    if target:
        if client is None or target not in client.post_logout_redirect_uris:
            return claims, client, None, "post_logout_redirect_uri"
        if params.get("state"):
            target = add_params_to_uri(target, [("state", params["state"])])
    return claims, client, target, None


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def end_session():
    params = request.values
    claims, client, target, problem = _logout_target(params)
    if problem:
        return render_template("oidc/logout_error.html", problem=problem), 400
    session = current_session()
    hinted = None
    if claims and claims.get("sid"):
        hinted = db.session.scalar(select(SsoSession).where(SsoSession.sid == claims["sid"]))
    if session is not None and claims and session.user.sub != claims.get("sub"):
        session = None  # the browser's session belongs to someone else: leave it alone
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    if claims is None and session is not None and not confirmed:
        # Without a hint anyone could log the person out by a link: ask first (RP-Initiated Logout §6).
        return render_template("oidc/logout_confirm.html", params=params.to_dict(), client=client)
    if confirmed:
        csrf.protect()
    ended = False
    for victim in {s.id: s for s in (session, hinted) if s is not None and s.ended_at is None}.values():
        sessions.end(victim, reason="rp-initiated" if client else "user", initiated_by=client)
        ended = True
    db.session.commit()
    if ended:
        logout.deliver_in_background(current_app._get_current_object())
    response = redirect(target) if target else make_response(render_template("oidc/logged_out.html", client=client))
    response.delete_cookie(sessions.COOKIE, path="/")
    return response
