"""The ordering portal app: configuration from PORTAL_* environment variables, role-based pages.

Roles come from the provider's `roles` claim (scope "roles"), in the ID token or else from userinfo; without it a
person is an end user. Professionals must have signed in with a second factor (acr urn:idp:acr:mfa): the portal
steps them up with acr_values and refuses a sign-in that still lacks it.
"""

from __future__ import annotations

import os
from functools import wraps

from authlib.integrations.base_client import OAuthError
from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from requests import RequestException

from clients.common import SignInRequest, configured_portal, message, roles_of, signed_in
from clients.dutch import moment
from clients.ordering.demo import CATALOGUE, MAX_QUANTITY, Store, parse_address, parse_lines
from clients.ordering.roles import ACR_MFA, SignIn, decide, is_professional

SHOP = "Samen zorgen · hulpmiddelen bestellen"
SCOPE = "openid profile email roles"


def create_app(config: dict | None = None) -> Flask:
    """The portal; PORTAL_* from the environment, `config` overrides them (and sets other Flask config)."""
    # No acr_values for everyone: end users without a second factor would be made to add one. Only
    # professionals are sent with acr_values (see /login/zorgprofessional).
    app = configured_portal(__name__, "ordering portal", config, scope=SCOPE, on_sign_in=_on_sign_in)
    # The provider's acr for a sign-in with a second factor (its setting mfa.acr_mfa).
    app.config.setdefault("PORTAL_ACR_MFA", os.environ.get("PORTAL_ACR_MFA") or ACR_MFA)
    app.config["PROVIDER_ACCOUNT_URL"] = app.config["PORTAL_ISSUER"] + "/account/"
    app.add_template_filter(moment, "moment")
    store = Store()
    app.extensions["ordering_store"] = store
    _pages(app, store)

    @app.get("/login/zorgprofessional")
    def login_professional():
        """Professionals sign in with a second factor: ask the provider for acr urn:idp:acr:mfa."""
        return app.extensions["start_sign_in"](acr_values=app.config["PORTAL_ACR_MFA"])

    return app


def _on_sign_in(claims: dict, token: dict, sign_in: SignInRequest):
    """Keep the roles; step a professional up to a second factor, and refuse one who came back without it."""
    roles = roles_of(claims)
    if roles is None:
        try:
            info = current_app.extensions["oidc_client"].userinfo(token=token)
            roles = roles_of(info) if info.get("sub") == session["sub"] else None
        except (OAuthError, RequestException, ValueError) as error:
            current_app.logger.info("no roles from userinfo: %s", error)
    session["roles"] = roles or []
    acr_mfa = current_app.config["PORTAL_ACR_MFA"]
    verdict = decide(session["roles"], session.get("acr"), sign_in.asked.get("acr_values") == acr_mfa, acr_mfa)
    if verdict is SignIn.STEP_UP:
        session.clear()  # not signed in here until the second factor is done
        return redirect(url_for("login_professional"))
    if verdict is SignIn.REFUSE:
        session.clear()
        return message("Inloggen is niet gelukt",
                        "Als zorgprofessional logt u in met uw wachtwoord én een tweede stap (een sms-code of "
                        "een code uit uw app). Die tweede stap is niet gedaan, dus u bent niet ingelogd. "
                        "Probeer het opnieuw.", 403)
    return None


def professional_only(view):
    """Only for professionals who signed in with a second factor; others get a clear 403 page."""

    @signed_in
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_professional(session.get("roles")):
            return message("Alleen voor zorgprofessionals",
                            "Deze pagina is alleen voor zorgprofessionals. Uw eigen bestellingen vindt u bij "
                            "'Mijn bestellingen'.", 403)
        if session.get("acr") != current_app.config["PORTAL_ACR_MFA"]:
            return redirect(url_for("login_professional"))
        return view(*args, **kwargs)

    return wrapper


def _pages(app: Flask, store: Store) -> None:
    @app.context_processor
    def _shop():
        professional = is_professional(session.get("roles")) if "sub" in session else False
        return {"shop": SHOP, "professional": professional, "who_role": "zorgprofessional" if professional else None}


    @app.get("/overzicht")
    @signed_in
    def home():
        professional = is_professional(session.get("roles"))
        account = store.account(session["sub"], history=not professional)
        return render_template("home.html", account=account)

    @app.route("/bestellen", methods=["GET", "POST"])
    @professional_only
    def order():
        error, status, form = None, 200, {}
        if request.method == "POST":
            form = request.form.to_dict()
            for_whom = " ".join((form.get("client") or "").split())[:100]
            lines, error = parse_lines({p.code: form.get(f"qty-{p.code}", "") for p in CATALOGUE})
            address, address_error = parse_address(form.get("street", ""), form.get("postcode", ""),
                                                   form.get("city", ""))
            if not for_whom:
                error = "Vul de naam van de cliënt in."
            error = error or address_error
            if error:
                status = 400
            else:
                placed = store.place(session["sub"], for_whom, lines, address)
                flash(f"Bestelling {placed.number} voor {for_whom} is ontvangen.")
                return redirect(url_for("orders"))
        return render_template("order.html", catalogue=CATALOGUE, form=form, error=error,
                               max_quantity=MAX_QUANTITY), status

    @app.get("/bestellingen")
    @professional_only
    def orders():
        return render_template("orders.html", account=store.account(session["sub"], history=False))

    @app.get("/mijn-bestellingen")
    @signed_in
    def my_orders():
        return render_template("my_orders.html", account=store.account(session["sub"]))

    @app.post("/mijn-bestellingen/<number>/opnieuw")
    @signed_in
    def reorder(number: str):
        again = store.reorder(session["sub"], number)
        if again is None:
            return message("Bestelling niet gevonden", "Deze bestelling staat niet bij uw bestellingen.", 404)
        flash(f"U heeft bestelling {number} opnieuw besteld: dat is nu bestelling {again.number}.")
        return redirect(url_for("my_orders"))

    @app.get("/mijn-gegevens")
    @signed_in
    def my_details():
        professional = is_professional(session.get("roles"))
        return render_template("my_details.html", account=store.account(session["sub"], history=not professional),
                               account_url=app.config["PROVIDER_ACCOUNT_URL"])
