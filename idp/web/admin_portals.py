"""The admin console's portals pages (issue 16 part 2): the registered portals, registering one, changing its
registration and sign-in profile, a new secret (shown once), disabling and enabling. Deployment admins only
(admins.Action.MANAGE_PORTALS); the rules are idp/portals' (editing, registry, declared), as at `idp clients`.
Thin views on the console's blueprint (idp/web/admin.py), audited with the admin as actor by `admin_only`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp import clock
from idp.accounts import admins
from idp.errors import InvalidInput
from idp.extensions import db
from idp.i18n import FORMS_OF_ADDRESS
from idp.models import Client
from idp.models.factor import FACTOR_KINDS
from idp.portals import declared, editing, registry
from idp.portals import profile as portal_profile
from idp.runtime import settings
from idp.web.admin import admin_only, bp

# What the form says beside a field the rules refused (the rule's own words are English and for the log).
ERRORS = {
    "kind": _l("Choose what kind of portal this is."),
    "client_id": _l("Use 1 to 64 letters, digits, dots, hyphens, underscores or tildes (not starting with a "
                    "hyphen), and a client ID that is not registered yet. Leave it empty for a random one."),
    "name": _l("Enter a name of at most 200 characters, on one line."),
    "redirect_uris": _l("Enter at least one address, one per line, each in full with https:// and without * or #. "
                        "Plain http only to localhost in development mode."),
    "post_logout_redirect_uris": _l("Enter each address in full with https://, one per line, without * or #."),
    "backchannel_logout_uri": _l("Enter the address in full with https://, without * or #."),
    "pkce_required": _l("A public portal always needs PKCE."),
    "id_token_alg": _l("Choose RS256 or ES256."),
    "access_token_format": _l("Choose opaque or JWT."),
    "mfa": _l("Choose one of the options."),
    "mfa_factors": _l("Choose at least one second step."),
    "trusted_device_days": _l("Enter a number of days from 0 to 365."),
    "password_policy": _l("Choose one of the options."),
    "help_contact": _l("Enter at most 300 characters."),
    "email_domains": _l("Enter e-mail domains like example.org, one per line."),
    "profile.withheld_claims": _l("Choose only claims from the list."),
    "profile.sign_in_url": _l("Enter an address in full, starting with https://."),
    "profile.support_url": _l("Enter an address in full, starting with https://."),
    "profile.logo_url": _l("Enter an address in full, starting with https:// (http only in development mode)."),
    "profile.organisation": _l("Enter at most 100 characters."),
    "profile.accent_colour": _l("Enter a colour as #rrggbb that is dark enough to read on white (a contrast of at "
                                "least 4.5:1), e.g. #1d5c8a."),
    "profile.help_by_role": _l("Enter role=contact pairs separated by semicolons, e.g. "
                               "professional=help@example.org."),
    "profile.sms_code_length": _l("Enter a number from 6 to 10."),
    "profile.email_code_length": _l("Enter a number from 6 to 10."),
}
CHOOSE = _l("Choose one of the options.")


def _portal(client_id: str) -> Client:
    """A portal the console manages (not the account pages it signs in through), else 404."""
    client = registry.find(client_id)
    if client is None or not editing.manageable(client):
        abort(404)
    return client


def _lines(name: str) -> list[str]:
    return [line.strip() for line in request.form.get(name, "")[:20000].splitlines() if line.strip()]


def _typed() -> editing.Typed:
    form = request.form
    profile = {name: form.get(f"profile-{name}", "")[:2000] for name in portal_profile.FIELDS}
    profile["withheld_claims"] = ",".join(form.getlist("profile-withheld_claims"))
    return editing.Typed(
        name=form.get("name", "")[:1000], redirect_uris=_lines("redirect_uris"),
        post_logout_redirect_uris=_lines("post_logout_redirect_uris"),
        backchannel_logout_uri=form.get("backchannel_logout_uri", "")[:2000], first_party="first_party" in form,
        pkce_required="pkce_required" in form, id_token_alg=form.get("id_token_alg", ""),
        access_token_format=form.get("access_token_format", ""), mfa=form.get("mfa", ""),
        mfa_factors=form.getlist("mfa_factors"), trusted_device_days=form.get("trusted_device_days", "")[:20],
        password_policy=form.get("password_policy", ""), help_contact=form.get("help_contact", "")[:1000],
        email_domains=_lines("email_domains"), registration="registration" in form, profile=profile,
        client_id=form.get("client_id", "").strip()[:200], kind=form.get("kind", ""))


def _form(typed: editing.Typed, *, client: Client | None, problems: dict[str, str] | None = None,
          refused: str | None = None, status: int = 200) -> tuple[str, int]:
    problems = problems or {}
    errors = {name: ERRORS.get(name, CHOOSE) for name in problems}
    defaults = portal_profile.explain(Client(profile={}))
    body = render_template(
        "admin/portal_form.html", client=client, typed=typed, errors=errors, refused=refused,
        declared_in=client.declared_in if client is not None and _declared(client) else None,
        kinds=editing.KINDS, algorithms=registry.ID_TOKEN_ALGS,
        token_formats=registry.ACCESS_TOKEN_FORMATS, jwt_minutes=settings().tokens.jwt_access_token_seconds // 60 or 1,
        policies=registry.MFA_POLICIES,
        factors=FACTOR_KINDS, password_policies=sorted(settings().password_policies),
        default_policy=settings().passwords.default_policy, withholdable=portal_profile.WITHHOLDABLE,
        booleans=portal_profile.BOOLEANS, defaults={k: v["value"] for k, v in defaults.items()},
        choices={"sign_in_with": portal_profile.SIGN_IN_WITH, "activation_order": portal_profile.ACTIVATION_ORDERS,
                 "form_of_address": FORMS_OF_ADDRESS, "new_accounts": portal_profile.NEW_ACCOUNTS})
    return body, status


def _declared(client: Client) -> bool:
    try:
        declared.guard(client)
    except InvalidInput:
        return True
    return False


@bp.get("/portals")
@admin_only
def portals_page(admin: admins.Admin) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_PORTALS, None)
    found = [c for c in db.session.scalars(select(Client).order_by(Client.name, Client.client_id))
             if editing.manageable(c)]
    return render_template("admin/portals.html", admin=admin, portals=found)


@bp.route("/portals/new", methods=["GET", "POST"])
@admin_only
def portal_new(admin: admins.Admin) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_PORTALS, None)
    if request.method == "GET":
        return _form(editing.Typed(id_token_alg=settings().keys.algorithm), client=None)
    typed = _typed()
    try:
        registered = editing.register(typed)
    except editing.Refused as refused:
        db.session.rollback()
        return _form(typed, client=None, problems=refused.problems)
    db.session.commit()
    # The secret is in this response only: never in a URL, a session or a later page.
    return render_template("admin/portal_secret.html", client=registered.client, secret=registered.secret,
                           new=True), 201


@bp.get("/portals/<client_id>")
@admin_only
def portal(admin: admins.Admin, client_id: str) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_PORTALS, None)
    found = _portal(client_id)
    shown = registry.describe(found)
    profile = [(name, _plain(item["value"]), item["from"] == "default") for name, item in shown["profile"].items()]
    return render_template("admin/portal.html", client=found, shown=shown, kind=editing.kind_of(found),
                           declared=_declared(found), profile=profile)


def _plain(value: object) -> str:
    """A profile value as one line of text (help_by_role: role=contact pairs)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join("=".join(item) if isinstance(item, list) else str(item) for item in value)
    return str(value)


@bp.route("/portals/<client_id>/edit", methods=["GET", "POST"])
@admin_only
def portal_edit(admin: admins.Admin, client_id: str) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_PORTALS, None)
    found = _portal(client_id)
    if request.method == "GET":
        return _form(editing.typed_from(found), client=found)
    typed = _typed()
    try:
        changed = editing.update(found, typed)
    except editing.Refused as refused:
        db.session.rollback()
        return _form(typed, client=_portal(client_id), problems=refused.problems)
    except InvalidInput:  # declared in the config file
        db.session.rollback()
        found = _portal(client_id)
        return _form(typed, client=found, refused=str(_l("Nothing has been changed: this portal is declared in the "
                                                         "configuration file; change it there.")), status=409)
    db.session.commit()
    flash(str(_l("The portal has been changed.") if changed else _l("Nothing was different. Nothing has changed.")),
          "done")
    return redirect(url_for("admin.portal", client_id=client_id))


@bp.route("/portals/<client_id>/rotate-secret", methods=["GET", "POST"])
@admin_only
def portal_rotate_secret(admin: admins.Admin, client_id: str) -> ResponseReturnValue:
    admins.require(admin, admins.Action.MANAGE_PORTALS, None)
    found = _portal(client_id)
    title = _l("Give the portal a new secret")
    if request.method == "GET":
        return render_template("admin/portal_confirm.html", client=found, title=title, action="portal_rotate_secret",
                               warning=_l("The present secret stops working at once: the portal cannot sign "
                                          "anyone in until its new secret is set there."),
                               button=_l("Yes, make a new secret"), refused=_declared(found) or found.public)
    try:
        declared.guard(found)
        secret = registry.rotate_secret(found)
    except InvalidInput:
        db.session.rollback()
        flash(str(_l("Nothing has been changed: this portal has no secret, or is declared in the configuration "
                     "file.")), "error")
        return redirect(url_for("admin.portal", client_id=client_id))
    db.session.commit()
    return render_template("admin/portal_secret.html", client=found, secret=secret, new=False)


def _switch(name: str) -> Callable[..., ResponseReturnValue]:
    disabling = name == "portal_disable"
    title = _l("Disable the portal") if disabling else _l("Enable the portal")
    warning = (_l("Nobody can sign in at this portal any more and its tokens stop working, until it is enabled "
                  "again.") if disabling else _l("People can sign in at this portal again."))
    button = _l("Yes, disable") if disabling else _l("Yes, enable")
    done = _l("The portal is disabled.") if disabling else _l("The portal is enabled.")

    @admin_only
    def view(admin: admins.Admin, client_id: str) -> ResponseReturnValue:
        admins.require(admin, admins.Action.MANAGE_PORTALS, None)
        found = _portal(client_id)
        if request.method == "GET":
            return render_template("admin/portal_confirm.html", client=found, title=title, action=name,
                                   warning=warning, button=button, refused=False)
        if disabling:
            registry.disable(found, clock.now())
        else:
            registry.enable(found)
        db.session.commit()
        flash(str(done), "done")
        return redirect(url_for("admin.portal", client_id=client_id))

    view.__name__ = name
    return view


for _name, _path in (("portal_disable", "disable"), ("portal_enable", "enable")):
    bp.add_url_rule(f"/portals/<client_id>/{_path}", endpoint=_name, view_func=_switch(_name),
                    methods=["GET", "POST"])
