"""The account page "Your details": name, e-mail address (confirmed by a link sent to the new address) and mobile
number (confirmed by an SMS code; the old number keeps working until then). Thin views over
idp/accounts/own_profile.py and idp/accounts/confirmation.py."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from idp.accounts import confirmation, factors, links, own_profile
from idp.accounts.users import phone_of
from idp.errors import InvalidInput
from idp.extensions import db, limiter
from idp.models import User
from idp.runtime import settings
from idp.security import phones
from idp.web.account import bp, fresh_password, signed_in
from idp.web.cookies import current_session
from idp.web.throttle import client_network

PHONE_FLOW = "account:phone"


def _page(user: User, *, name_error: str | None = None, email_error: str | None = None, typed_name=None,
          typed_email: str = ""):
    number = phone_of(user)
    sms = factors.get(user, "sms")
    body = render_template(
        "accounts/profile.html", user=user, phone=phones.mask_phone(number) if number else None,
        has_sms=sms is not None, name_error=name_error, email_error=email_error,
        typed_name=(user.name or "") if typed_name is None else typed_name, typed_email=typed_email)
    return body


@bp.get("/profile")
@signed_in
def profile(user: User):
    page = _page(user)
    db.session.commit()  # the session's last use
    return page


@bp.post("/profile/name")
@signed_in
@fresh_password
def change_name(user: User):
    typed = request.form.get("name", "")[:1000]
    try:
        changed = own_profile.change_name(user, typed)
    except InvalidInput:
        return _page(user, name_error=_("Enter your name (at most 200 characters)."), typed_name=typed)
    db.session.commit()
    flash(_("Your name has been saved.") if changed else _("Your name was already this. Nothing has changed."),
          "done")
    return redirect(url_for("account.profile"))


def _email_change_key() -> str:
    """E-mail change requests are limited per person (each sends two mails), like other link requests."""
    sso = current_session()
    return "email-change:" + (sso.user.sub if sso is not None else client_network())


def _mailed(response) -> bool:
    """Only a request that sent its mails counts (not a typing error, not the password step before it)."""
    return bool(g.get("email_change_mailed"))


@bp.post("/profile/email")
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_email_change_key, deduct_when=_mailed)
@signed_in
@fresh_password
def change_email(user: User):
    typed = request.form.get("email", "")[:400]
    try:
        address = own_profile.request_email_change(user, typed, locale=str(get_locale()))
    except InvalidInput as error:
        message = (_("This is already your e-mail address.") if str(error) == "same"
                   else _("Enter a valid e-mail address, like name@example.org."))
        return _page(user, email_error=message, typed_email=typed)
    db.session.commit()
    g.email_change_mailed = True
    return render_template("accounts/email_sent.html", user=user, address=address)


@bp.get("/email/<token>")
def email_link(token: str):
    """Opening the link shows a button (a mail scanner that fetches links changes nothing)."""
    link = own_profile.find_link(token)
    if link is None:
        raise links.LinkDead(page="accounts/email_dead.html")
    return render_template("accounts/email_confirm.html", address=own_profile.pending_address(link))


@bp.post("/email/<token>")
def confirm_email(token: str):
    link = own_profile.find_link(token)
    if link is None:
        raise links.LinkDead(page="accounts/email_dead.html")
    try:
        user = own_profile.confirm_email_change(link)
    except own_profile.AddressTaken:
        db.session.commit()  # the link is used up
        raise
    db.session.commit()
    return render_template("accounts/email_changed.html", address=user.email)


def _phone_confirmation(user: User) -> confirmation.Confirmation:
    return confirmation.Confirmation(user, "sms", flow_uid=PHONE_FLOW, replace=True)


@bp.post("/profile/phone")
@signed_in
@fresh_password
def change_phone(user: User):
    if factors.get(user, "sms") is None:  # a number for SMS codes is added on the security page
        flash(_("Add SMS codes first: your mobile number is set when you add them."), "error")
        return redirect(url_for("account.index"))
    action = request.form.get("action", "")
    if action not in confirmation.ACTIONS:
        return render_template("accounts/phone.html", phone="", error=None)
    this = _phone_confirmation(user)
    outcome = this.step(action, request.form)
    db.session.commit()  # a wrong code counts; the rest was rolled back
    if outcome.page == confirmation.CONFIRMED:
        flash(_("Your new mobile number has been saved. Codes now go to this number."), "done")
        return redirect(url_for("account.profile"))
    page = this.page() if outcome.page == confirmation.CODE else None
    if page is not None:
        return render_template("accounts/phone_code.html", page=page, error=outcome.error, notice=outcome.notice)
    return render_template("accounts/phone.html", phone=outcome.typed, error=outcome.error)
