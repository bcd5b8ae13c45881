"""The account pages "Where you are signed in" (one session per browser, sign out one or everywhere else) and
"Connected portals" (revoke a portal's access). Thin views over idp/accounts/own_sessions.py and
idp/accounts/connected.py; the back-channel logouts go out after the commit (idp/after_commit.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from idp.accounts import connected, own_sessions
from idp.errors import NotFound
from idp.extensions import db
from idp.models import User
from idp.web.account import bp, fresh_password, signed_in, this_browser
from idp.web.cookies import current_session


@bp.get("/sessions")
@signed_in
def sessions_page(user: User):
    page = render_template("accounts/sessions.html", user=user, browsers=own_sessions.live(user, current_session()))
    db.session.commit()  # the session's last use
    return page


@bp.post("/sessions/<int:session_id>/end")
@signed_in
@fresh_password
def end_session(user: User, session_id: int):
    this = current_session()
    if this is not None and this.id == session_id:  # this browser: the ordinary sign-out
        return redirect(url_for("account.sessions_page"))
    try:
        own_sessions.sign_out(user, session_id)
    except NotFound:
        abort(404)
    db.session.commit()
    flash(_("That browser has been signed out, and its portals have been told."), "done")
    return redirect(url_for("account.sessions_page"))


@bp.post("/sessions/end-others")
@signed_in
@fresh_password
def end_other_sessions(user: User):
    own_sessions.sign_out_others(user, current_session(), this_browser(user))
    db.session.commit()
    flash(_("You are signed out everywhere else."), "done")
    return redirect(url_for("account.sessions_page"))


@bp.get("/portals")
@signed_in
def portals_page(user: User):
    page = render_template("accounts/portals.html", user=user, portals=connected.for_user(user))
    db.session.commit()
    return page


@bp.post("/portals/<int:client_pk>/revoke")
@signed_in
@fresh_password
def revoke_portal(user: User, client_pk: int):
    try:
        client = connected.revoke(user, client_pk)
    except NotFound:
        abort(404)
    db.session.commit()
    flash(_("%(portal)s no longer has access. It asks you again the next time you sign in there.",
            portal=client.display_name), "done")
    return redirect(url_for("account.portals_page"))
