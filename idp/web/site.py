"""App-wide web concerns: security headers, locale choice, audit origin, error pages, the home page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from idp import audit, logs, resources
from idp.errors import UserFacingError
from idp.extensions import db
from idp.runtime import settings
from idp.security import lockout
from idp.security.crypto import DecryptionError
from idp.web import branding, scim

bp = Blueprint("web", __name__)
LOCALES = ("nl", "en")

# No inline script or style anywhere (templates are tested for it), so 'self' is enough.
# No form-action: after the sign-in POST the browser is redirected to the portal, which
# Chromium would block under form-action 'self'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

HSTS = "max-age=31536000"

# On every response (pages and machine endpoints alike; idp/oidc/documents.py sends them too).
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # same-origin: a Referer only to ourselves (CSRF's https check needs it); never to a portal or anyone else.
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
]

# Machine endpoints answer errors in JSON; a portal's HTTP client cannot read an HTML page.
API_PATHS = ("/token", "/userinfo", "/revoke", "/introspect", "/jwks.json", "/.well-known", "/scim/v2",
             "/openapi.yaml")

# Answers that mean a security control refused the request: each leaves a line on the idp.security logger.
_REFUSALS = {401: "unauthenticated", 403: "forbidden", 429: "rate limit"}

# Characters no parameter of ours may hold: NUL and the other C0 controls but tab, newline and carriage return,
# and DEL. PostgreSQL refuses NUL in text, so unchecked they would fail deep inside a flow (after the password).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ControlCharacters(UserFacingError):
    """A parameter, form field or Basic credential with a control character: refused before anything reads it."""

    message = _l("This link or form contains characters that cannot be used. Nothing has been changed.")


def refuse_control_characters() -> None:
    """At the edge of every request: the query, the form and the Basic credentials (names and values)."""
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    credentials = request.authorization
    if credentials is not None and credentials.type == "basic":
        fields.append((credentials.username or "", credentials.password or ""))
    if any(_CONTROL.search(name) or _CONTROL.search(value) for name, value in fields):
        raise ControlCharacters()


# Requests that may carry the OIDC ui_locales parameter themselves (the sign-in pages get it
# from the parked request through g.ui_locales).
_UI_LOCALES_PATHS = ("/authorize", "/logout")


def _first_supported(tags: str) -> str | None:
    for wanted in tags.split():
        tag = wanted.split("-")[0].lower()
        if tag in LOCALES:
            return tag
    return None


def select_locale() -> str:
    """ui_locales of the portal's request > the person's own choice > Accept-Language > default."""
    default = settings().i18n.default_locale
    if not has_request_context():
        return default  # CLI and background work render in the default language
    chosen = browser.get("lang") if browser.get("lang") in LOCALES else None
    # A choice made on this very page beats the portal's hint: otherwise the language
    # switch on a sign-in page that came with ui_locales would seem broken.
    if chosen and browser.get("lang_page") == request.path:
        return chosen
    hinted = getattr(g, "ui_locales", None)
    if hinted is None and request.path in _UI_LOCALES_PATHS:
        hinted = request.values.get("ui_locales")
    from_portal = _first_supported(hinted or "")
    if from_portal:
        return from_portal
    if chosen:
        return chosen
    return request.accept_languages.best_match(LOCALES) or default


def local_target(raw: str) -> str | None:
    """The path to return to after a language switch, only when it stays on this site."""
    if not raw or "\\" in raw or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        return None  # browsers drop tabs and newlines, which would turn "/\t/x" into "//x"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return raw


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/openapi.yaml")
def openapi() -> Response:
    """The OpenAPI 3.1 description of the JSON endpoints (idp/openapi.yaml, shipped in the package), as is."""
    response = Response(resources.openapi(), mimetype="application/yaml")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/lang/<code>")
def choose_language(code: str):
    target = local_target(request.args.get("next", "")) or url_for("web.home")
    if code in LOCALES:
        browser["lang"] = code
        browser["lang_page"] = urlsplit(target).path
    return redirect(target)


def _is_api(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PATHS)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    origin = branding.image_origin() if response.mimetype == "text/html" else None
    if origin is not None:  # a portal's page with its logo: images from that origin too, nothing else
        headers.setdefault("Content-Security-Policy",
                           CSP.replace("img-src 'self' data:", f"img-src 'self' data: {origin}"))
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name, value)
    if response.mimetype == "text/html":
        # Every page either holds a form with a CSRF token or may show personal data.
        headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _error_page(code: int, reason: str | None = None):
    return render_template("errors/error.html", code=code, reason=reason), code


def install(app: Flask) -> None:
    app.register_blueprint(bp)
    # First of all before-request work (CSRF included): nothing may read a value it refuses.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_control_characters)

    @app.before_request
    def _origin():
        origin = audit.Origin(ip=request.remote_addr, user_agent=request.user_agent.string, actor=audit.WEB)
        audit.set_origin(origin)

    app.after_request(_security_headers)

    @app.teardown_request
    def _rollback(exc):
        if exc is not None:
            db.session.rollback()

    @app.errorhandler(CSRFError)
    def _csrf(error):
        db.session.rollback()
        logs.refused("csrf", method=request.method, path=request.path, reason=error.description)
        if _is_api(request.path):
            return jsonify(error="invalid_request", error_description="CSRF check failed"), 400
        return _error_page(400, "csrf")

    @app.errorhandler(UserFacingError)
    def _user_facing(error: UserFacingError):
        # Nothing the request wrote stands, unless the view committed it before raising (a counted try).
        db.session.rollback()
        refusal = "control characters" if isinstance(error, ControlCharacters) else _REFUSALS.get(error.status)
        if refusal:
            logs.refused(refusal, method=request.method, path=request.path, status=error.status)
        if scim.serves(request.path):  # refused before routing (a control character in the query)
            return scim.edge_error(error)
        if _is_api(request.path):
            return jsonify(error="invalid_request", error_description=str(error.message)), error.status
        contact = lockout.help_text(error.client) if error.help else None
        return render_template(error.page, code=error.status, message=error.message, help=contact,
                               **error.context), error.status

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = error.code or 500
        if code in _REFUSALS:
            logs.refused(_REFUSALS[code], method=request.method, path=request.path, status=code)
        if scim.serves(request.path):  # no route matched: still SCIM's error schema (RFC 7644 §3.12)
            return scim.edge_error(error)
        if _is_api(request.path):
            return jsonify(error="invalid_request", error_description=error.description), code
        return _error_page(code)

    @app.errorhandler(DecryptionError)
    def _missing_key(error: DecryptionError):
        # A configuration fault (an encryption key taken out too early), not a bug: the operator reads which key
        # in one log line; the person gets the calm page, and nothing the request wrote stands.
        app.logger.error("a stored value cannot be decrypted: %s", error)
        db.session.rollback()
        if _is_api(request.path):
            return jsonify(error="temporarily_unavailable"), 503
        return _error_page(503)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # The traceback goes to the server log only; the person sees a calm page.
        app.logger.exception("unhandled error")  # noqa: LOG004 (Flask calls this inside its except block)
        db.session.rollback()
        if _is_api(request.path):
            return jsonify(error="server_error"), 500
        try:
            return _error_page(500)
        except Exception:  # the error page itself failed (a broken template, a dead database)
            app.logger.exception("error page failed")
            return Response("500 Internal Server Error", status=500, mimetype="text/plain")
