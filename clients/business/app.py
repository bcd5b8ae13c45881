"""The business portal app: configuration from PORTAL_* environment variables, its pages, the admin role."""

from __future__ import annotations

from decimal import Decimal
from functools import wraps

from flask import Flask, render_template, request, session

from clients.business.demo import STATUS_ORDER, claims_with_status, dutch_date, euro, organisation_of
from clients.common import SignInRequest, configured_portal, message, roles_of, signed_in

INSURER = "Zorgverzekeraar Hollandia"
PORTAL = "Zakelijk Portaal"
ADMIN_ROLE = "admin"
ROLE_NAMES = {ADMIN_ROLE: "Beheerder"}


def create_app(config: dict | None = None) -> Flask:
    """The portal; PORTAL_* from the environment, `config` overrides them (and sets other Flask config)."""
    # Seed 001: an SMS code at every sign-in, so no single sign-on from another portal's session either.
    app = configured_portal(__name__, "business portal", config, scope="openid profile email phone roles",
                            prompt="login", on_sign_in=_on_sign_in)
    app.add_template_filter(dutch_date, "dutch_date")
    app.add_template_filter(euro, "euro")
    _pages(app)
    return app


def _on_sign_in(claims: dict, token: dict, sign_in: SignInRequest):
    """Only a sign-in with an SMS code gets in (seed 001; clients.common already checked it was a fresh one);
    keep the `roles` claim (the ID token carries it with scope "roles")."""
    if "sms" not in (claims.get("amr") or []):
        session.clear()
        return message("Inloggen is niet gelukt",
                       "Voor dit portaal logt u in met uw wachtwoord en een sms-code. Probeer het opnieuw.", 403)
    session["roles"] = roles_of(claims) or []
    return None


def current_roles() -> list[str]:
    return session.get("roles", []) if "sub" in session else []


def admin_only(view):
    """Only for the organisation's beheerder (role "admin"); others get a clear 403 page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if ADMIN_ROLE not in current_roles():
            return message("Geen toegang", "Deze pagina is alleen voor de beheerder van uw organisatie. "
                           "Heeft u deze pagina nodig? Vraag het uw beheerder.", 403)
        return view(*args, **kwargs)

    return wrapper


def _pages(app: Flask) -> None:
    @app.context_processor
    def _portal():
        roles = current_roles()
        return {"insurer": INSURER, "portal_name": PORTAL, "is_admin": ADMIN_ROLE in roles,
                "who_role": ", ".join(ROLE_NAMES.get(r, r) for r in roles)}


    @app.get("/overzicht")
    @signed_in
    def home():
        organisation = organisation_of(session.get("email"))
        waiting = [c for c in organisation.claims if c.status in ("Ingediend", "In behandeling")]
        to_sign = [c for c in organisation.contracts if c.status.startswith("Aangeboden")]
        return render_template("home.html", organisation=organisation, waiting=waiting, to_sign=to_sign)

    @app.get("/declaraties")
    @signed_in
    def claims():
        organisation = organisation_of(session.get("email"))
        status = request.args.get("status") or None
        status = status if status in STATUS_ORDER else None
        shown = claims_with_status(organisation.claims, status)
        total = sum((c.amount for c in shown), start=Decimal(0))
        return render_template("claims.html", organisation=organisation, claims=shown, status=status,
                               statuses=STATUS_ORDER, total=total)

    @app.get("/contracten")
    @signed_in
    def contracts():
        return render_template("contracts.html", organisation=organisation_of(session.get("email")))

    @app.get("/beheer")
    @signed_in
    @admin_only
    def admin():
        organisation = organisation_of(session.get("email"))
        return render_template("admin.html", organisation=organisation, role_names=ROLE_NAMES)
