"""The sign-in pages: show the stage the plan needs next, take its form, finish with a session and a code."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask import session as browser

from idp import clock, sessions
from idp.accounts import passwords
from idp.extensions import db, limiter
from idp.login import flow as plan
from idp.login.policy import Step
from idp.login.stages import AUTOMATIC, PAGES
from idp.login.state import SignInState, StaleState, user_id_of
from idp.models import User
from idp.oidc import pending
from idp.oidc.authorize import error_redirect, respond_with_code, server
from idp.oidc.pending import ParkedRequest
from idp.portals import registry
from idp.runtime import settings
from idp.security import policy
from idp.security.logins import login_key, normalise_login
from idp.sessions import devices
from idp.web.branding import show_portal
from idp.web.cookies import current_session, device_token, set_cookie, set_device_cookie
from idp.web.throttle import client_network, counts

bp = Blueprint("login", __name__, url_prefix="/login")


def _load(uid: str) -> plan.Flow | None:
    """The sign-in this browser parked under uid; None when unknown, expired, or its state is stale."""
    parked = pending.of_this_browser(uid)
    if parked is None:
        return None
    client = registry.find(parked.params.get("client_id", ""))
    if client is None:
        return None
    try:
        state = SignInState.load(parked.flow)
    except StaleState:
        return None
    user = db.session.get(User, state.user_id) if state.user_id is not None else None
    g.ui_locales = parked.params.get("ui_locales")
    show_portal(client)
    return plan.Flow(pending=parked, client=client, user=user, state=state, device_token=device_token(),
                     user_agent=request.user_agent.string, ip=request.remote_addr)


def _next_page(flow: plan.Flow) -> Step | None:
    """The first step that needs the person, after running the automatic ones (a trusted browser, a session
    that ended); None when nothing is left. The policy is asked again after every outcome."""
    for _ in range(len(AUTOMATIC) + 1):
        steps = plan.steps(flow)
        if not steps or not steps[0].automatic:
            return steps[0] if steps else None
        AUTOMATIC[steps[0].stage].run(flow, steps[0])
    raise RuntimeError("the sign-in policy keeps asking for automatic steps")


def _render(flow: plan.Flow, step: Step, error: str | None = None, status: int = 200, notice: str | None = None):
    """Show a step's page; a stage with a `prepare` step (sending the first code) does it now, once. The flow
    is saved and committed here, once per request, before the page is made."""
    stage = PAGES[step.stage]
    prepare = getattr(stage, "prepare", None)
    if prepare is not None:
        error = prepare(flow, step) or error
    context = stage.context(flow, step)
    flow.save()
    db.session.commit()
    body = render_template(stage.template, flow=flow, client=flow.client, uid=flow.pending.uid,
                           error=error or None, notice=notice or None, **context)
    return make_response(body, status)  # HTML pages are no-store (idp/web.py)


def _typed_account() -> str:
    """Throttle key per typed account name, known or not (no enumeration), stored only as a keyed hash; the
    later stages (codes) count per account too, across sign-ins, so starting new sign-ins buys no guesses."""
    # Only the password stage names an account: elsewhere a posted "username" must not pick a fresh counter.
    typed = normalise_login(request.form.get("username")) if request.form.get("stage") == "password" else ""
    if typed:
        return "account:" + login_key(typed)
    uid = request.view_args.get("uid", "")
    parked = pending.of_this_browser(uid)
    user_id = user_id_of(parked.flow) if parked is not None else None
    return f"user:{user_id}" if user_id else f"sign-in:{uid}"


@bp.route("/<uid>", methods=["GET", "POST"])
@limiter.limit(lambda: settings().limits.sign_in_per_ip, key_func=client_network, methods=["POST"],
               deduct_when=counts)
@limiter.limit(lambda: settings().limits.sign_in_per_account, key_func=_typed_account, methods=["POST"],
               deduct_when=counts)
def stage(uid: str):
    flow = _load(uid)
    if flow is None:
        raise plan.SignInExpired()
    step = _next_page(flow)
    if request.method == "POST" and step is not None:
        if request.form.get("stage") != step.stage:
            flow.save()
            db.session.commit()  # what an automatic step recorded
            return redirect(url_for("login.stage", uid=uid))  # a stale tab: show the current stage
        result = PAGES[step.stage].submit(flow, step, request.form)
        if isinstance(result, plan.Retry):
            return _render(flow, step, result.error, result.status, result.notice)
        if isinstance(result, plan.Fail):
            flow.save()
            return _fail(flow, result)
        step = _next_page(flow)
        flow.save()
        db.session.commit()
        if step is not None:
            return redirect(url_for("login.stage", uid=uid))
    if step is not None:
        return _render(flow, step)
    return _finish(flow)


def _fail(flow: plan.Flow, result: plan.Fail):
    """The person refused this portal: it hears the OAuth error, but a password just proven still signs them in."""
    redirect_uri = flow.params.get("redirect_uri") or flow.client.get_default_redirect_uri()
    if not redirect_uri or not flow.client.check_redirect_uri(redirect_uri):  # unregistered meanwhile
        db.session.rollback()
        return render_template("oidc/error.html", error=result.error, description=result.description), 400
    established = _establish(flow)
    db.session.delete(flow.pending)
    db.session.commit()
    return _send(error_redirect(redirect_uri, result.error, flow.params.get("state"), result.description or None),
                 established)


def _establish(flow: plan.Flow) -> plan.Established | None:
    """After a fresh sign-in: the SSO session it earned (not committed), else None."""
    state = flow.state
    if not state.fresh:
        return None
    established = plan.establish_session(flow, current_session(),
                                         request.remote_addr, request.user_agent.string)
    if state.trust_days:
        established.device = devices.trust(flow.user, days=state.trust_days, user_agent=flow.user_agent,
                                           ip=flow.ip)[1], state.trust_days
    # A new session gets a new CSRF token: drop the stored secret and this request's signed copy.
    browser.pop("csrf_token", None)
    g.pop("csrf_token", None)
    return established


def _send(response, established: plan.Established | None):
    """Once committed: hand the browser its session cookie (and a trusted browser's)."""
    if established is not None:
        set_cookie(response, established.cookie)
        if established.device is not None:
            set_device_cookie(response, *established.device)
    return response


def _finish(flow: plan.Flow):
    """Every step is done: open (or keep) the SSO session, then resume the parked request. A sign-in built on
    a session's proof only gets here while that session lives (the policy starts over otherwise)."""
    established = _establish(flow)
    session = established.session if established is not None else sessions.by_sid(flow.state.session_sid)
    parked = ParkedRequest(flow.params, settings().issuer + "/authorize")
    try:
        grant = server().get_consent_grant(request=parked, end_user=None)
    except OAuth2Error as error:  # the client changed while the person was signing in
        db.session.rollback()
        return render_template("oidc/error.html", error=error.error, description=error.description), 400
    db.session.delete(flow.pending)
    chosen = flow.state.person_chosen
    return _send(respond_with_code(grant, session, chosen=chosen, acting_for=plan.acting_under(flow.state)),
                 established)  # respond_with_code commits


@bp.post("/<uid>/password-rules")
@limiter.limit(lambda: settings().limits.sign_in_per_ip, key_func=client_network)
def password_rules(uid: str):
    """Live feedback on a new password, from the same rules the server applies when it is saved."""
    flow = _load(uid)
    if flow is None or flow.user is None or not flow.state.password_typed:
        return {"error": "not found"}, 404
    password = (request.form.get("password") or "")[:1024]
    return policy.feedback_json(passwords.results(flow.user, password, flow.client, with_history=False))


def resume_as(uid: str | None, user: User):
    """After a password was set through a link (reset, registration) in the browser that began the sign-in:
    go on with that sign-in as this person, who has just proven the password. None when there is none."""
    flow = _load(uid) if uid else None
    if flow is None:
        return None
    flow.start_over()
    flow.user = user
    flow.state.prove("pwd", clock.timestamp(clock.now()))
    flow.state.password_typed = True
    flow.save()
    db.session.commit()
    return redirect(url_for("login.stage", uid=uid))
