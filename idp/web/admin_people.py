"""The admin console's people pages beyond the first slice (issue 16 part 2): make a person (seed 001's "Beheer →
nieuwe gebruiker"), edit their name, e-mail address and portal roles, erase them, and give or take an admin role.
Thin views over idp.accounts.onboarding, people, own_profile, admins and idp.delegation.erasure; the routes join
the console's blueprint (idp/web/admin.py), behind its guard.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from idp import clock
from idp.accounts import activation, admins, onboarding, organisations, own_profile, people, users
from idp.delegation import erasure
from idp.errors import InvalidInput, NotAllowed
from idp.extensions import db
from idp.models import Organisation
from idp.models.organisation import ADMIN_ROLES
from idp.portals import registry
from idp.web.admin import admin_only, bp, visible_person

MAX = 400  # characters kept of any typed field

FIELDS = ("name", "email", "username", "phone", "date_of_birth", "roles", "organisation", "portal")

# (field, reason) -> what the admin reads beside the field
MESSAGES = {
    ("name", "invalid"): _l("Enter a name of at most 200 characters."),
    ("email", "required"): _l("Enter the person's e-mail address."),
    ("email", "invalid"): _l("Enter a valid e-mail address, like name@example.org."),
    ("email", "taken"): _l("Another account already has this e-mail address."),
    ("email", "domain"): _l("This address is not at one of the organisation's e-mail domains (%(domains)s)."),
    ("email", "same"): _l("This is already the person's e-mail address."),
    ("username", "required"): _l("This portal signs people in with a username: enter one."),
    ("username", "invalid"): _l("Use 2 to 150 letters, digits, dots, hyphens or underscores."),
    ("username", "taken"): _l("Another account already has this username."),
    ("date_of_birth", "required"): _l("This portal checks the date of birth at activation: enter it."),
    ("date_of_birth", "invalid"): _l("Enter a real date of birth in the past, like 31-12-1970."),
    ("phone", "invalid"): _l("Enter a mobile number, like 06 12345678."),
    ("roles", "invalid"): _l("Roles are lowercase words (letters, digits, - or _), separated by commas."),
    ("roles", "protected"): _l("Only a deployment admin takes away a role whose holders sign in with a second "
                               "step. Ask one, or disable the account."),
    ("organisation", "required"): _l("Choose an organisation."),
    ("portal", "required"): _l("Choose the portal the account is for."),
}


def _message(field: str, reason: str, org: Organisation | None = None) -> str:
    domains = ", ".join("@" + d for d in (org.email_domains or [])) if org is not None else ""
    return str(MESSAGES[(field, reason)]) % {"domains": domains} if reason == "domain" else str(
        MESSAGES[(field, reason)])


def _roles(text: str) -> list[str]:
    return [r.strip() for r in text.replace(";", ",").split(",") if r.strip()]


def _organisations_for(admin: admins.Admin) -> list[Organisation]:
    if admin.role == admins.ORGANISATION:
        own = db.session.get(Organisation, admin.organisation_id) if admin.organisation_id else None
        return [own] if own is not None else []
    return organisations.all_organisations()


# --- make a person ------------------------------------------------------------------------------


@bp.route("/people/new", methods=["GET", "POST"])
@admin_only
def new_person(admin: admins.Admin):
    admins.require(admin, admins.Action.CREATE_PERSON, None)
    choices = _organisations_for(admin)
    portals = registry.portals()
    fixed = choices[0] if admin.role == admins.ORGANISATION and choices else None
    if request.method == "GET":
        typed = dict.fromkeys(FIELDS, "")
        typed["portal"] = portals[0].client_id if len(portals) == 1 else ""
        return _new_page(admin, typed, {}, choices, portals, fixed)
    typed = {name: request.form.get(name, "")[:MAX] for name in FIELDS}
    org = organisations.find(typed["organisation"]) if typed["organisation"] else None
    if fixed is not None and not typed["organisation"]:
        org = fixed  # an organisation admin's own; another one is the rule's to refuse
    portal = registry.find(typed["portal"])
    born = activation.parse_birth_date(typed["date_of_birth"]) if typed["date_of_birth"].strip() else None
    new = onboarding.NewPerson(typed["email"], name=typed["name"], username=typed["username"],
                               phone=typed["phone"].strip() or None, roles=_roles(typed["roles"]),
                               date_of_birth=born, org=org)
    onboarding.authorise(admin, new)
    now = clock.now()
    errors = {name: _message(name, reason, org) for name, reason in onboarding.problems(new, portal, now).items()}
    if typed["date_of_birth"].strip() and born is None:
        errors["date_of_birth"] = _message("date_of_birth", "invalid")
    if portal is None:
        errors["portal"] = _message("portal", "required")
    if typed["organisation"] and org is None:
        errors["organisation"] = _message("organisation", "required")
    if errors:
        return _new_page(admin, typed, errors, choices, portals, fixed)
    start = onboarding.start_for(portal)
    try:
        user = onboarding.add(admin, new, portal=portal, now=now, start=start)
    except onboarding.Refused as refused:  # taken meanwhile
        db.session.rollback()
        errors = {name: _message(name, reason, org) for name, reason in refused.problems.items()}
        return _new_page(admin, typed, errors, choices, portals, fixed)
    db.session.commit()
    if start == onboarding.TEMPORARY:
        flash(str(_l("The account has been made. A temporary password has been sent to %(email)s.",
                     email=user.email)), "done")
    else:
        flash(str(_l("The account has been made. An activation link has been sent to %(email)s.",
                     email=user.email)), "done")
    return redirect(url_for("admin.person", sub=user.sub))


def _new_page(admin, typed, errors, choices, portals, fixed):
    return render_template("admin/new_person.html", admin=admin, typed=typed, errors=errors,
                           organisations=[(o.code, o.name) for o in choices],
                           portals=[(p.client_id, p.display_name) for p in portals], fixed=fixed)


# --- edit name, e-mail address, portal roles ----------------------------------------------------


@bp.route("/people/<sub>/edit", methods=["GET", "POST"])
@admin_only
def edit(admin: admins.Admin, sub: str):
    found = visible_person(admin, sub)
    admins.require(admin, admins.Action.EDIT_PERSON, found)
    may_roles = admins.may(admin, admins.Action.SET_ROLES, found, admins.role_of(found) is not None)
    if request.method == "GET":
        typed = {"name": found.name or "", "email": found.email, "roles": ", ".join(found.roles or [])}
        return _edit_page(admin, found, typed, {}, may_roles)
    typed = {name: request.form.get(name, "")[:MAX] for name in ("name", "email", "roles")}
    errors: dict[str, str] = {}
    name = " ".join(typed["name"].split())
    if len(name) > 200:
        errors["name"] = _message("name", "invalid")
    roles = _roles(typed["roles"]) if may_roles else None
    if roles is not None and any(not users.ROLE.fullmatch(r) for r in roles):
        errors["roles"] = _message("roles", "invalid")
    elif roles is not None:
        try:
            admins.require_roles(admin, found, roles)
        except NotAllowed:
            errors["roles"] = _message("roles", "protected")
    address = None
    try:
        address = users.normalise_email(typed["email"])
    except InvalidInput:
        errors["email"] = _message("email", "invalid")
    if address is not None and address.lower() != found.email.lower():
        other = users.find_by_login(address, by="email")
        if other is not None and other.id != found.id:
            errors["email"] = _message("email", "taken")
        elif found.org is not None and not organisations.address_allowed(found.org, address):
            errors["email"] = _message("email", "domain", found.org)
    else:
        address = None  # unchanged
    if errors:
        return _edit_page(admin, found, typed, errors, may_roles)
    changed = people.edit(found, people.Changes(name=name, roles=roles), admin=admin.name, now=clock.now())
    if address is not None:
        own_profile.request_email_change(found, address, locale=found.locale)
    db.session.commit()
    if address is not None:
        flash(str(_l("A link has been sent to %(email)s. The address changes when the person opens it.",
                     email=address)), "done")
    if changed or address is None:
        flash(str(_l("The changes have been saved.") if changed else _l("Nothing has changed.")), "done")
    return redirect(url_for("admin.person", sub=sub))


def _edit_page(admin, found, typed, errors, may_roles):
    return render_template("admin/edit_person.html", admin=admin, person=found, typed=typed, errors=errors,
                           may_roles=may_roles)


# --- erase --------------------------------------------------------------------------------------


@bp.route("/people/<sub>/erase", methods=["GET", "POST"])
@admin_only
def erase(admin: admins.Admin, sub: str):
    found = visible_person(admin, sub)
    admins.require(admin, admins.Action.ERASE, found)
    if found.id == admin.user_id:
        flash(str(_l("You cannot erase your own account here.")), "error")
        return redirect(url_for("admin.person", sub=sub))
    if request.method == "GET":
        return render_template("admin/erase.html", admin=admin, person=found, typed="", error=None)
    typed = request.form.get("email", "")[:MAX]
    if typed.strip().lower() != found.email.lower():
        return render_template("admin/erase.html", admin=admin, person=found, typed=typed,
                               error=_l("Type the person's e-mail address exactly to confirm."))
    shown = found.name or found.email
    erasure.erase(found, admin=admin.name, now=clock.now())
    db.session.commit()
    flash(str(_l("%(who)s has been erased. Only a pseudonym remains in the audit trail.", who=shown)), "done")
    return redirect(url_for("admin.people_page"))


# --- admin roles --------------------------------------------------------------------------------

ROLE_TITLES = {
    admins.DEPLOYMENT: _l("Deployment admin: everything, for everyone"),
    admins.HELPDESK: _l("Helpdesk: find people, unlock, new activation link, reset second steps"),
    admins.ORGANISATION: _l("Organisation admin: the members of their own organisation"),
}


@bp.route("/people/<sub>/admin-role", methods=["GET", "POST"])
@admin_only
def admin_role(admin: admins.Admin, sub: str):
    found = visible_person(admin, sub)
    admins.require(admin, admins.Action.MANAGE_ADMINS, found)
    held = admins.role_of(found)
    chosen = request.form.get("role", "")[:40] if request.method == "POST" else (held.role if held else "")
    error = None
    if request.method == "POST":
        if found.id == admin.user_id:
            error = _l("You cannot change your own admin role.")
        elif chosen not in ADMIN_ROLES:
            error = _l("Choose a role.")
        else:
            try:
                admins.grant(admin, found, chosen, clock.now())
            except InvalidInput:
                db.session.rollback()
                error = (_l("Only a member of an organisation can be its admin.") if chosen == admins.ORGANISATION
                         else _l("This person cannot sign in, so cannot be an admin."))
            else:
                db.session.commit()
                flash(str(_l("The admin role has been given.")), "done")
                return redirect(url_for("admin.person", sub=sub))
    return render_template("admin/admin_role.html", admin=admin, person=found, held=held, chosen=chosen,
                           roles=ROLE_TITLES, error=error)


@bp.route("/people/<sub>/remove-admin", methods=["GET", "POST"])
@admin_only
def remove_admin(admin: admins.Admin, sub: str):
    found = visible_person(admin, sub)
    admins.require(admin, admins.Action.MANAGE_ADMINS, found)
    if request.method == "GET":
        return render_template("admin/confirm.html", admin=admin, person=found, title=_l("Remove the admin role"),
                               button=_l("Yes, remove the admin role"), action="remove_admin")
    if found.id == admin.user_id:
        flash(str(_l("You cannot change your own admin role.")), "error")
    elif admins.revoke(admin, found):
        db.session.commit()
        flash(str(_l("The admin role has been removed.")), "done")
    else:
        flash(str(_l("This person held no admin role. Nothing has changed.")), "done")
    return redirect(url_for("admin.person", sub=sub))
