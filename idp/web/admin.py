"""The admin console at /admin (issue 16 part 2), first slice: find people, a person's page, and the everyday
actions (unlock, resend activation, reset second factors, sign out everywhere, disable and enable). Thin views.

Signed in like the account pages, through the provider's own built-in client for the console (idp/accounts/
entry.py), which asks more: a code of a second factor at every sign-in there (its profile: mfa "every", no
trusted browser instead), acr_values naming the second-factor level, and a sign-in of the last minutes
(max_age). Who may do what to whom is idp.accounts.admins' one rule; every change is audited with the admin as actor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as browser
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from idp import audit, clock
from idp.accounts import activation, admins, audit_trail, entry, people
from idp.delegation.disabling import disable
from idp.errors import InvalidInput, NotAllowed
from idp.extensions import db
from idp.models import User
from idp.models.client import ADMIN_CLIENT_ID
from idp.runtime import settings
from idp.security.lockout import unlock
from idp.sessions import assurance
from idp.web.cookies import current_session

bp = Blueprint("admin", __name__, url_prefix="/admin")

# How long a sign-in counts for the console; older, the admin signs in again.
RECENT = timedelta(minutes=15)


# --- guards -------------------------------------------------------------------------------------


@bp.errorhandler(NotAllowed)
def _not_allowed(error: NotAllowed):
    """What the rule (idp.accounts.admins) refuses is 403 on every console route; the reason goes to the log only."""
    current_app.logger.info("admin console refused: %s", error)
    return current_app.handle_http_exception(Forbidden())


def _sign_in(target: str):
    extra = {"acr_values": settings().mfa.acr_mfa, "max_age": str(int(RECENT.total_seconds()))}
    url = entry.begin(browser, target=target, extra=extra, client_id=ADMIN_CLIENT_ID)
    db.session.commit()  # the built-in client, registered on first use
    return redirect(url)


def admin_only(view: Callable) -> Callable:
    """The view runs for an admin whose session proved a second factor's code within RECENT; without a session
    or with a weak or old one (a trusted browser stood in for the code), sign in (again) first; someone without
    an admin role gets 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        sso = current_session()
        # After a POST the action cannot be repeated: come back to the page it was sent from.
        target = request.path if request.method == "GET" else _page_of(kwargs.get("sub"))
        if sso is None:
            return _sign_in(target)
        admin = admins.admin_of(sso.user)
        if admin is None:
            abort(403)
        if not assurance.session_proved_a_code(sso) or clock.now() - sso.auth_time > RECENT:
            return _sign_in(target)
        audit.set_origin(audit.Origin(ip=request.remote_addr, user_agent=request.user_agent.string,
                                      actor=admin.actor, actor_user_id=admin.user_id))
        g.console_admin = admin
        return view(admin, *args, **kwargs)

    return wrapper


# The console's navigation: each part, shown to the admins whose role may open it (the views ask the same rule).
_NAV: tuple[tuple[str, object, Callable[[admins.Admin], bool]], ...] = (
    ("admin.people_page", _l("Find a person"), lambda a: admins.may(a, admins.Action.FIND, None)),
    ("admin.new_person", _l("New person"), lambda a: admins.may(a, admins.Action.CREATE_PERSON, None)),
    ("admin.organisations_page", _l("Organisations"),
     lambda a: admins.may(a, admins.Action.MANAGE_ORGANISATIONS, None)),
    ("admin.portals_page", _l("Portals"), lambda a: admins.may(a, admins.Action.MANAGE_PORTALS, None)),
    ("admin.audit", _l("Audit trail"), audit_trail.may_read),
    ("admin.messages", _l("Messages not delivered"), lambda a: admins.may(a, admins.Action.MANAGE_MESSAGES, None)),
)


@bp.context_processor
def _console_nav() -> dict:
    """`console_links` for base.html: [(url, label, whether it is this page)] on the console's own pages."""
    admin = g.get("console_admin")
    if admin is None:
        return {}
    return {"console_links": [(url_for(endpoint), label, request.endpoint == endpoint)
                              for endpoint, label, shown in _NAV if shown(admin)]}


def _page_of(sub: str | None) -> str:
    return url_for("admin.person", sub=sub) if sub else url_for("admin.people_page")


def visible_person(admin: admins.Admin, sub: str) -> User:
    """The person with this sub, if this admin may see them (else 404: whether they exist is not told)."""
    person = db.session.scalar(select(User).where(User.sub == sub, admins.visible_people(admin)))
    if person is None or people.is_erased(person):
        abort(404)
    return person


# --- people -------------------------------------------------------------------------------------


@bp.get("/")
@bp.get("")
@admin_only
def index(admin: admins.Admin):
    return redirect(url_for("admin.people_page"))


@bp.get("/people")
@admin_only
def people_page(admin: admins.Admin):
    query = (request.args.get("q") or "").strip()
    chosen = request.args.get("status") or None
    if chosen not in people.STATUSES:
        chosen = None
    found, error = None, None
    if query:
        admins.require(admin, admins.Action.FIND, None)
        try:
            found = people.find(query, status=chosen, now=clock.now(), within=admins.visible_people(admin))
        except InvalidInput:
            error = _l("Type at most 320 characters.")
    now = clock.now()
    return render_template("admin/people.html", admin=admin, query=query, chosen=chosen, found=found,
                           error=error, statuses=people.STATUSES, status_of=lambda p: people.status(p, now)["status"])


@bp.get("/people/<sub>")
@admin_only
def person(admin: admins.Admin, sub: str):
    found = visible_person(admin, sub)
    admins.require(admin, admins.Action.FIND, found)
    may_audit = admins.may(admin, admins.Action.VIEW_AUDIT, found, admins.role_of(found) is not None)
    allowed = [name for name, (action, _title, _button, _done) in ACTIONS.items()
               if admins.may(admin, action, found, admins.role_of(found) is not None) and _applies(name, found)]
    titles = {k: v[1] for k, v in ACTIONS.items()} | {k: v[1] for k, v in PAGES.items()}
    return render_template("admin/person.html", admin=admin, person=found, shown=people.describe(found, clock.now()),
                           may_audit=may_audit, actions=allowed + _pages_for(admin, found), titles=titles)


# The person's page also links to these pages (idp/web/admin_people.py) where the rule allows:
# endpoint -> (the rule's action, the link's text).
PAGES: dict[str, tuple[admins.Action, object]] = {
    "edit": (admins.Action.EDIT_PERSON, _l("Change name, e-mail address or roles")),
    "admin_role": (admins.Action.MANAGE_ADMINS, _l("Make admin or change the admin role")),
    "remove_admin": (admins.Action.MANAGE_ADMINS, _l("Remove the admin role")),
    "erase": (admins.Action.ERASE, _l("Erase the person")),
}


def _pages_for(admin: admins.Admin, found: User) -> list[str]:
    is_admin = admins.role_of(found) is not None
    own = found.id == admin.user_id  # an admin does not erase themselves or change their own admin role
    return [name for name, (action, _title) in PAGES.items()
            if admins.may(admin, action, found, is_admin) and (name != "remove_admin" or is_admin)
            and (name == "edit" or not own)]


# --- actions: a confirmation page (GET) and the change (POST) -----------------------------------


def _applies(name: str, found: User) -> bool:
    """Whether offering the action makes sense for this person now (the POST still accepts it either way)."""
    if name == "enable":
        return found.disabled_at is not None
    if name == "disable":
        return found.disabled_at is None
    if name == "resend_activation":
        return found.activation_pending or (found.password_hash is None and not found.no_login)
    return True


def _do_unlock(admin: admins.Admin, found: User) -> None:
    unlock(found)


def _do_resend(admin: admins.Admin, found: User) -> None:
    activation.send_link(found, resend=True)


def _do_reset(admin: admins.Admin, found: User) -> None:
    people.reset_factors(found, admin=admin.name, now=clock.now())


def _do_sign_out(admin: admins.Admin, found: User) -> None:
    people.sign_out(found, admin=admin.name, now=clock.now())


def _do_disable(admin: admins.Admin, found: User) -> None:
    if found.id == admin.user_id:
        raise InvalidInput("an admin does not disable their own account")
    disable(found)


def _do_enable(admin: admins.Admin, found: User) -> None:
    people.enable(found, admin=admin.name, now=clock.now())


# name: (the rule's action, the page title, the button, the sentence afterwards)
ACTIONS: dict[str, tuple[admins.Action, object, object, object]] = {
    "unlock": (admins.Action.UNLOCK, _l("Unlock the account"), _l("Yes, unlock"),
               _l("The account is unlocked. The person can sign in again.")),
    "resend_activation": (admins.Action.RESEND_ACTIVATION, _l("Send a new activation link"), _l("Yes, send"),
                          _l("A new activation link has been sent. The earlier link no longer works.")),
    "reset_factors": (admins.Action.RESET_FACTORS, _l("Reset the second steps"), _l("Yes, reset"),
                      _l("The second steps have been removed. The person sets up a new one at the next sign-in.")),
    "sign_out": (admins.Action.SIGN_OUT, _l("Sign out everywhere"), _l("Yes, sign out everywhere"),
                 _l("The person has been signed out everywhere.")),
    "disable": (admins.Action.DISABLE, _l("Disable the account"), _l("Yes, disable"),
                _l("The account is disabled. The person can no longer sign in.")),
    "enable": (admins.Action.DISABLE, _l("Enable the account"), _l("Yes, enable"),
               _l("The account is enabled. The person can sign in again.")),
}
_DO: dict[str, Callable[[admins.Admin, User], None]] = {
    "unlock": _do_unlock, "resend_activation": _do_resend, "reset_factors": _do_reset, "sign_out": _do_sign_out,
    "disable": _do_disable, "enable": _do_enable,
}


def _action_view(name: str) -> Callable:
    rule, title, button, done = ACTIONS[name]

    @admin_only
    def view(admin: admins.Admin, sub: str):
        found = visible_person(admin, sub)
        admins.require(admin, rule, found)
        if request.method == "GET":
            return render_template("admin/confirm.html", admin=admin, person=found, title=title, button=button,
                                   action=name)
        try:
            _DO[name](admin, found)
        except InvalidInput:
            db.session.rollback()
            flash(str(_l("Nothing has been changed: this cannot be done for this person now.")), "error")
        else:
            db.session.commit()
            flash(str(done), "done")
        return redirect(url_for("admin.person", sub=sub))

    view.__name__ = name
    return view


for _name in ACTIONS:
    bp.add_url_rule(f"/people/<sub>/{_name.replace('_', '-')}", endpoint=_name, view_func=_action_view(_name),
                    methods=["GET", "POST"])
