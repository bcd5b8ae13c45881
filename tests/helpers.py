"""A small relying party for tests that drive the provider through Flask's test client."""

from __future__ import annotations

import base64
import contextvars
import hashlib
import random
import re
import secrets
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet

ISSUER = "http://localhost"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def audit_events(tag) -> list:
    """Audit records with this tag, oldest first."""
    from idp.models import AuditEvent

    return AuditEvent.query.filter_by(tag=str(tag)).order_by(AuditEvent.id).all()


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "no lang attribute on <html>"
    return match.group(1)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class RelyingParty:
    def __init__(self, client, portal, redirect_uri: str | None = None):
        self.client = client
        self.portal = portal
        # A service client (client_credentials only) has no redirect URI.
        self.redirect_uri = redirect_uri or next(iter(portal.redirect_uris), "")
        self.verifier: str | None = None
        self.nonce: str | None = None
        self.state: str | None = None

    def authorize_params(self, **extra) -> dict:
        self.verifier, challenge = pkce_pair()
        self.nonce = secrets.token_urlsafe(12)
        self.state = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": self.portal.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile email phone offline_access",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **extra):
        """GET /authorize; returns the response (not followed)."""
        return self.client.get("/authorize?" + urlencode(self.authorize_params(**extra)))

    def submit_password(self, login_url: str, username: str, password: str):
        page = self.client.get(login_url)
        assert page.status_code == 200, page.status_code
        return self.client.post(login_url, data={
            "csrf_token": csrf_token(page.get_data(as_text=True)), "stage": "password",
            "username": username, "password": password,
        })

    def sign_in(self, username: str, password: str, **extra) -> dict:
        """Authorize, sign in with a password, return the callback's query parameters."""
        response = self.authorize(**extra)
        if response.status_code == 302 and response.location.startswith("/login/"):
            response = self.submit_password(response.location, username, password)
            while response.status_code == 302 and response.location.startswith("/login/"):
                page = self.client.get(response.location)
                html = page.get_data(as_text=True)
                stage = re.search(r'name="stage" value="([^"]+)"', html).group(1)
                response = self.client.post(response.location, data={
                    "csrf_token": csrf_token(html), "stage": stage, "decision": "allow"})
        assert response.status_code == 302, re.sub(r"\s+", " ", response.get_data(as_text=True))[-900:]
        assert response.location.startswith(self.redirect_uri), response.location
        return query(response.location)

    def exchange(self, code: str, verifier: str | None = "__own__", auth: str = "basic", **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier == "__own__":
            verifier = self.verifier
        if verifier:
            data["code_verifier"] = verifier
        data.update(extra)
        return self.token_request({k: v for k, v in data.items() if v is not None}, auth)

    def refresh(self, refresh_token: str, auth: str = "basic", **extra):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
        return self.token_request(data, auth)

    def token_request(self, data: dict, auth: str = "basic", path: str = "/token"):
        headers = {}
        if auth == "basic" and self.portal.secret:
            headers = basic_auth(self.portal.client_id, self.portal.secret)
        elif auth == "post" and self.portal.secret:
            data = {**data, "client_id": self.portal.client_id, "client_secret": self.portal.secret}
        elif auth == "none":
            data = {**data, "client_id": self.portal.client_id}
        return self.client.post(path, data=data, headers=headers)

    def login_url(self, **extra) -> str:
        """Authorize and expect to be sent to a sign-in page; returns its URL."""
        response = self.authorize(**extra)
        assert response.status_code == 302, response.status_code
        assert response.location.startswith("/login/"), response.location
        return response.location

    def callback(self, response) -> dict[str, str]:
        """The parameters a redirect back to this portal carries."""
        assert response.status_code == 302, response.status_code
        assert response.location.startswith(self.redirect_uri + "?"), response.location
        return query(response.location)

    def userinfo(self, access_token: str):
        return self.client.get("/userinfo", headers=bearer(access_token))

    def revoke(self, token: str, auth: str = "basic", **extra):
        return self.token_request({"token": token, **extra}, auth, path="/revoke")

    def introspect(self, token: str, auth: str = "basic", **extra):
        return self.token_request({"token": token, **extra}, auth, path="/introspect")

    def tokens(self, username: str, password: str, **extra) -> dict:
        callback = self.sign_in(username, password, **extra)
        response = self.exchange(callback["code"])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def decode_id_token(self, id_token: str) -> dict:
        jwks = self.client.get("/jwks.json").get_json()
        token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256", "ES256"])
        return dict(token.claims)


class OneContextPerRequest(FlaskClient):
    """Each request gets its own app context, as under a real server.

    The `app` fixture keeps an app context open for the test's own database work; without this, Flask
    would reuse it for every request, sharing `g` (CSRF token, locale) and the database session.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def browser(app) -> FlaskClient:
    """A fresh browser (its own cookie jar) talking to the app one request context at a time."""
    app.test_client_class = OneContextPerRequest
    return app.test_client()


def english_browser(app) -> FlaskClient:
    """A browser that reads English, so a test reads the msgids whatever the catalogs hold."""
    client = browser(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def tomorrow_at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant tomorrow (UTC) at a known time of day.

    Tests that need a round time travel there: relative to today and the data they made, never to a
    calendar date that will one day be in the past.
    """
    day = datetime.now(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def free_port(count: int = 1) -> int:
    """The first of `count` consecutive free ports, below the kernel's ephemeral range.

    Ports the kernel hands out (bind to 0, outgoing connections of other tests running in parallel) come
    from that range, so a block chosen there can be taken between our check and the server's bind.
    """
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    rng = random.Random()  # noqa: S311 - a port number, not a secret
    for _ in range(200):
        first = rng.randrange(10000, low - count)
        sockets = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports below {low}")


def statements_of(app, request) -> list[str]:
    """The SQL a request runs, each statement cut to its verb and table (savepoint names and values left out)."""
    from sqlalchemy import event

    from idp.extensions import db

    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        verb = words[0].upper()
        if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            return  # how a savepoint ends is the one step allowed to differ
        table = next((w for w, before in zip(words[1:], words, strict=False)
                      if before.upper() in ("FROM", "INTO", "UPDATE")), "")
        seen.append(f"{verb} {table.strip(chr(34))}")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert response.status_code == 200
    return seen
