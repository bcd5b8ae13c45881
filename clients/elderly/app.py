"""Mijn Avondrood: configuration from PORTAL_* environment variables, and its pages (seed 002)."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request, session, url_for

from clients.common import SignInRequest, configured_portal, message, signed_in, written_text
from clients.dutch import dutch_date
from clients.elderly.contacts import actor, contact_persons, shown
from clients.elderly.demo import Store

ORGANISATION = "Zorggroep Avondrood"
PORTAL = "Mijn Avondrood"
MAX_MESSAGE = 1000
# The provider's `delegations` scope: the client's contact persons at this portal (the `delegates` claim).
SCOPE = "openid profile email phone delegations"


def create_app(config: dict | None = None) -> Flask:
    """The portal; PORTAL_* from the environment, `config` overrides them (and sets other Flask config)."""
    # Seed 002: the password and an SMS code at every sign-in, so no single sign-on from another portal either.
    app = configured_portal(__name__, "elderly-care portal", config, prompt="login", scope=SCOPE,
                            on_sign_in=_on_sign_in)
    app.add_template_filter(dutch_date, "dutch_date")
    store = Store()
    app.extensions["elderly_store"] = store
    _pages(app, store)
    return app


def _on_sign_in(claims: dict, token: dict, sign_in: SignInRequest):
    """Only a sign-in with an SMS code gets in (seed 002: "elke keer als u inlogt ontvangt u een sms")."""
    if "sms" not in (claims.get("amr") or []):
        session.clear()
        return message("Inloggen is niet gelukt",
                       "Voor Mijn Avondrood logt u in met uw wachtwoord en een sms-code. Probeer het opnieuw.", 403)
    # Seed 002: a contact person or family member may look along. Signed in for the client (`act`), the pages
    # show the client's data and say clearly for whom; the client's own contact persons only to the client.
    session["act"] = actor(claims)
    session["contact_persons"] = contact_persons(claims) if session["act"] is None else None
    return None


def _pages(app: Flask, store: Store) -> None:
    @app.context_processor
    def _portal():
        acting = session.get("act") if "sub" in session else None
        if acting is not None:  # who acts, for whom (the session's name is the client's: the ID token's subject)
            acting = {"name": acting.get("name") or "uw contactpersoon", "for": session.get("name") or "de cliënt"}
        return {"organisation": ORGANISATION, "portal_name": PORTAL, "acting": acting}

    @app.get("/overzicht")
    @signed_in
    def home():
        client = store.get(session["sub"])
        kept = session.get("contact_persons")
        return render_template("home.html", client=client, next_visit=client.visits[0] if client.visits else None,
                               contact_persons=shown(kept) if kept is not None else None,
                               manage_url=app.config["PORTAL_ISSUER"] + "/account/delegations")

    @app.get("/zorgplan")
    @signed_in
    def care_plan():
        return render_template("care_plan.html", client=store.get(session["sub"]))

    @app.get("/afspraken")
    @signed_in
    def visits():
        return render_template("visits.html", client=store.get(session["sub"]))

    @app.route("/berichten", methods=["GET", "POST"])
    @signed_in
    def messages():
        sub = session["sub"]
        error, status, text = None, 200, ""
        if request.method == "POST":
            text, error = written_text(request.form.get("text"), MAX_MESSAGE, what="Uw bericht", box="Uw bericht")
            if error:
                status = 400
            else:
                acting = session.get("act")
                name = session.get("name") or "U"
                if acting:  # the EVV'er sees who wrote it: "Els de Boer namens Truus Jansen"
                    name = f"{acting.get('name') or 'Contactpersoon'} namens {name}"
                store.send(sub, name, text)
                flash("Uw bericht is verstuurd naar uw EVV'er.")
                return redirect(url_for("messages"))
        return render_template("messages.html", client=store.get(sub), error=error, text=text,
                               max_length=MAX_MESSAGE), status
