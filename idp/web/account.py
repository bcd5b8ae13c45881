"""The account pages: a person's second factors, recovery codes and trusted devices (thin views).

Every change first needs a fresh password check (idp/accounts/reauth.py); the factor rules live in
idp/accounts/factors.py, the device rules in idp/sessions/devices.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask import session as browser
from flask_babel import gettext as _

from idp import clock, sessions
from idp.accounts import entry, factors, reauth
from idp.extensions import db
from idp.models import User
from idp.models.factor import FACTOR_KINDS
from idp.security import recovery
from idp.sessions import assurance, devices
from idp.web.cookies import clear_device_cookie, current_session, device_token

bp = Blueprint("account", __name__, url_prefix="/account")


# --- guards -------------------------------------------------------------------------------------


def _sign_in(target: str):
    url = entry.begin(browser, target=target)
    db.session.commit()  # the built-in client, registered on first use
    return redirect(url)


def signed_in(view: Callable) -> Callable:
    """The view runs for the user of the browser's live SSO session; without one, sign in first."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        sso = current_session()
        # A session proven by the password alone (at a portal that asks no more) must not manage the
        # factors that protect the account: whoever has factors steps up first (the account client's
        # policy asks for one at /authorize).
        if sso is None or (not assurance.session_has_mfa(sso) and factors.confirmed(sso.user)):
            # After a POST we cannot repeat the action: come back to the overview.
            target = request.path if request.method == "GET" else url_for("account.index")
            return _sign_in(target)
        g.account_sid = sso.sid
        return view(sso.user, *args, **kwargs)

    return wrapper


def fresh_password(view: Callable) -> Callable:
    """The change runs only when the password was confirmed in this session in the last minutes.

    Otherwise the password form is shown, carrying the original form along, and posts back to the same
    URL: a right password then continues with the action, a wrong one changes nothing.
    """

    @wraps(view)
    def wrapper(user: User, *args, **kwargs):
        now = clock.now()
        if reauth.is_fresh(browser, g.account_sid, now):
            return view(user, *args, **kwargs)
        error = None
        if "password" in request.form:
            try:
                confirmed = reauth.confirm(user, request.form["password"], store=browser, sid=g.account_sid,
                                           now=now)
            except reauth.TooManyTries as refused:
                confirmed, error = False, str(refused)
            else:
                error = None if confirmed else _("That password is not correct. Nothing has been changed.")
            db.session.commit()  # the attempt is recorded either way
            if confirmed:
                return view(user, *args, **kwargs)
        carried = [(k, v) for k, v in request.form.items(multi=True) if k not in {"csrf_token", "password"}]
        return render_template("accounts/reauth.html", action=request.path, carried=carried, error=error,
                               user=user)

    return wrapper


# --- signing in to the account pages -------------------------------------------------------------


@bp.get("/callback")
def callback():
    try:
        target = entry.finish(browser, request.args.get("state"))
    except entry.UnknownState:
        raise entry.SignInFailed(reason="state") from None
    if request.args.get("error"):
        raise entry.SignInFailed(reason=request.args["error"])
    if current_session() is None:  # e.g. cookies refused: do not loop through sign-in again
        raise entry.SignInFailed(reason="no_session")
    return redirect(target)


# --- the overview --------------------------------------------------------------------------------


def this_browser(user: User):
    """This browser's trusted device of this user, if its cookie matches one."""
    token = device_token()
    return devices.find(user, token, user_agent=request.user_agent.string) if token else None


@bp.get("/security")
@bp.get("/")
@bp.get("")  # registered first, so url_for gives the canonical /account
@signed_in
def index(user: User):
    confirmed = factors.confirmed(user)
    have = {f.kind for f in confirmed}
    current = this_browser(user)
    page = render_template(
        "accounts/security.html",
        user=user,
        factors=[(f, factors.label(f)) for f in confirmed],
        missing=[kind for kind in FACTOR_KINDS if kind not in have],
        recovery_left=recovery.remaining(user) if confirmed else None,
        devices=devices.list_for(user),
        current_device_id=current.id if current is not None else None,
        describe=devices.describe,
    )
    db.session.commit()  # the session's last use
    return page


# --- changes -------------------------------------------------------------------------------------


@bp.post("/factors/<int:factor_id>/remove")
@signed_in
@fresh_password
def remove_factor(user: User, factor_id: int):
    factor = next((f for f in factors.confirmed(user) if f.id == factor_id), None)
    if factor is None:
        abort(404)
    text = factors.label(factor)
    factors.remove(user, factor)
    db.session.commit()
    flash(_("%(factor)s has been removed.", factor=text), "done")
    return redirect(url_for("account.index"))


@bp.post("/recovery-codes")
@signed_in
@fresh_password
def new_recovery_codes(user: User):
    if not factors.confirmed(user):
        flash(_("Recovery codes are for when you cannot use your second factor. Add one first."), "error")
        return redirect(url_for("account.index"))
    fresh = factors.new_recovery_codes(user)
    db.session.commit()
    return render_template("accounts/recovery_codes.html", codes=fresh, added=None)


@bp.post("/devices/<int:device_id>/revoke")
@signed_in
@fresh_password
def revoke_device(user: User, device_id: int):
    device = next((d for d in devices.list_for(user) if d.id == device_id), None)
    if device is None:  # not this user's, or already gone
        abort(404)
    current = this_browser(user)
    is_current = current is not None and current.id == device.id
    devices.revoke(device, reason="revoked by user")
    db.session.commit()
    flash(_("The device can no longer skip the second step."), "done")
    response = redirect(url_for("account.index"))
    if is_current:
        clear_device_cookie(response)
    return response


@bp.post("/devices/revoke-all")
@signed_in
@fresh_password
def revoke_all_devices(user: User):
    devices.revoke_all(user, reason="revoked by user")
    db.session.commit()
    flash(_("No device can skip the second step any more."), "done")
    response = redirect(url_for("account.index"))
    clear_device_cookie(response)
    return response


def added(user: User, factor, codes: list[str] | None):
    """After a factor is confirmed: its recovery codes (shown this once), or back to the overview."""
    text = factors.label(factor)
    sso = current_session()
    if sso is not None:  # possession just proven: this session now stands at the second-factor level
        sessions.raise_level(sso, factor.kind)
    db.session.commit()
    if codes:
        return render_template("accounts/recovery_codes.html", codes=codes, added=text)
    flash(_("%(factor)s has been added.", factor=text), "done")
    return redirect(url_for("account.index"))

