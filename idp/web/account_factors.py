"""Adding a second factor on the account page: SMS, e-mail or an authenticator app (thin views).

Each kind has one URL; the `action` button says how far the person got (idp/accounts/confirmation.py runs the
code round trip for SMS and e-mail). Pages are rendered in answer to the
POST (never on a GET), so a secret or code form is only ever shown after the fresh password check.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from idp.accounts import confirmation, factors
from idp.extensions import db
from idp.models import User
from idp.security import codes
from idp.web.account import added, bp, fresh_password, signed_in


def _confirmation(user: User, kind: str) -> confirmation.Confirmation:
    """Binds enrolment codes to the kind being added: an e-mail code must never confirm a phone number."""
    return confirmation.Confirmation(user, kind, flow_uid=f"account:{kind}")


def _already(user: User, kind: str):
    """A kind the person has already: nothing to add (a second tab, or the back button)."""
    if factors.get(user, kind) is None:
        return None
    flash(_("You already use this way of signing in."), "done")
    return redirect(url_for("account.index"))


def _confirm(user: User, kind: str, action: str):
    """One step of the code confirmation, then its page: the number, the code, or the factor added."""
    this = _confirmation(user, kind)
    outcome = this.step(action, request.form)
    if outcome.page == confirmation.CONFIRMED:
        return added(user, factors.get(user, kind), outcome.recovery_codes)  # commits
    db.session.commit()  # a wrong code counts; the rest was rolled back
    page = this.page() if outcome.page == confirmation.CODE or kind == "email" else None
    if page is not None:
        return render_template("accounts/enrol_code.html", page=page, error=outcome.error, notice=outcome.notice)
    if kind == "sms":
        return render_template("accounts/enrol_phone.html", phone=outcome.typed, error=outcome.error)
    # No e-mail code could be sent (too many this hour) and none is waiting.
    flash(outcome.error or _("That took too long. Please start again."), "error")
    return redirect(url_for("account.index"))


@bp.post("/factors/sms")
@signed_in
@fresh_password
def add_sms(user: User):
    if (done := _already(user, "sms")) is not None:
        return done
    action = request.form.get("action", "")
    if action not in confirmation.ACTIONS:  # just after the password check: ask the number
        return render_template("accounts/enrol_phone.html", phone="", error=None)
    return _confirm(user, "sms", action)


@bp.post("/factors/email")
@signed_in
@fresh_password
def add_email(user: User):
    if (done := _already(user, "email")) is not None:
        return done
    action = request.form.get("action", "")
    # Just after the password check the first code goes out at once: the address is known.
    return _confirm(user, "email", action if action in confirmation.ACTIONS else confirmation.SEND)


@bp.post("/factors/totp")
@signed_in
@fresh_password
def add_totp(user: User):
    if (done := _already(user, "totp")) is not None:
        return done
    if request.form.get("action") == confirmation.CONFIRM:
        factor = factors.pending(user, "totp")
        if factor is None:
            flash(_("That took too long. Please start again."), "error")
            return redirect(url_for("account.index"))
        try:
            recovery_codes = factors.confirm(user, factor, request.form.get("code", ""), flow_uid=None)
        except codes.CodeError as error:
            db.session.commit()
            return _totp_page(user, factors.totp_secret(factor), error=error.message)
        return added(user, factor, recovery_codes)
    factor, secret = factors.start_totp(user)
    db.session.commit()
    return _totp_page(user, secret)


def _totp_page(user: User, secret: str, error: str | None = None):
    enrolment = factors.totp_enrolment(user, secret)
    return render_template("accounts/enrol_totp.html", enrolment=enrolment, error=error)
