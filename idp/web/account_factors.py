"""Adding a second factor on the account page: SMS, e-mail or an authenticator app (thin views).

Each kind has one URL; a hidden `step` says how far the person got. Pages are rendered in answer to the
POST (never on a GET), so a secret or code form is only ever shown after the fresh password check.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from idp.accounts import factors
from idp.extensions import db
from idp.models import Factor, User
from idp.security import codes, phones
from idp.web.account import added, bp, fresh_password, signed_in


def _flow(kind: str) -> str:
    """Binds enrolment codes to the kind being added: an e-mail code must never confirm a phone number."""
    return f"account:{kind}"


def _already(user: User, kind: str):
    """A kind the person has already: nothing to add (a second tab, or the back button)."""
    if factors.get(user, kind) is None:
        return None
    flash(_("You already use this way of signing in."), "done")
    return redirect(url_for("account.index"))


def _code_page(user: User, factor: Factor, *, error: str | None = None, notice: str | None = None):
    live = factors.live_code(user, factor, flow_uid=_flow(factor.kind))
    destination = phones.mask_phone(factors.phone(factor)) if factor.kind == "sms" else user.email
    return render_template("accounts/enrol_code.html", kind=factor.kind, destination=destination,
                           prefix=live.prefix if live is not None else None, error=error, notice=notice)


def _code_step(user: User, factor: Factor, step: str):
    """Send the code again, or check the code the person typed."""
    if step == "resend":
        try:
            factors.resend(user, factor, flow_uid=_flow(factor.kind))
        except codes.CodeError as error:
            db.session.rollback()
            return _code_page(user, factor, error=error.message)
        db.session.commit()
        return _code_page(user, factor, notice=_("We have sent you a new code."))
    try:
        typed = request.form.get("code", "")
        recovery_codes = factors.confirm(user, factor, typed, flow_uid=_flow(factor.kind))
    except codes.CodeError as error:
        db.session.commit()  # a wrong try counts towards the limit
        return _code_page(user, factor, error=error.message)
    return added(user, factor, recovery_codes)


def _restart():
    flash(_("That took too long. Please start again."), "error")
    return redirect(url_for("account.index"))


@bp.post("/factors/sms")
@signed_in
@fresh_password
def add_sms(user: User):
    if (done := _already(user, "sms")) is not None:
        return done
    step = request.form.get("step", "")
    if step == "phone":
        typed = request.form.get("phone", "")[: phones.MAX_INPUT]
        try:
            factor = factors.start_sms(user, typed, flow_uid=_flow("sms"))
        except (phones.InvalidPhone, codes.CodeError) as error:
            db.session.rollback()  # keep the earlier number and its code as they were
            return render_template("accounts/enrol_phone.html", phone=typed, error=str(error.message))
        db.session.commit()
        return _code_page(user, factor)
    if step in {"code", "resend"}:
        factor = factors.pending(user, "sms")
        return _code_step(user, factor, step) if factor is not None else _restart()
    return render_template("accounts/enrol_phone.html", phone="", error=None)


@bp.post("/factors/email")
@signed_in
@fresh_password
def add_email(user: User):
    if (done := _already(user, "email")) is not None:
        return done
    step = request.form.get("step", "")
    if step in {"code", "resend"}:
        factor = factors.pending(user, "email")
        return _code_step(user, factor, step) if factor is not None else _restart()
    try:
        factor = factors.start_email(user, flow_uid=_flow("email"))
    except codes.CodeError as error:  # a code was sent moments ago, or too many this hour
        db.session.rollback()
        factor = factors.pending(user, "email")
        if factor is None:
            flash(error.message, "error")
            return redirect(url_for("account.index"))
        return _code_page(user, factor, error=error.message)
    db.session.commit()
    return _code_page(user, factor)


@bp.post("/factors/totp")
@signed_in
@fresh_password
def add_totp(user: User):
    if (done := _already(user, "totp")) is not None:
        return done
    if request.form.get("step") == "code":
        factor = factors.pending(user, "totp")
        if factor is None:
            return _restart()
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
