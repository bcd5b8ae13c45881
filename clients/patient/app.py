"""The patient portal app: configuration from PORTAL_* environment variables, and its four pages.

A parent who acts for their child (issue 15: the ID token's `act`) sees the child's record, never their own, under
a banner that says whose record is open and who is signed in (clients/templates/_acting.html)."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request, session, url_for

from clients.common import configured_portal, first_name, written_text
from clients.dutch import today
from clients.patient.demo import Patient, Store, age_of, dutch_date, free_slots

PRACTICE = "Huisartsenpraktijk De Linde"
MAX_QUESTION = 2000


def create_app(config: dict | None = None) -> Flask:
    """The portal; PORTAL_* from the environment, `config` overrides them (and sets other Flask config)."""
    app = configured_portal(__name__, "patient portal", config)
    app.add_template_filter(dutch_date, "dutch_date")
    store = Store()
    app.extensions["patient_store"] = store
    _pages(app, store)
    return app


def _pages(app: Flask, store: Store) -> None:
    from clients.common import signed_in

    def current() -> Patient:
        """The record that is open: the token's subject (under `act` the person acted for, never the actor)."""
        return store.get(session["sub"], session.get("name"))

    @app.context_processor
    def _practice():
        label = None
        if "sub" in session and session.get("act"):
            age = age_of(current())
            label = first_name(session) + (f" ({age})" if age is not None else "")
        return {"practice": PRACTICE, "acting_label": label}

    @app.get("/overzicht")
    @signed_in
    def home():
        patient = current()
        upcoming = [a for a in patient.appointments if a.at.date() >= today()]
        return render_template("home.html", patient=patient, upcoming=upcoming[:1])

    @app.route("/afspraken", methods=["GET", "POST"])
    @signed_in
    def appointments():
        sub, patient = session["sub"], current()
        error, status = None, 200
        if request.method == "POST":
            reason = (request.form.get("reason") or "").strip()[:200]
            if store.book(sub, request.form.get("slot", ""), reason):
                flash("Uw afspraak is gemaakt.")
                return redirect(url_for("appointments"))
            error, status = "Kies een van de vrije tijden hieronder.", 400
        upcoming = [a for a in patient.appointments if a.at.date() >= today()]
        return render_template("appointments.html", upcoming=upcoming, slots=free_slots(sub, patient),
                               error=error), status

    @app.route("/vraag", methods=["GET", "POST"])
    @signed_in
    def question():
        sub, patient = session["sub"], current()
        error, status, form = None, 200, {}
        if request.method == "POST":
            text, error = written_text(request.form.get("text"), MAX_QUESTION, what="Uw vraag", box="Uw vraag")
            form = {"subject": (request.form.get("subject") or "").strip()[:120], "text": text}
            if error:
                status = 400
            else:
                store.ask(sub, form["subject"] or "Vraag aan de huisarts", form["text"])
                flash("Uw vraag is verstuurd. Meestal krijgt u dezelfde dag antwoord.")
                return redirect(url_for("question"))
        return render_template("question.html", patient=patient, error=error, form=form,
                               max_length=MAX_QUESTION), status

    @app.route("/herhaalrecepten", methods=["GET", "POST"])
    @signed_in
    def repeats():
        sub, patient = session["sub"], current()
        error, status = None, 200
        if request.method == "POST":
            if store.request_repeat(sub, request.form.getlist("medicine")):
                flash("Uw herhaalrecept is aangevraagd.")
                return redirect(url_for("repeats"))
            error, status = "Vink aan welke medicijnen u opnieuw nodig heeft.", 400
        return render_template("repeats.html", patient=patient, error=error), status

    @app.get("/uitslagen")
    @signed_in
    def results():
        return render_template("results.html", patient=current())
