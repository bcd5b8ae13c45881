"""What every portal has: OIDC sign-in with Authlib, RP-initiated and back-channel logout, who is signed in.

A portal package calls `create_portal(__name__, ...)` and adds its own pages; it provides the template
`base.html`. Shared by the portals: clients/templates (`message.html`, which extends it, for errors; `_who.html`,
who is signed in and Uitloggen) and clients/static (served at /common/static: `calm.css`).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import wraps
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from jinja2 import ChoiceLoader, FileSystemLoader
from joserfc.errors import JoseError
from requests import RequestException

from clients.backchannel import EndedSessions, LogoutTokens
from clients.dutch import LOCAL_TIME, moment, today

SHARED = os.path.dirname(__file__)  # clients/templates and clients/static, shared by the portals
KEPT_CLAIMS = ("sub", "name", "given_name", "email", "acr", "amr", "auth_time", "sid", "act")
SIGN_INS = "sign_ins"  # this browser's sign-ins under way, by state: what each asked, and when it started
MAX_SIGN_INS = 5  # tabs signing in at once; older ones are forgotten
SESSION_HOURS = 12  # a portal session cookie is accepted this long after it was last written
CLOCK_LEEWAY = 10  # seconds of clock difference between provider and portal, for auth_time
# How a person proved who they are, in their words (amr values of the provider, RFC 8176).
AMR_WORDS = {"pwd": "wachtwoord", "sms": "sms-code", "otp": "code uit app of e-mail", "hwk": "beveiligingssleutel"}


@dataclass(frozen=True)
class SignInRequest:
    """One authorization request of this portal: the parameters it asked beyond the defaults, and when."""

    asked: dict = field(default_factory=dict)
    started_at: float = 0.0

    def recent_enough(self, auth_time) -> bool:
        """With prompt=login or max_age the person must have signed in for this request (OIDC Core 3.1.2.1):
        a portal checks auth_time itself, or a person could drop the parameter from the URL."""
        if "login" in str(self.asked.get("prompt") or "").split():
            since = self.started_at
        elif self.asked.get("max_age") is not None:
            since = time.time() - int(self.asked["max_age"])
        else:
            return True
        return isinstance(auth_time, int | float) and auth_time >= since - CLOCK_LEEWAY


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
    at = datetime.fromtimestamp(timestamp, UTC).astimezone(LOCAL_TIME)
    return f"{at:%H:%M}" if at.date() == today() else moment(at)


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


def actor_of(claims) -> dict | None:
    """Who acts, when the person signed in opened someone else's records (issue 15): the `act` claim (RFC 8693)
    as {"sub", "name"}, or None when they act for themselves. `sub` is then the person whose records these are."""
    act = claims.get("act") if claims else None
    if not isinstance(act, dict) or not isinstance(act.get("sub"), str) or not act["sub"]:
        return None
    name = act.get("name")
    return {"sub": act["sub"], "name": name if isinstance(name, str) else ""}


def first_name(claims) -> str:
    """What a page calls the person whose records are open: the given name, else the first word of the name."""
    given = claims.get("given_name")
    if isinstance(given, str) and given.strip():
        return given.strip()
    return (claims.get("name") or "").split(" ")[0]


def message(title: str, text: str, status: int):
    """A portal page that says what happened (clients/templates/message.html), with its status."""
    return render_template("message.html", title=title, text=text), status


SETTINGS = ("PORTAL_ISSUER", "PORTAL_CLIENT_ID", "PORTAL_CLIENT_SECRET", "PORTAL_BASE_URL", "PORTAL_SECRET_KEY")


def written_text(typed: str | None, max_length: int, *, what: str, box: str) -> tuple[str, str | None]:
    """A message typed into a portal's form, stripped, and the one error to show for it (None: it can be sent).
    `what` names it in the sentence ("Uw vraag", "Je bericht"), `box` is the label of its field."""
    text = (typed or "").strip()
    if not text:
        return text, f"Schrijf {what[0].lower()}{what[1:]} in het vak '{box}'."
    if len(text) > max_length:
        return text, f"{what} is te lang: hooguit {max_length} tekens."
    return text, None


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
                  on_sign_in: Callable[[dict, dict, SignInRequest], object | None] | None = None) -> Flask:
    """A Flask app for the portal package `name` with sign-in, logout and back-channel logout in place.

    `acr_values` asks every sign-in for that assurance; `prompt="login"` asks the person to sign in afresh (password
    and second factor) instead of reusing the provider's single sign-on session. A page of the portal that needs
    more asks for it with `app.extensions["start_sign_in"](acr_values=...)`.

    `on_sign_in(claims, token, sign_in)` runs once the portal session holds the validated claims; `sign_in` is
    the SignInRequest this callback answers (its `asked`: every parameter sent beyond the defaults). It may keep
    more in the session, or return a response instead of the home page (clearing the session when the sign-in
    is not good enough for this portal). If it raises, the session is cleared: a failing check never signs in."""
    short = name.split(".")[-2] if name.count(".") >= 2 else name.split(".")[-1]
    base_url = base_url.rstrip("/")
    app = Flask(name)
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(os.path.join(SHARED, "templates"))])
    app.register_blueprint(Blueprint("portal_common", __name__, static_folder=os.path.join(SHARED, "static"),
                                     static_url_path="/common/static"))
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME=f"portal_{short}",  # portals and provider share the host's cookie jar
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),  # also bounds a non-permanent cookie's age
        PORTAL_BASE_URL=base_url,
    )
    oauth = OAuth(app)
    client = oauth.register(
        name=short, client_id=client_id, client_secret=client_secret,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": scope, "code_challenge_method": "S256"},
    )
    ended = EndedSessions(keep_seconds=SESSION_HOURS * 3600)
    logout_tokens = LogoutTokens(client, issuer, client_id)
    app.extensions["oidc_client"] = client
    app.extensions["ended_sessions"] = ended

    @app.before_request
    def _guard():
        if "sub" in session and ended.ended(session.get("sid"), session["sub"], session.get("signed_in_at", 0)):
            session.clear()
        if request.method == "POST" and request.endpoint != "backchannel_logout":
            sent = request.form.get("csrf_token", "")
            if not sent or not secrets.compare_digest(sent, session.get("csrf_token", "")):
                return message("Verlopen formulier",
                               "Dit formulier is verlopen. Ga terug en probeer het opnieuw.", 400)
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
            # Under a delegation the one signed in is the actor; the records open are the subject's.
            actor = actor_of(session)
            opened = {"name": session.get("name") or "", "first_name": first_name(session)} if actor else None
            who = {"name": actor["name"] if actor else session.get("name") or session.get("email") or "",
                   "email": None if actor else session.get("email"),
                   "acr": session.get("acr"), "amr": session.get("amr") or [],
                   "how": how_signed_in(session.get("amr")), "since": local_time(session.get("auth_time")),
                   "acting_for": opened, "may_switch": bool(session.get("may_switch"))}
        return {"who": who, "csrf_token": csrf_token}

    def start_sign_in(**asked):
        """Redirect to the provider's authorization endpoint (state, nonce and PKCE are Authlib's), and remember
        under its state what this request asked and when."""
        asked = {key: value for key, value in (("acr_values", acr_values), ("prompt", prompt)) if value} | asked
        response = client.authorize_redirect(base_url + "/callback", **asked)
        state = parse_qs(urlsplit(response.location).query)["state"][0]
        under_way = dict(session.get(SIGN_INS) or {})
        under_way[state] = {"asked": asked, "at": time.time()}
        session[SIGN_INS] = dict(list(under_way.items())[-MAX_SIGN_INS:])
        return response

    app.extensions["start_sign_in"] = start_sign_in

    @app.get("/login")
    def login():
        return start_sign_in()

    @app.get("/callback")
    def callback():
        pending = (session.get(SIGN_INS) or {}).get(request.args.get("state", ""))
        try:
            token = client.authorize_access_token()  # checks state; validates the ID token incl. nonce
        except (OAuthError, JoseError, ValueError) as error:  # state, code, or an ID token that does not check out
            current_app.logger.warning("sign-in refused: %s", getattr(error, "error", None) or error)
            return message("Inloggen is niet gelukt", "Er ging iets mis bij het inloggen. Probeer het opnieuw.", 400)
        except RequestException as error:
            current_app.logger.warning("the provider could not be reached: %s", error)
            return message("Inloggen is niet gelukt",
                           "De inlogdienst is nu niet bereikbaar. Probeer het over een paar minuten opnieuw.", 502)
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub") or pending is None:  # no pending: this browser started too many sign-ins since
            return message("Inloggen is niet gelukt", "Er ging iets mis bij het inloggen. Probeer het opnieuw.", 400)
        sign_in = SignInRequest(pending.get("asked") or {}, float(pending.get("at") or 0))
        if not sign_in.recent_enough(claims.get("auth_time")):
            current_app.logger.warning("sign-in refused: not signed in afresh as asked (auth_time %s)",
                                       claims.get("auth_time"))
            session.pop(SIGN_INS, None)
            return message("Opnieuw inloggen", "Hier logt u elke keer opnieuw in. Probeer het opnieuw.", 403)
        if "name" not in claims or "email" not in claims:
            try:
                info = client.userinfo(token=token)
            except (OAuthError, RequestException, ValueError) as error:
                current_app.logger.info("no userinfo: %s", error)
                info = {}
            if info.get("sub") == claims["sub"]:
                claims.update({k: v for k, v in info.items() if k not in claims})
        session.clear()
        session.update({k: claims.get(k) for k in KEPT_CLAIMS})
        session.update(id_token=token["id_token"], signed_in_at=time.time(), csrf_token=secrets.token_urlsafe(24))
        # Someone who acts for others here keeps the "Wissel van persoon" button, also once back on their own.
        session["may_switch"] = actor_of(claims) is not None or "select_account" in str(
            sign_in.asked.get("prompt") or "").split()
        if on_sign_in is not None:
            try:
                response = on_sign_in(claims, token, sign_in)
            except Exception:
                session.clear()
                raise
            if response is not None:
                return response
        return redirect(url_for("home"))

    @app.post("/wissel-van-persoon")
    def switch_person():
        """Choose again whose records to open (issue 15): the provider's "for whom?" page, without signing out."""
        if "sub" not in session:
            return redirect(url_for("welcome"))
        return start_sign_in(prompt="select_account")

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
        claims = logout_tokens.claims(request.form.get("logout_token", ""))
        if claims is None:
            return {"error": "invalid_request"}, 400, {"Cache-Control": "no-store"}
        ended.end(claims.get("sid"), claims.get("sub"))
        return "", 200, {"Cache-Control": "no-store"}

    return app
