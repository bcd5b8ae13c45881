"""The account page's password change: the current password, then a new one that meets the policy.

Same effects as any new password (other sessions end, tokens and trusted browsers are revoked, an e-mail
tells the person) except that this session stays.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask import session as browser
from flask_babel import gettext as _

from idp import clock
from idp.accounts import new_password, passwords, reauth
from idp.extensions import db
from idp.models import User
from idp.security import policy
from idp.web.account import bp, signed_in
from idp.web.cookies import current_session


def _page(user: User, *, error: str | None = None, results=None, status: int = 200):
    body = render_template("accounts/password.html", user=user, rules=new_password.page_rules(None),
                           results=results, error=error)
    return body, status


@bp.get("/password")
@signed_in
def password_form(user: User):
    return _page(user)


@bp.post("/password")
@signed_in
def change_password(user: User):
    current = request.form.get("current_password") or ""
    try:
        right = reauth.confirm(user, current, store=browser, sid=g.account_sid, now=clock.now())
    except reauth.TooManyTries as refused:
        return _page(user, error=str(refused), status=refused.status)
    if not right:
        db.session.commit()  # the wrong password is recorded
        if new_password.already_saved(user, request.form):  # a repeat of a change that was saved: say so
            return _changed()
        return _page(user, error=_("Your current password is not correct. Nothing has been changed."))
    taken = new_password.take(request.form, lambda new: passwords.change_password(
        user, new, keep=current_session(), reason="changed"))
    # A refused new password changed nothing; a saved one tells the portals of the ended sessions now
    # (idp/after_commit.py).
    db.session.commit()
    if isinstance(taken, new_password.Refusal):
        return _page(user, results=taken.results, error=taken.error)
    return _changed()


def _changed():
    flash(_("Your password has been changed. You are signed out everywhere else."), "done")
    return redirect(url_for("account.index"))


@bp.post("/password/rules")
@signed_in
def password_rules(user: User):
    """Live feedback on a new password, from the rules the server applies when it is saved."""
    typed = new_password.typed(request.form)
    return policy.feedback_json(passwords.results(user, typed, None, with_history=False))
