"""A strict relying party written with requests and joserfc: no Authlib, no leniency.

It fetches and checks discovery, builds code+PKCE requests, checks the authorization response (state,
RFC 9207 iss), the token response (RFC 6749 §5.1) and every ID token (jwt_checks), and calls userinfo,
refresh, revocation, introspection and end_session the way a portal would. A deviation raises
ConformanceError; HTTP calls whose outcome a test wants to judge return the raw response.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests

from tests.conformance import jwt_checks
from tests.conformance.browser import query_of
from tests.conformance.jwt_checks import ConformanceError, fail
from tests.conformance.live import Portal

REQUIRED_METADATA = (  # OIDC Discovery 1.0 §3 (REQUIRED) plus what this RP relies on
    "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
    "subject_types_supported", "id_token_signing_alg_values_supported", "userinfo_endpoint",
    "revocation_endpoint", "introspection_endpoint", "end_session_endpoint",
)
SCOPE = "openid profile email phone offline_access"


def fetch_discovery(issuer: str, http: requests.Session) -> dict:
    """OIDC Discovery 1.0 §4: GET <issuer>/.well-known/openid-configuration and check it."""
    url = issuer + "/.well-known/openid-configuration"
    response = http.get(url, timeout=10, allow_redirects=False)
    if response.status_code != 200:
        fail("Discovery §4.2", f"{url} answered {response.status_code}")
    if response.headers.get("Content-Type", "").split(";")[0] != "application/json":
        fail("Discovery §4.2", f"Content-Type is {response.headers.get('Content-Type')!r}")
    doc = response.json()
    missing = [name for name in REQUIRED_METADATA if name not in doc]
    if missing:
        fail("Discovery §3", f"missing {missing}")
    if doc["issuer"] != issuer:
        fail("Discovery §4.3", f"issuer {doc['issuer']!r} is not the URL it was fetched from ({issuer!r})")
    for name, value in doc.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            parts = urlsplit(value)
            if not value.startswith(issuer + "/") or parts.query or parts.fragment:
                fail("Discovery §3", f"{name} {value!r} is not an absolute URL under the issuer")
    for name, value in doc.items():
        if name.endswith("_supported") and isinstance(value, list) and not all(isinstance(v, str) for v in value):
            fail("Discovery §3", f"{name} must be a list of plain strings: {value!r}")
    return doc


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class AuthRequest:
    """What the RP remembers between sending the person away and their return."""

    url: str
    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    max_age: int | None = None


@dataclass
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str | None
    claims: dict
    raw: dict = field(repr=False)


class StrictRP:
    def __init__(self, issuer: str, portal: Portal, auth: str = "basic") -> None:
        self.portal = portal
        self.auth = "none" if portal.secret is None else auth
        self.http = requests.Session()
        self.metadata = fetch_discovery(issuer, self.http)
        self.issuer = self.metadata["issuer"]
        self.seen_logout_jti: set[str] = set()

    # -- JWKS -------------------------------------------------------------------------------------
    def jwks(self) -> dict:
        response = self.http.get(self.metadata["jwks_uri"], timeout=10)
        if response.status_code != 200:
            fail("§10.1.1", f"jwks_uri answered {response.status_code}")
        body = response.json()
        if not isinstance(body.get("keys"), list) or not body["keys"]:
            fail("RFC 7517 §5", f"the JWKS has no keys: {body!r}")
        return body

    # -- authorization --------------------------------------------------------------------------
    def authorization_request(self, redirect_uri: str | None = None, pkce: bool = True, **extra) -> AuthRequest:
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.portal.client_id,
            "redirect_uri": redirect_uri or self.portal.redirect_uri,
            "scope": SCOPE,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if not pkce:
            del params["code_challenge"], params["code_challenge_method"]
        params.update({k: str(v) for k, v in extra.items()})
        max_age = int(params["max_age"]) if "max_age" in params else None
        url = self.metadata["authorization_endpoint"] + "?" + urlencode(params)
        return AuthRequest(url, params["state"], params["nonce"], verifier, params["redirect_uri"], max_age)

    def authorization_response(self, callback_url: str, request: AuthRequest) -> dict:
        """Parameters of the callback, checked: our redirect_uri, our state, RFC 9207 iss."""
        if callback_url.split("?")[0] != request.redirect_uri:
            fail("RFC 6749 §3.1.2", f"returned to {callback_url!r}, not {request.redirect_uri!r}")
        params = query_of(callback_url)
        if params.get("state") != request.state:
            fail("RFC 6749 §4.1.2", f"state {params.get('state')!r} is not ours ({request.state!r})")
        if self.metadata.get("authorization_response_iss_parameter_supported") is not True:
            fail("RFC 9207 §3", "the provider does not advertise the iss parameter")
        if params.get("iss") != self.issuer:
            fail("RFC 9207 §2.4", f"iss {params.get('iss')!r} is not the issuer {self.issuer!r}")
        return params

    def code(self, callback_url: str, request: AuthRequest) -> str:
        params = self.authorization_response(callback_url, request)
        if "error" in params or not params.get("code"):
            fail("RFC 6749 §4.1.2", f"no code: {params}")
        return params["code"]

    # -- token endpoint -------------------------------------------------------------------------
    def post(self, endpoint: str, data: dict, auth: str | None = None) -> requests.Response:
        """POST a form to one of the provider's endpoints with this portal's client authentication."""
        auth = auth or self.auth
        data = dict(data)
        kwargs: dict = {}
        if auth == "basic":
            kwargs["auth"] = (self.portal.client_id, self.portal.secret)
        elif auth == "post":
            data.update(client_id=self.portal.client_id, client_secret=self.portal.secret)
        elif auth == "none":
            data["client_id"] = self.portal.client_id
        return self.http.post(self.metadata[endpoint], data=data, timeout=10, allow_redirects=False, **kwargs)

    def exchange(self, code: str, request: AuthRequest, verifier: str | None = None,
                 redirect_uri: str | None = None) -> requests.Response:
        return self.post("token_endpoint", {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or request.redirect_uri,
            "code_verifier": verifier or request.verifier,
        })

    def token_response(self, response: requests.Response, request: AuthRequest | None = None,
                       original: dict | None = None) -> Tokens:
        """RFC 6749 §5.1 and OIDC Core §3.1.3.3/§3.1.3.5, then the ID token (§3.1.3.7 or §12.2)."""
        if response.status_code != 200:
            fail("RFC 6749 §5.1", f"token endpoint answered {response.status_code}: {response.text[:300]}")
        if response.headers.get("Content-Type", "").split(";")[0] != "application/json":
            fail("RFC 6749 §5.1", f"Content-Type is {response.headers.get('Content-Type')!r}")
        if "no-store" not in response.headers.get("Cache-Control", ""):
            fail("RFC 6749 §5.1", "token response without Cache-Control: no-store")
        body = response.json()
        if str(body.get("token_type", "")).lower() != "bearer":
            fail("OIDC Core §3.1.3.3", f"token_type {body.get('token_type')!r} is not Bearer")
        if not body.get("access_token") or not body.get("id_token"):
            fail("OIDC Core §3.1.3.3", f"access_token and id_token are required: {sorted(body)}")
        if not isinstance(body.get("expires_in"), int):
            fail("RFC 6749 §5.1", f"expires_in {body.get('expires_in')!r} is not an integer")
        claims = self.check_id_token(
            body["id_token"],
            nonce=request.nonce if request else None,
            access_token=body["access_token"],
            max_age=request.max_age if request else None,
            original=original,
        )
        return Tokens(body["access_token"], body["id_token"], body.get("refresh_token"), claims, body)

    def check_id_token(self, id_token: str, **kwargs) -> dict:
        return jwt_checks.check_id_token(
            id_token, issuer=self.issuer, client_id=self.portal.client_id, alg=self.portal.id_token_alg,
            fetch_jwks=self.jwks, **kwargs,
        )

    def sign_in(self, browser, **extra) -> tuple[AuthRequest, Tokens]:
        """The whole code flow: authorize in the browser, check the callback, exchange, check tokens."""
        request = self.authorization_request(**extra)
        callback = browser.sign_in(request.url, request.redirect_uri)
        code = self.code(callback, request)
        return request, self.token_response(self.exchange(code, request), request)

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.post("token_endpoint", {"grant_type": "refresh_token", "refresh_token": refresh_token})

    # -- resources ------------------------------------------------------------------------------
    def userinfo(self, access_token: str) -> requests.Response:
        """OIDC Core §5.3.1: GET with the bearer header (what most RPs send)."""
        return self.http.get(self.metadata["userinfo_endpoint"], timeout=10,
                             headers={"Authorization": f"Bearer {access_token}"})

    def checked_userinfo(self, tokens: Tokens) -> dict:
        response = self.userinfo(tokens.access_token)
        if response.status_code != 200:
            fail("OIDC Core §5.3.2", f"userinfo answered {response.status_code}: {response.text[:300]}")
        if response.headers.get("Content-Type", "").split(";")[0] != "application/json":
            fail("OIDC Core §5.3.2", f"Content-Type is {response.headers.get('Content-Type')!r}")
        body = response.json()
        if body.get("sub") != tokens.claims["sub"]:
            fail("OIDC Core §5.3.2", f"userinfo sub {body.get('sub')!r} is not the ID token's")
        return body

    def revoke(self, token: str, hint: str | None = None) -> requests.Response:
        data = {"token": token, **({"token_type_hint": hint} if hint else {})}
        return self.post("revocation_endpoint", data)

    def introspect(self, token: str, hint: str | None = None) -> requests.Response:
        data = {"token": token, **({"token_type_hint": hint} if hint else {})}
        return self.post("introspection_endpoint", data)

    # -- logout ---------------------------------------------------------------------------------
    def end_session_url(self, **params: str) -> str:
        return self.metadata["end_session_endpoint"] + "?" + urlencode(params)

    def check_logout_token(self, token: str, id_token: dict | None = None) -> dict:
        """§2.6; with `id_token` (claims of an ID token this portal holds), also that it names that session."""
        return jwt_checks.check_logout_token(
            token, issuer=self.issuer, client_id=self.portal.client_id, alg=self.portal.id_token_alg,
            fetch_jwks=self.jwks, seen_jti=self.seen_logout_jti, id_token=id_token,
        )


__all__ = ["AuthRequest", "ConformanceError", "StrictRP", "Tokens", "fetch_discovery", "pkce_pair"]
