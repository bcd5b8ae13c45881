"""The sign-in pages: show the stage the plan needs next, take its form, finish with a session and a code."""

from __future__ import annotations

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask import session as browser

from idp import clock
from idp.extensions import db
from idp.login import flow as plan
from idp.login import sessions
from idp.models import SsoSession, User
from idp.oidc import pending
from idp.oidc.authorize import error_redirect, respond_with_code, server
from idp.oidc.pending import ParkedRequest
from idp.oidc.server import query_client
from idp.runtime import settings

bp = Blueprint("login", __name__, url_prefix="/login")

ACR_PASSWORD = "urn:idp:acr:password"


def _load(uid: str) -> plan.Flow | None:
    parked = pending.load(uid, browser.get("bid"))
    if parked is None:
        return None
    client = query_client(parked.params.get("client_id", ""))
    if client is None:
        return None
    state = dict(parked.flow or {})
    user = db.session.get(User, state["user_id"]) if state.get("user_id") else None
    g.ui_locales = parked.params.get("ui_locales")
    return plan.Flow(pending=parked, client=client, user=user, state=state)


def _render(flow: plan.Flow, stage, error: str | None = None, status: int = 200):
    context = stage.context(flow)
    body = render_template(stage.template, flow=flow, client=flow.client, uid=flow.pending.uid,
                           error=error, **context)
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<uid>", methods=["GET", "POST"])
def stage(uid: str):
    flow = _load(uid)
    if flow is None:
        return render_template("login/expired.html"), 400
    current = plan.next_stage(flow)
    if request.method == "POST" and current is not None:
        if request.form.get("stage") != current.name:
            return redirect(url_for("login.stage", uid=uid))  # a stale tab: show the current stage
        result = current.submit(flow, request.form)
        flow.save()
        if isinstance(result, plan.Retry):
            db.session.commit()
            return _render(flow, current, result.error, result.status)
        if isinstance(result, plan.Fail):
            return _fail(flow, result)
        db.session.commit()
        current = plan.next_stage(flow)
        if current is not None:
            return redirect(url_for("login.stage", uid=uid))
    if current is not None:
        return _render(flow, current)
    return _finish(flow)


def _fail(flow: plan.Flow, result: plan.Fail):
    redirect_uri = flow.params.get("redirect_uri") or flow.client.get_default_redirect_uri()
    db.session.delete(flow.pending)
    db.session.commit()
    return error_redirect(redirect_uri, result.error, flow.params.get("state"), result.description or None)


def _finish(flow: plan.Flow):
    """Every stage is satisfied: open (or keep) the SSO session, then resume the parked request."""
    new_cookie = None
    if flow.state.get("fresh"):
        old = sessions.find(request.cookies.get(sessions.COOKIE))
        if old is not None:
            sessions.end(old, reason="replaced by a new sign-in")
        proven = flow.proven
        amr = sorted(proven)
        session, new_cookie = sessions.start(
            flow.user,
            amr=amr,
            acr=ACR_PASSWORD,
            auth_time=clock.datetime_from_timestamp(max(proven.values())),
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
        )
        browser.pop("csrf_token", None)  # a new session gets a new CSRF token
    else:
        from sqlalchemy import select

        session = db.session.scalar(select(SsoSession).where(SsoSession.sid == flow.state.get("session_sid")))
        if session is None or not sessions.is_alive(session):
            flow.state.clear()
            flow.save()
            db.session.commit()
            return redirect(url_for("login.stage", uid=flow.pending.uid))
    parked = ParkedRequest(flow.params, settings().issuer + "/authorize")
    from authlib.oauth2 import OAuth2Error

    try:
        grant = server().get_consent_grant(request=parked, end_user=None)
    except OAuth2Error as error:  # the client changed while the person was signing in
        db.session.rollback()
        return render_template("oidc/error.html", error=error.error, description=error.description), 400
    db.session.delete(flow.pending)
    response = respond_with_code(grant, session)
    if new_cookie:
        response.set_cookie(
            sessions.COOKIE, new_cookie, httponly=True, samesite="Lax", path="/",
            secure=settings().issuer.startswith("https://"),
        )
    return response
