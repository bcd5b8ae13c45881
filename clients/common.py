"""What every portal has: OIDC sign-in with Authlib, RP-initiated and back-channel logout, who is signed in.

A portal package calls `create_portal(__name__, ...)` and adds its own pages; it provides the template
`base.html`, which the shared `message.html` (clients/templates: title, text) extends for every portal's errors.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from datetime import UTC, datetime
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, current_app, redirect, render_template, request, session, url_for
from jinja2 import ChoiceLoader, FileSystemLoader
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

SHARED_TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
LOCAL_TIME = ZoneInfo("Europe/Amsterdam")
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
KEPT_CLAIMS = ("sub", "name", "email", "acr", "amr", "auth_time", "sid")
ASKED = "sign_in_asked"  # what this portal's authorization request asked beyond the defaults (acr_values, ...)
# How a person proved who they are, in their words (amr values of the provider, RFC 8176).
AMR_WORDS = {"pwd": "wachtwoord", "sms": "sms-code", "otp": "code uit app of e-mail", "hwk": "beveiligingssleutel"}


class EndedSessions:
    """Provider sessions ended by back-channel logout (by sid, or by sub from a moment on); thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._sids: set[str] = set()
        self._subs: dict[str, float] = {}

    def end(self, sid: str | None, sub: str | None) -> None:
        with self._changed:
            if sid:
                self._sids.add(sid)
            elif sub:
                self._subs[sub] = time.time()
            self._changed.notify_all()

    def ended(self, sid: str | None, sub: str | None, signed_in_at: float) -> bool:
        with self._changed:
            return bool(sid and sid in self._sids) or self._subs.get(sub or "", -1.0) >= signed_in_at

    def wait(self, sid: str, timeout: float) -> bool:
        """Block until this sid is ended (tests wait for the provider's delivery thread this way)."""
        with self._changed:
            return self._changed.wait_for(lambda: sid in self._sids, timeout=timeout)


def signed_in(view):
    """Only for a signed-in person; others go to the welcome page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if "sub" not in session:
            return redirect(url_for("welcome"))
        return view(*args, **kwargs)

    return wrapper


def local_time(timestamp: float | int | None) -> str:
    """A moment as the person reads it: "14:02" today, "3-5-2025 14:02" another day."""
    if not timestamp:
        return ""
    moment = datetime.fromtimestamp(timestamp, UTC).astimezone(LOCAL_TIME)
    today = datetime.now(UTC).astimezone(LOCAL_TIME).date()
    clock = moment.strftime("%H:%M")
    return clock if moment.date() == today else f"{moment.day}-{moment.month}-{moment.year} {clock}"


def how_signed_in(amr: list[str] | None) -> str:
    """'met wachtwoord en sms-code' from the amr claim: the password first, whatever order the claim has.

    "mfa" without a code of its own means the second step was this computer, trusted at an earlier sign-in."""
    given = set(amr or [])
    words = [word for method, word in AMR_WORDS.items() if method in given]
    if "mfa" in given and not given & (AMR_WORDS.keys() - {"pwd"}):
        words.append("vertrouwde computer")
    if not words:
        return ""
    return "met " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " en " + words[-1])


def _message(title: str, text: str, status: int):
    return render_template("message.html", title=title, text=text), status


SETTINGS = ("PORTAL_ISSUER", "PORTAL_CLIENT_ID", "PORTAL_CLIENT_SECRET", "PORTAL_BASE_URL", "PORTAL_SECRET_KEY")


def roles_of(claims: dict | None) -> list[str] | None:
    """The `roles` claim as a list of strings, or None when the claims say nothing about roles."""
    if not claims or "roles" not in claims:
        return None
    value = claims["roles"]
    if isinstance(value, str):  # some providers send one role as a plain string
        value = value.split()
    if not isinstance(value, list):
        return []
    return sorted({r for r in value if isinstance(r, str) and r})


def configured_portal(name: str, label: str, config: dict | None = None, **options) -> Flask:
    """create_portal with PORTAL_* from the environment (`config` overrides them; its other keys go to Flask's
    config), and the welcome page every portal opens on (its "home" page once signed in)."""
    config = dict(config or {})
    values = {key: config.pop(key, None) or os.environ.get(key) for key in SETTINGS}
    missing = [key for key, value in values.items() if not value]
    if missing:
        raise RuntimeError(f"the {label} needs these settings: {', '.join(missing)}")
    app = create_portal(name, issuer=values["PORTAL_ISSUER"], client_id=values["PORTAL_CLIENT_ID"],
                        client_secret=values["PORTAL_CLIENT_SECRET"], base_url=values["PORTAL_BASE_URL"],
                        secret_key=values["PORTAL_SECRET_KEY"], **options)
    app.config.update(config)
    app.config["PORTAL_ISSUER"] = values["PORTAL_ISSUER"].rstrip("/")

    @app.get("/")
    def welcome():
        if "sub" in session:
            return redirect(url_for("home"))
        return render_template("welcome.html")

    return app


def create_portal(name: str, *, issuer: str, client_id: str, client_secret: str, base_url: str,
                  scope: str = "openid profile email phone", acr_values: str | None = None,
                  prompt: str | None = None, secret_key: str,
                  on_sign_in: Callable[[dict, dict, dict], object | None] | None = None) -> Flask:
    """A Flask app for the portal package `name` with sign-in, logout and back-channel logout in place.

    `acr_values` asks every sign-in for that assurance; `prompt="login"` asks the person to sign in afresh (password
    and second factor) instead of reusing the provider's single sign-on session. A page of the portal that needs
    more asks for it with `app.extensions["start_sign_in"](acr_values=...)`.

    `on_sign_in(claims, token, asked)` runs once the portal session holds the validated claims: `asked` is what
    that sign-in's request asked beyond the defaults. It may keep more in the session, or return a response
    instead of the home page (clearing the session when the sign-in is not good enough for this portal)."""
    short = name.split(".")[-2] if name.count(".") >= 2 else name.split(".")[-1]
    base_url = base_url.rstrip("/")
    app = Flask(name)
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(SHARED_TEMPLATES)])
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME=f"portal_{short}",  # portals and provider share the host's cookie jar
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=base_url.startswith("https://"),
        PORTAL_BASE_URL=base_url,
    )
    oauth = OAuth(app)
    client = oauth.register(
        name=short, client_id=client_id, client_secret=client_secret,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": scope, "code_challenge_method": "S256"},
    )
    ended = EndedSessions()
    app.extensions["oidc_client"] = client
    app.extensions["ended_sessions"] = ended

    @app.before_request
    def _guard():
        if "sub" in session and ended.ended(session.get("sid"), session["sub"], session.get("signed_in_at", 0)):
            session.clear()
        if request.method == "POST" and request.endpoint != "backchannel_logout":
            sent = request.form.get("csrf_token", "")
            if not sent or not secrets.compare_digest(sent, session.get("csrf_token", "")):
                return _message("Verlopen formulier", "Dit formulier is verlopen. Ga terug en probeer het opnieuw.",
                                400)
        return None

    @app.after_request
    def _headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' {issuer}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if "sub" in session:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _who():
        def csrf_token() -> str:
            if "csrf_token" not in session:
                session["csrf_token"] = secrets.token_urlsafe(24)
            return session["csrf_token"]

        who = None
        if "sub" in session:
            who = {"name": session.get("name") or session.get("email") or "", "email": session.get("email"),
                   "acr": session.get("acr"), "amr": session.get("amr") or [],
                   "how": how_signed_in(session.get("amr")), "since": local_time(session.get("auth_time"))}
        return {"who": who, "csrf_token": csrf_token}

    def start_sign_in(**asked):
        """Redirect to the provider's authorization endpoint (state, nonce and PKCE are Authlib's)."""
        session[ASKED] = asked
        defaults = {key: value for key, value in (("acr_values", acr_values), ("prompt", prompt)) if value}
        return client.authorize_redirect(base_url + "/callback", **(defaults | asked))

    app.extensions["start_sign_in"] = start_sign_in

    @app.get("/login")
    def login():
        return start_sign_in()

    @app.get("/callback")
    def callback():
        asked = session.pop(ASKED, None) or {}
        try:
            token = client.authorize_access_token()  # checks state; validates the ID token incl. nonce
        except OAuthError as error:
            current_app.logger.info("sign-in refused: %s", error.error)
            return _message("Inloggen is niet gelukt", "Er ging iets mis bij het inloggen. Probeer het opnieuw.",
                            400)
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            abort(400)
        if "name" not in claims or "email" not in claims:
            info = client.userinfo(token=token)
            if info.get("sub") == claims["sub"]:
                claims.update({k: v for k, v in info.items() if k not in claims})
        csrf = secrets.token_urlsafe(24)
        session.clear()
        session.update({k: claims.get(k) for k in KEPT_CLAIMS})
        session.update(id_token=token["id_token"], signed_in_at=time.time(), csrf_token=csrf)
        if on_sign_in is not None:
            response = on_sign_in(claims, token, asked)
            if response is not None:
                return response
        return redirect(url_for("home"))

    @app.post("/logout")
    def logout():
        id_token, sid, sub = session.get("id_token"), session.get("sid"), session.get("sub")
        session.clear()
        if not id_token:
            return redirect(url_for("welcome"))
        ended.end(sid, None if sid else sub)
        endpoint = client.load_server_metadata().get("end_session_endpoint")
        if not endpoint:
            return redirect(url_for("welcome"))
        query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": base_url + "/"})
        return redirect(f"{endpoint}?{query}", 303)

    @app.post("/backchannel-logout")
    def backchannel_logout():
        claims = _logout_claims(client, issuer.rstrip("/"), client_id, request.form.get("logout_token", ""))
        if claims is None:
            return {"error": "invalid_request"}, 400, {"Cache-Control": "no-store"}
        ended.end(claims.get("sid"), claims.get("sub"))
        return "", 200, {"Cache-Control": "no-store"}

    return app


def _logout_claims(client, issuer: str, client_id: str, token: str) -> dict | None:
    """The claims of a valid logout token (OIDC Back-Channel Logout §2.6), else None."""
    if not token:
        return None
    decoded = None
    for force in (False, True):  # a key we have not seen yet: the provider may have rotated
        try:
            keys = KeySet.import_key_set(client.fetch_jwk_set(force=force))
            decoded = jwt.decode(token, keys, algorithms=["RS256", "ES256"])
            break
        except (JoseError, ValueError, KeyError, OSError, RuntimeError):
            continue
    if decoded is None:
        return None
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(leeway=120, iss={"essential": True, "value": issuer},
                                     aud={"essential": True, "value": client_id}, iat={"essential": True})
    try:
        registry.validate(claims)
    except JoseError:
        return None
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events or "nonce" in claims:
        return None
    if not (claims.get("sid") or claims.get("sub")):
        return None
    return claims
