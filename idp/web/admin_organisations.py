"""The admin console's organisations pages (issue 16 part 2), for deployment admins: the list with each one's
number of members, making one and changing its code, name, kind and e-mail domains. Thin views over
idp.accounts.organisations; the routes join the console's blueprint (idp/web/admin.py), behind its guard.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from idp import clock
from idp.accounts import admins, organisations
from idp.errors import InvalidInput
from idp.extensions import db
from idp.models.organisation import KINDS
from idp.web.admin import admin_only, bp

FIELDS = ("code", "name", "kind", "email_domains")

KIND_TITLES = {
    "care_provider": _l("Care provider"),
    "business_customer": _l("Business customer"),
    "supplier": _l("Supplier"),
    "other": _l("Other"),
}

# (field, reason of organisations.problems) -> what the admin reads beside the field
_MESSAGES = {
    ("name", "required"): _l("Enter a name."),
    ("name", "too_long"): _l("Enter a name of at most 200 characters."),
    ("code", "invalid"): _l("Use 2 to 40 lowercase letters, digits and hyphens, not only digits."),
    ("code", "taken"): _l("Another organisation already has this code."),
    ("kind", "invalid"): _l("Choose a kind."),
    ("email_domains", "invalid"): _l("Enter domains like example.org, separated by commas."),
}
OUTSIDE = _l("Some members have an address outside these domains: move them first.")


def _errors(typed: dict[str, str], current=None) -> dict[str, str]:
    found = organisations.problems(name=typed["name"], code=typed["code"].strip() or None, kind=typed["kind"],
                                   email_domains=_domains(typed["email_domains"]), current=current)
    return {name: str(_MESSAGES[(name, reason)]) for name, reason in found.items()}


def _domains(text: str) -> list[str]:
    return [d for d in re.split(r"[\s,;]+", text) if d]


def _typed() -> dict[str, str]:
    return {name: request.form.get(name, "")[:1000] for name in FIELDS}


@bp.get("/organisations")
@admin_only
def organisations_page(admin: admins.Admin):
    admins.require(admin, admins.Action.MANAGE_ORGANISATIONS, None)
    shown = [organisations.describe(o) for o in organisations.all_organisations()]
    return render_template("admin/organisations.html", admin=admin, organisations=shown, kinds=KIND_TITLES)


@bp.route("/organisations/new", methods=["GET", "POST"])
@admin_only
def new_organisation(admin: admins.Admin):
    admins.require(admin, admins.Action.MANAGE_ORGANISATIONS, None)
    if request.method == "GET":
        return _form(admin, None, dict.fromkeys(FIELDS, ""), {})
    typed = _typed()
    errors = _errors(typed)
    if errors:
        return _form(admin, None, typed, errors)
    made = organisations.create(admin, typed["name"], typed["kind"], clock.now(),
                                code=typed["code"].strip() or None, email_domains=_domains(typed["email_domains"]))
    db.session.commit()
    flash(str(_l("The organisation %(name)s has been made.", name=made.name)), "done")
    return redirect(url_for("admin.organisations_page"))


@bp.route("/organisations/<code>/edit", methods=["GET", "POST"])
@admin_only
def edit_organisation(admin: admins.Admin, code: str):
    admins.require(admin, admins.Action.MANAGE_ORGANISATIONS, None)
    found = organisations.find(code) if not code.isdigit() else None
    if found is None:
        abort(404)
    if request.method == "GET":
        typed = {"code": found.code, "name": found.name, "kind": found.kind,
                 "email_domains": ", ".join(found.email_domains or [])}
        return _form(admin, found, typed, {})
    typed = _typed()
    errors = _errors(typed, found)
    if not typed["code"].strip():
        errors["code"] = str(_MESSAGES[("code", "invalid")])
    if errors:
        return _form(admin, found, typed, errors)
    try:
        changed = organisations.update(admin, found, clock.now(), name=typed["name"], code=typed["code"],
                                       kind=typed["kind"], email_domains=_domains(typed["email_domains"]))
    except InvalidInput:  # a member's address is outside the new domains
        db.session.rollback()
        return _form(admin, found, typed, {"email_domains": str(OUTSIDE)})
    db.session.commit()
    flash(str(_l("The changes have been saved.") if changed else _l("Nothing has changed.")), "done")
    return redirect(url_for("admin.organisations_page"))


def _form(admin, found, typed, errors):
    return render_template("admin/organisation.html", admin=admin, organisation=found, typed=typed, errors=errors,
                           kinds={k: KIND_TITLES[k] for k in KINDS})
