"""Discovery and JWKS answered from memory in front of Flask: the most requested, least personal endpoints.

They need no session, CSRF, locale, rate limit or audit, so they skip that per-request work (bench/ shows
it costs more than the answer itself). The bytes are built once; the JWKS follows KeyRing's reloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

from idp.oidc.discovery import PATHS
from idp.oidc.keys import KeyRing
from idp.security.crypto import DecryptionError
from idp.settings import JWKS_CACHE_SECONDS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = PATHS["jwks_uri"]
CACHE = f"public, max-age={JWKS_CACHE_SECONDS}"


class PublicDocuments:
    def __init__(self, app: Flask, wsgi_app: WSGIApplication, security_headers: list[tuple[str, str]], hsts: str):
        self._app = app
        self._hsts = hsts
        self._next = wsgi_app
        self._keys: KeyRing = app.extensions["idp.keys"]
        self._discovery: bytes = app.extensions["idp.discovery"]
        self._headers = [
            ("Content-Type", "application/json"),
            ("Cache-Control", CACHE),
            ("Access-Control-Allow-Origin", "*"),
            *security_headers,
        ]

    def _jwks(self) -> bytes | None:
        """The key set; None when it cannot be built (a stored key no configured encryption key opens)."""
        if self._keys.stale():
            with self._app.app_context():  # a reload reads the database
                try:
                    return self._keys.jwks_json()
                except DecryptionError as exc:
                    self._app.logger.error("the signing keys cannot be decrypted: %s", exc)
                    return None
        return self._keys.cached_jwks_json()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "HEAD") or path not in (DISCOVERY_PATH, JWKS_PATH):
            return self._next(environ, start_response)
        body = self._discovery if path == DISCOVERY_PATH else self._jwks()
        if body is None:  # never a half-empty key set that portals would cache
            return self._unavailable(start_response)
        headers = [*self._headers, ("Content-Length", str(len(body)))]
        if environ.get("wsgi.url_scheme") == "https":  # set by ProxyFix behind a TLS proxy
            headers.append(("Strict-Transport-Security", self._hsts))
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else body]

    def _unavailable(self, start_response: StartResponse) -> Iterable[bytes]:
        body = b'{"error":"temporarily_unavailable"}'
        start_response("503 Service Unavailable", [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                                                   ("Content-Length", str(len(body)))])
        return [body]
