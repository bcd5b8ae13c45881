"""App-wide web concerns: security headers, locale choice, audit origin, error pages, the home page."""

from __future__ import annotations

from flask import Blueprint, Flask, g, jsonify, redirect, render_template, request, url_for
from flask import session as browser
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from idp import audit
from idp.extensions import db

bp = Blueprint("web", __name__)
LOCALES = ("nl", "en")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def select_locale() -> str:
    for wanted in ((getattr(g, "ui_locales", None) or "").split()):
        tag = wanted.split("-")[0].lower()
        if tag in LOCALES:
            return tag
    if browser.get("lang") in LOCALES:
        return browser["lang"]
    from idp.runtime import settings

    return request.accept_languages.best_match(LOCALES) or settings().i18n.default_locale


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/lang/<code>")
def choose_language(code: str):
    if code in LOCALES:
        browser["lang"] = code
    target = request.args.get("next", "")
    # Only local paths: never an open redirect.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("web.home")
    return redirect(target)


@bp.get("/health")
def health():
    return jsonify(status="ok")


def install(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _origin():
        audit.set_origin(audit.Origin(ip=request.remote_addr, user_agent=request.user_agent.string, actor="web"))

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.teardown_request
    def _rollback(exc):
        if exc is not None:
            db.session.rollback()

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_template("errors/error.html", code=400, reason="csrf"), 400

    @app.errorhandler(HTTPException)
    def _http(error):
        if request.path.startswith(("/token", "/userinfo", "/revoke", "/introspect", "/jwks", "/.well-known")):
            return jsonify(error="invalid_request", error_description=error.description), error.code
        return render_template("errors/error.html", code=error.code, reason=None), error.code

    @app.errorhandler(Exception)
    def _unexpected(error):
        app.logger.exception("unhandled error")
        db.session.rollback()
        if request.path.startswith(("/token", "/revoke", "/introspect")):
            return jsonify(error="server_error"), 500
        return render_template("errors/error.html", code=500, reason=None), 500
