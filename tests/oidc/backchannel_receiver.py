"""A portal's back-channel logout endpoint on a real loopback port.

It checks each logout token the way OIDC Back-Channel Logout 1.0 §2.6 tells a relying party to, against
the provider's JWKS with joserfc, answers 200 or 400 like a real portal, and records what arrived.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.helpers import ISSUER

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def validate_logout_token(token: str, jwks: dict, client_id: str, algorithms: list[str]) -> dict:
    """The claims of a valid logout token; raises ValueError (or JoseError) saying what is wrong."""
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=algorithms)
    if decoded.header.get("typ") != "logout+jwt":
        raise ValueError(f"typ is {decoded.header.get('typ')!r}")
    claims = dict(decoded.claims)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
        events={"essential": True},
    ).validate(claims)
    if set(claims["events"]) != {EVENT} or claims["events"][EVENT] != {}:
        raise ValueError(f"events is {claims['events']!r}")
    if "nonce" in claims:
        raise ValueError("a logout token must not carry a nonce")
    if not (claims.get("sid") or claims.get("sub")):
        raise ValueError("neither sid nor sub")
    return claims


class BackchannelReceiver:
    """Accepts valid logout tokens (after failing the first `fail_first` POSTs with 503)."""

    def __init__(self, client_id: str = "", jwks: dict | None = None, fail_first: int = 0,
                 algorithms: tuple[str, ...] = ("RS256",)):
        self.client_id = client_id
        self.jwks = jwks or {"keys": []}
        self.algorithms = list(algorithms)
        self.fail_first = fail_first
        self.posts: list[dict] = []  # every POST: content type and form fields
        self.accepted: list[dict] = []  # claims of tokens that passed validation
        self.rejected: list[str] = []  # why a token was refused
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bc"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                status = receiver.receive(self.path, self.headers.get("Content-Type", ""), form)
                self.send_response(status)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def receive(self, path: str, content_type: str, form: dict) -> int:
        with self._lock:
            self.posts.append({"path": path, "content_type": content_type, "form": form})
            self._lock.notify_all()
            if self.fail_first > 0:
                self.fail_first -= 1
                return 503
            try:
                claims = validate_logout_token(form.get("logout_token", ""), self.jwks, self.client_id,
                                               self.algorithms)
            except (JoseError, ValueError) as exc:
                self.rejected.append(repr(exc))
                return 400
            if any(seen["jti"] == claims["jti"] for seen in self.accepted):
                self.rejected.append("replayed jti")
                return 400
            self.accepted.append(claims)
            return 200

    def wait_for_posts(self, count: int, timeout: float = 30.0) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.posts) >= count, timeout):
                raise AssertionError(f"{len(self.posts)} POSTs arrived, not {count}")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port_uri() -> str:
    """A loopback URI where nothing listens: every POST is a connection error."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/bc"
