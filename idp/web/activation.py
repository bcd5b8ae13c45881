"""Activating an account through its e-mailed link (thin views over idp/accounts/activation.py).

One URL per link. Which steps this browser finished is kept in the signed Flask session, bound to the link
id, so another browser (or a forwarded mail) starts again from the date of birth. A finished step redirects
back to the GET (a refresh repeats nothing); the last step renders the "ready" page with the recovery codes.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask import session as browser
from flask_babel import gettext as _
from flask_babel import ngettext

from idp import clock
from idp.accounts import activation, confirmation, factors, new_password, passwords
from idp.accounts.activation import BIRTH_DATE, PASSWORD, PHONE
from idp.accounts.links import LinkDead
from idp.delegation import invitations
from idp.extensions import db, limiter
from idp.models import AccountLink, User
from idp.portals import profile
from idp.runtime import crypto, settings
from idp.security import phones, policy
from idp.web.branding import show_portal
from idp.web.throttle import client_network, counts, moved_on

bp = Blueprint("activation", __name__, url_prefix="/activate")
_KEY = "activation"


def _link_key() -> str:
    """Throttle key per link, never the token itself (limiter storage may be a shared Redis)."""
    token = (request.view_args or {}).get("token", "")
    return "activate:" + crypto().keyed_hash("activate-throttle:" + token)


def _done(link: AccountLink) -> set[str]:
    state = browser.get(_KEY) or {}
    return set(state.get("done", [])) if state.get("link") == link.id else set()


def _mark(link: AccountLink, step: str) -> None:
    browser[_KEY] = {"link": link.id, "done": sorted(_done(link) | {step})}


def _dead(used_up: bool = False) -> LinkDead:
    browser.pop(_KEY, None)
    return LinkDead(page="activation/dead.html", used_up=used_up)


def _page(link: AccountLink, user: User, token: str, step: str, *, error: str | None = None,
          notice: str | None = None, results=None, phone: str | None = None, status: int = 200):
    """The page of a step; for the phone step the code form once a code is on its way (unless `phone` is
    given: the number form again, as typed)."""
    context = {"token": token, "user": user, "error": error, "notice": notice,
               "login": profile.login_name(activation.portal_of(link), user)}
    if step == BIRTH_DATE:
        return render_template("activation/birth_date.html", **context), status
    if step == PASSWORD and user.password_hash is not None:  # chosen before: resume with it
        return render_template("activation/resume.html", **context), status
    if step == PASSWORD:
        return render_template("activation/password.html", rules=new_password.page_rules(activation.portal_of(link)),
                               results=results, **context), status
    on_record = activation.number_on_record(user)
    context["on_record"] = phones.mask_phone(on_record) if on_record else None
    context["contact"] = profile.help_contact(activation.portal_of(link), user)
    page = _confirmation(link, user).page()
    if page is None or phone is not None:
        return render_template("activation/phone.html", phone=phone or "", **context), status
    return render_template("activation/code.html", page=page, **context), status


def _confirmation(link: AccountLink, user: User) -> confirmation.Confirmation:
    """The phone's code, in the look of the portal the account is for (prefix and length)."""
    return confirmation.Confirmation(user, "sms", flow_uid=activation.flow_uid(link),
                                     replace=factors.get(user, "sms") is not None,  # proven in another browser
                                     style=profile.code_style(activation.portal_of(link)),
                                     sender=profile.sender(activation.portal_of(link)))


def _again(token: str):
    moved_on()
    return redirect(url_for("activation.activate", token=token), 303)


def _ready(link: AccountLink, user: User, recovery_codes: list[str] | None):
    """The last step: use the link and show the "ready" page (and the recovery codes, this once)."""
    if not activation.finish(link, user):
        db.session.rollback()
        raise _dead()
    invitations.accept_on_activation(user, clock.now())  # the account a contact person was invited with
    portal = activation.portal_of(link)
    if recovery_codes is None and PHONE in _done(link) and profile.of(portal).activation_order == "phone_first":
        recovery_codes = activation.recovery_codes_at_the_end(user)
    db.session.commit()
    moved_on()
    browser.pop(_KEY, None)
    return render_template("activation/ready.html", user=user, codes=recovery_codes or [], portal=portal,
                           login=profile.login_name(portal, user),
                           sign_in_url=profile.of(portal).sign_in_url if portal is not None else "")


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: settings().limits.links_per_ip, key_func=client_network, methods=["POST"],
               deduct_when=counts)
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_link_key, methods=["POST"],
               deduct_when=counts)
def activate(token: str):
    opened = activation.open_link(token)
    if opened is None:
        raise _dead()
    link, user = opened
    show_portal(activation.portal_of(link))
    if user.locale:  # the pages speak the language the activation mail was written in
        g.ui_locales = user.locale
    step = activation.next_step(link, user, _done(link))
    if step is None:  # every step done in this browser, e.g. the phone was confirmed before: finish now
        return _ready(link, user, None)
    if request.method == "GET" or request.form.get("step") not in _POSTED[step]:
        return _page(link, user, token, step)  # a second tab or the back button: show where we are
    return _STEPS[step](link, user, token)


def _birth_date(link: AccountLink, user: User, token: str):
    typed = activation.parse_birth_date(request.form.get("birth_date"))
    if typed is None:
        return _page(link, user, token, BIRTH_DATE,
                     error=_("Enter your date of birth as day-month-year, for example 15-03-1950."))
    check = activation.check_birth_date(link, user, typed)
    db.session.commit()  # a wrong date counts
    if check.link_used_up:
        raise _dead(used_up=True)
    if not check.right:
        return _page(link, user, token, BIRTH_DATE, error=ngettext(
            "That date of birth does not match what your organisation entered. You can try %(num)d more time.",
            "That date of birth does not match what your organisation entered. You can try %(num)d more times.",
            check.tries_left))
    _mark(link, BIRTH_DATE)
    return _again(token)


def _password(link: AccountLink, user: User, token: str):
    if user.password_hash is not None:
        return _resume(link, user, token)
    portal = activation.portal_of(link)
    taken = new_password.take(request.form, lambda new: activation.set_password(user, new, portal))
    if isinstance(taken, new_password.Refusal):
        return _page(link, user, token, PASSWORD, results=taken.results, error=taken.error)
    return _password_done(link, user, token)


def _password_done(link: AccountLink, user: User, token: str):
    """The password step is done in this browser (chosen now, or proven when resuming): on to the next step."""
    _mark(link, PASSWORD)
    if activation.next_step(link, user, _done(link)) is None:
        return _ready(link, user, None)
    db.session.commit()
    return _again(token)


def _resume(link: AccountLink, user: User, token: str):
    """The password was chosen before, in this browser or another: the person proves it and goes on where
    they stopped (never chooses it again, and the link alone sets no phone number)."""
    if not activation.check_chosen_password(user, request.form.get("password") or ""):
        db.session.commit()  # a bcrypt rehash, if any; the try counts towards the link's limits
        return _page(link, user, token, PASSWORD, error=_(
            "That is not the password you chose. Type the password you chose when you started activating."))
    return _password_done(link, user, token)


def _phone(link: AccountLink, user: User, token: str):
    """The mobile number, confirmed with a code (idp/accounts/confirmation.py); then the account is ready."""
    form, on_record = request.form, activation.number_on_record(user)
    if on_record is not None:  # the number the organisation entered, never one typed here
        form = {**request.form.to_dict(), "phone": on_record}
    outcome = _confirmation(link, user).step(request.form.get("action") or "", form)
    if outcome.page == confirmation.CONFIRMED:
        _mark(link, PHONE)
        if activation.next_step(link, user, _done(link)) is None:
            return _ready(link, user, outcome.recovery_codes)  # one commit with the link used up
        db.session.commit()  # phone first (seed 003): on to the password
        return _again(token)
    db.session.commit()  # a wrong code counts; the rest was rolled back
    if outcome.page == confirmation.CODE and outcome.error is None and outcome.notice is None:
        return _again(token)  # the first code is on its way: the code page, by GET
    typed = outcome.typed if outcome.page == confirmation.START else None
    return _page(link, user, token, PHONE, error=outcome.error, notice=outcome.notice, phone=typed)


_STEPS = {BIRTH_DATE: _birth_date, PASSWORD: _password, PHONE: _phone}
_POSTED = {BIRTH_DATE: {"birth_date"}, PASSWORD: {"password"},
           PHONE: {"phone"}}


@bp.post("/<token>/rules")
# Asked at nearly every keystroke, so it shares the sign-in pages' (higher) per-IP limit, like theirs.
@limiter.limit(lambda: settings().limits.sign_in_per_ip, key_func=client_network)
def password_rules(token: str):
    """Live feedback on the new password, from the rules the server applies when it is saved."""
    opened = activation.open_link(token)
    if opened is None or activation.next_step(opened[0], opened[1], _done(opened[0])) != PASSWORD:
        return {"error": "not found"}, 404
    return policy.feedback_json(passwords.results(opened[1], new_password.typed(request.form),
                                                  activation.portal_of(opened[0]), with_history=False))
