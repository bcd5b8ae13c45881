"""Mijn Helder: configuration from PORTAL_* environment variables, and its pages (seed 004, in the je-form)."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request, session, url_for

from clients.common import configured_portal, signed_in, written_text
from clients.dutch import dutch_date
from clients.ggz.demo import CHECK_IN, Store

ORGANISATION = "GGZ Helder"
PORTAL = "Mijn Helder"
MAX_MESSAGE = 1000


def create_app(config: dict | None = None) -> Flask:
    """The portal; PORTAL_* from the environment, `config` overrides them (and sets other Flask config)."""
    app = configured_portal(__name__, "GGZ portal", config)
    app.add_template_filter(dutch_date, "dutch_date")
    store = Store()
    app.extensions["ggz_store"] = store
    _pages(app, store)
    return app


def _pages(app: Flask, store: Store) -> None:
    @app.context_processor
    def _portal():
        return {"organisation": ORGANISATION, "portal_name": PORTAL}

    @app.get("/overzicht")
    @signed_in
    def home():
        client = store.get(session["sub"])
        return render_template("home.html", client=client, next_appointment=client.appointments[0])

    @app.get("/afspraken")
    @signed_in
    def appointments():
        return render_template("appointments.html", client=store.get(session["sub"]))

    @app.route("/vragenlijsten", methods=["GET", "POST"])
    @signed_in
    def questionnaires():
        sub = session["sub"]
        error, status = None, 200
        if request.method == "POST":
            chosen = [request.form.get(f"q{n}", "") for n in range(len(CHECK_IN))]
            if store.answer(sub, chosen):
                flash("Dank je wel. Je behandelaar ziet je antwoorden bij het volgende gesprek.")
                return redirect(url_for("questionnaires"))
            error, status = "Kies bij elke vraag een antwoord.", 400
        return render_template("questionnaires.html", client=store.get(sub), questions=CHECK_IN, error=error), status

    @app.route("/berichten", methods=["GET", "POST"])
    @signed_in
    def messages():
        sub = session["sub"]
        error, status, text = None, 200, ""
        if request.method == "POST":
            text, error = written_text(request.form.get("text"), MAX_MESSAGE, what="Je bericht", box="Je bericht")
            if error:
                status = 400
            else:
                store.send(sub, session.get("name") or "Jij", text)
                flash("Je bericht is verstuurd naar je behandelaar.")
                return redirect(url_for("messages"))
        return render_template("messages.html", client=store.get(sub), error=error, text=text,
                               max_length=MAX_MESSAGE), status
