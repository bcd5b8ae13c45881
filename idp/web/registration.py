"""Self-registration pages: ask the address (from a parked sign-in), then the link's page to choose a password.

After the password the parked sign-in goes on as the new person (a second factor is enrolled when the portal
requires one); in another browser, or once that sign-in is gone, a page says the account is ready.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from idp.accounts import links, new_password, registration
from idp.accounts.links import LinkDead
from idp.extensions import db, limiter
from idp.models import AccountLink
from idp.oidc import pending
from idp.portals import profile, registry
from idp.runtime import crypto, settings
from idp.security import policy
from idp.security.logins import login_key
from idp.web.branding import show_portal
from idp.web.sign_in import resume_as
from idp.web.throttle import client_network, counts, moved_on

bp = Blueprint("register", __name__)


def _parked_portal(uid: str | None):
    """The portal of the browser's parked sign-in, when it takes registrations; else 404."""
    parked = pending.of_this_browser(uid)
    client = registry.find(parked.params.get("client_id", "")) if parked is not None else None
    if not registration.open_to(client):
        abort(404)
    g.ui_locales = parked.params.get("ui_locales")
    show_portal(client)
    return client


def _typed_address() -> str:
    """Throttle key per typed address (known or not), stored only as a keyed hash."""
    return "register:" + login_key((request.form.get("email") or "")[:400])


def _per_link() -> str:
    return "register-link:" + crypto().keyed_hash((request.view_args or {}).get("token", "")[:200])


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: settings().limits.links_per_ip, key_func=client_network, methods=["POST"])
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_typed_address, methods=["POST"])
def start():
    uid = request.values.get("uid")
    client = _parked_portal(uid)
    if request.method == "GET":
        return render_template("register/start.html", client=client, uid=uid, email="", error=None)
    typed = (request.form.get("email") or "").strip()[:400]
    try:
        registration.request_link(client, typed, flow_uid=uid, locale=str(get_locale()))
    except registration.NotAllowed as refused:
        db.session.rollback()
        return render_template("register/start.html", client=client, uid=uid, email=typed,
                               error=refused.message), 400
    db.session.commit()
    # The same page whether the address is new or has an account: only the mailbox tells the difference.
    return render_template("register/sent.html", client=client, uid=uid, email=typed)


def _live_link(token: str) -> AccountLink | None:
    """The live link; its pages speak the language the portal asked for when the sign-in is in this browser."""
    link = registration.link_for(token)
    parked = pending.of_this_browser(link.flow_uid) if link is not None else None
    g.ui_locales = (parked.params.get("ui_locales") if parked is not None else None) or links.locale_of(token)
    return link


def _already():
    try:
        reset_url = url_for("reset.start")
    except BuildError:  # a deployment without password reset pages
        reset_url = None
    return render_template("register/already.html", reset_url=reset_url)


def _form(link: AccountLink, *, error: str | None = None, results=None, status: int = 200):
    portal = registration.portal_of(link)
    show_portal(portal)
    return render_template("register/password.html", token=request.view_args["token"],
                           email=registration.address_of(link), portal=portal,
                           rules=new_password.page_rules(portal), results=results, error=error), status


@bp.route("/register/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: settings().limits.links_per_ip, key_func=client_network, methods=["POST"],
               deduct_when=counts)
@limiter.limit(lambda: settings().limits.links_per_account, key_func=_per_link, methods=["POST"],
               deduct_when=counts)
def confirm(token: str):
    link = _live_link(token)
    if link is None:  # unknown, used, replaced or expired
        raise LinkDead(page="register/dead.html")
    show_portal(registration.portal_of(link))  # before any text is made: the portal's look and form of address
    if registration.has_account(link):
        return _already()
    if request.method == "GET":
        return _form(link)
    try:
        user = new_password.take(request.form, lambda new: registration.complete(link, new))
        if isinstance(user, new_password.Refusal):
            return _form(link, results=user.results, error=user.error, status=400)
        db.session.commit()
    except (registration.AlreadyRegistered, IntegrityError):
        db.session.rollback()
        return _already()
    moved_on()
    resumed = resume_as(link.flow_uid, user)
    if resumed is not None:
        return resumed
    portal = registration.portal_of(link)
    show_portal(portal)
    return render_template("register/ready.html", email=user.email, portal=portal,
                           sign_in_url=profile.of(portal).sign_in_url if portal is not None else "")


@bp.post("/register/<token>/rules")
@limiter.limit(lambda: settings().limits.sign_in_per_ip, key_func=client_network)
def password_rules(token: str):
    """Live feedback on the new password, from the rules the server applies when it is saved."""
    link = registration.link_for(token)
    if link is None:
        return {"error": "not found"}, 404
    return policy.feedback_json(registration.results(link, new_password.typed(request.form)))
