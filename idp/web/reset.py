"""Password reset pages (thin views): ask a link, set a new password through it, maybe set the phone again.

What the person has done is kept in the Flask session under "reset", bound to the link's id: the link, once
used, is the only thing that names the account; no hidden field does.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask import session as browser
from flask_babel import get_locale
from flask_babel import gettext as _

from idp import clock
from idp.accounts import confirmation, links, new_password, reset
from idp.accounts.links import LinkDead
from idp.extensions import db, limiter
from idp.models import AccountLink, Client, User
from idp.oidc import pending
from idp.portals import profile, registry
from idp.runtime import crypto, settings
from idp.security import policy
from idp.security.logins import login_key
from idp.web.branding import show_portal
from idp.web.sign_in import resume_as
from idp.web.throttle import client_network, counts

bp = Blueprint("reset", __name__, url_prefix="/reset")


def _typed_address() -> str:
    """Per typed address, known or not (no enumeration), as a keyed hash only."""
    return "reset-address:" + login_key(request.form.get("email"))


def _this_link() -> str:
    return "reset-link:" + crypto().keyed_hash(request.view_args.get("token", ""))


def _this_reset() -> str:
    return f"reset-phone:{(browser.get('reset') or {}).get('link', '')}"


# --- asking for a link ----------------------------------------------------------------------------


def _portal(parked) -> Client | None:
    """The portal of the sign-in this browser parked, whose profile and look the reset pages follow."""
    client = registry.find(parked.params.get("client_id")) if parked is not None else None
    show_portal(client)
    return client


@bp.get("")
def start():
    parked = pending.of_this_browser(request.args.get("uid"))
    return render_template("reset/start.html", uid=parked.uid if parked else None, email="",
                           asks_username=reset.asks_username(_portal(parked)), error=None)


@bp.post("")
@limiter.limit(lambda: settings().limits.links_per_ip, key_func=client_network)
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_typed_address)
def send_link():
    parked = pending.of_this_browser(request.form.get("uid"))
    uid = parked.uid if parked else None
    email = (request.form.get("email") or "").strip()[:320]
    username = (request.form.get("username") or "").strip()[:150]
    asks_username = reset.asks_username(_portal(parked))
    if not email or (asks_username and not username):
        error = _("Enter your e-mail address and your username.") if asks_username else _(
            "Enter your e-mail address.")
        return render_template("reset/start.html", uid=uid, email=email, asks_username=asks_username,
                               error=error)
    reset.request_link(email, username if asks_username else None, flow_uid=uid,
                       client_id=parked.params.get("client_id") if parked else None, locale=str(get_locale()))
    db.session.commit()
    # The same page for every address, known or not.
    return render_template("reset/sent.html", uid=uid, minutes=settings().accounts.reset_minutes)


# --- the link: a new password ---------------------------------------------------------------------


def _dead() -> LinkDead:
    return LinkDead(page="reset/dead.html")


def _password_page(link: AccountLink, token: str, *, error: str | None = None, results=None):
    show_portal(reset.client_of(link))
    return render_template("reset/password.html", token=token, user=reset.user_of(link),
                           rules=new_password.page_rules(reset.client_of(link)), results=results, error=error)


@bp.get("/<token>")
def link(token: str):
    found = reset.live_link(token)
    if found is None:
        raise _dead()
    return _password_page(found, token)


@bp.post("/<token>")
@limiter.limit(lambda: settings().limits.links_per_ip, key_func=client_network, deduct_when=counts)
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_this_link, deduct_when=counts)
def save(token: str):
    found = reset.live_link(token)
    if found is None:
        raise _dead()
    show_portal(reset.client_of(found))  # before any text is made: the portal's form of address
    try:
        taken = new_password.take(request.form, lambda new: reset.set_password(found, new))
    except reset.LinkUsed:
        raise _dead() from None
    if isinstance(taken, new_password.Refusal):
        return _password_page(found, token, results=taken.results, error=taken.error)
    link_id, user_id, flow_uid = found.id, found.user_id, found.flow_uid
    db.session.commit()  # the portals of the ended sessions are told now (idp/after_commit.py)
    if reset.sets_phone_again(found):
        browser["reset"] = {"link": link_id, "step": "phone"}
        return redirect(url_for("reset.phone"))
    return _finish(flow_uid, db.session.get(User, user_id), reset.client_of(found))


@bp.post("/<token>/rules")
@limiter.limit(lambda: settings().limits.sign_in_per_ip, key_func=client_network)
@limiter.limit(lambda: settings().limits.sign_in_per_ip, key_func=_this_link)
def rules(token: str):
    """Live feedback on a new password, from the rules applied when it is saved; the link authorises."""
    found = reset.live_link(token)
    if found is None:
        return {"error": "not found"}, 404
    return policy.feedback_json(reset.results(found, new_password.typed(request.form)))


def _finish(flow_uid: str | None, user: User, client: Client | None):
    """Back into the sign-in this browser started, else a page saying the person can sign in now, leading to
    the portal the reset started from."""
    browser.pop("reset", None)
    resumed = resume_as(flow_uid, user)
    if resumed is not None:
        return resumed
    return redirect(url_for("reset.done", portal=client.client_id if client is not None else None))


@bp.get("/done")
def done():
    client = registry.find(request.args.get("portal"))
    show_portal(client)
    sign_in_url = profile.of(client).sign_in_url if client is not None else ""
    return render_template("reset/done.html", portal=client, sign_in_url=sign_in_url)


# --- then, where the deployment asks for it (seed 001): the mobile number again --------------------


def _current() -> tuple[AccountLink, User, dict] | None:
    """The reset this browser is finishing: its link was used here, recently, for an account still active."""
    state = browser.get("reset")
    known = isinstance(state, dict) and isinstance(state.get("link"), int)
    found = db.session.get(AccountLink, state["link"]) if known else None
    if found is None or found.used_at is None or found.user_id is None:
        return None
    if clock.now() >= clock.aware(found.used_at) + links.lifetime(links.RESET):
        return None
    user = db.session.get(User, found.user_id)
    return (found, user, state) if user is not None and user.is_active else None


def _confirmation(found: AccountLink, user: User) -> confirmation.Confirmation:
    """The new number replaces the SMS factor's once its code is typed; the code is bound to this reset."""
    return confirmation.Confirmation(user, "sms", flow_uid=f"reset:{found.id}", replace=True,
                                     style=profile.code_style(reset.client_of(found)),
                                     sender=profile.sender(reset.client_of(found)))


def _phone_page(found: AccountLink, user: User, state: dict, *, error: str | None = None,
                notice: str | None = None, phone: str = ""):
    if state.get("step") == "codes":  # the recovery codes were shown once; what is left is going on
        return render_template("reset/recovery_codes.html", codes=[])
    page = _confirmation(found, user).page() if state.get("step") == "code" else None
    if page is not None:
        return render_template("reset/code.html", page=page, error=error, notice=notice)
    return render_template("reset/phone.html", phone=phone, error=error)


@bp.get("/phone")
def phone():
    current = _current()
    if current is None:
        raise _dead()
    show_portal(reset.client_of(current[0]))
    return _phone_page(*current)


@bp.post("/phone")
@limiter.limit(lambda: settings().limits.links_per_ip, key_func=client_network, deduct_when=counts)
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_this_reset, deduct_when=counts)
def phone_step():
    current = _current()
    if current is None:
        raise _dead()
    found, user, state = current
    show_portal(reset.client_of(found))
    action = request.form.get("action") or ""
    if action == "continue" and state.get("step") == "codes":
        return _finish(found.flow_uid, user, reset.client_of(found))
    outcome = _confirmation(found, user).step(action, request.form)
    db.session.commit()  # a wrong code counts; the rest was rolled back
    if outcome.page == confirmation.CONFIRMED:
        if outcome.recovery_codes:
            browser["reset"] = {**state, "step": "codes"}
            return render_template("reset/recovery_codes.html", codes=outcome.recovery_codes)
        return _finish(found.flow_uid, user, reset.client_of(found))
    step = "code" if outcome.page == confirmation.CODE else "phone"
    if outcome.error is None and outcome.notice is None:  # moved on (a code sent, or back to the number)
        browser["reset"] = {**state, "step": step}
        return redirect(url_for("reset.phone"))
    return _phone_page(found, user, {**state, "step": step}, error=outcome.error, notice=outcome.notice,
                       phone=outcome.typed)
