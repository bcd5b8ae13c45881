"""What the load generator's connections do: each function returns a factory of per-connection scripts.

A script behaves like one client of the provider: a portal asking for tokens, or a browser signing in
(cookies, CSRF token, PKCE), so the numbers include everything a real sign-in costs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from loadgen import Factory, Recorder, Request, Response

_CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Portal:
    client_id: str
    client_secret: str
    redirect_uri: str

    def basic(self) -> str:
        # RFC 6749 §2.3.1: form-encode both parts before Basic.
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(pair.encode()).decode()


@dataclass
class Person:
    login: str
    password: str


@dataclass
class Browser:
    """A cookie jar: the provider binds a sign-in to the browser (idp_session) and SSO to idp_sso."""

    cookies: dict[str, str] = field(default_factory=dict)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def take(self, response: Response) -> None:
        for line in response.headers.get("set-cookie", []):
            pair = line.split(";", 1)[0]
            name, _, value = pair.partition("=")
            gone = value in ("", '""') or "max-age=0" in line.lower()
            if gone:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value


class FlowError(Exception):
    """A step of a flow answered something a correct provider would not."""


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _expect(response: Response | None, status: int, step: str) -> Response:
    if response is None:
        raise FlowError(f"{step}: connection failed")
    if response.status != status:
        raise FlowError(f"{step}: HTTP {response.status}")
    return response


def sign_in(portal: Portal, person: Person, browser: Browser, scope: str = "openid offline_access"):
    """authorize -> (password page -> password) -> code -> token. Returns the token response as a dict.

    With a live SSO cookie in `browser` the provider skips the password and answers with a code at once.
    """
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    query = urlencode({
        "response_type": "code", "client_id": portal.client_id, "redirect_uri": portal.redirect_uri,
        "scope": scope, "state": state, "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    response = _expect((yield Request("GET", f"/authorize?{query}", browser.headers())), 302, "authorize")
    browser.take(response)
    location = response.header("location") or ""
    if not location.startswith(portal.redirect_uri):
        page = _path(location)
        response = _expect((yield Request("GET", page, browser.headers())), 200, "login page")
        browser.take(response)
        match = _CSRF.search(response.body.decode("utf-8", "replace"))
        if match is None:
            raise FlowError("login page: no csrf_token")
        form = urlencode({"csrf_token": match.group(1), "stage": "password",
                          "username": person.login, "password": person.password}).encode()
        response = _expect((yield Request("POST", page, browser.headers(_FORM), form)), 302, "password")
        browser.take(response)
        location = response.header("location") or ""
    if not location.startswith(portal.redirect_uri):
        raise FlowError(f"password: redirected to {location[:60]!r}")
    params = parse_qs(urlsplit(location).query)
    if params.get("state") != [state] or "code" not in params:
        raise FlowError("redirect: no code or wrong state")
    body = urlencode({"grant_type": "authorization_code", "code": params["code"][0],
                      "redirect_uri": portal.redirect_uri, "code_verifier": verifier}).encode()
    response = _expect((yield Request("POST", "/token", {**_FORM, "Authorization": portal.basic()}, body)),
                       200, "code exchange")
    return json.loads(response.body)


# --- factories: one script per connection ------------------------------------------------------

def static_get(path: str) -> Factory:
    request = Request("GET", path)

    def script(index: int, rec: Recorder):
        while True:
            response = yield request
            if response is not None and response.status != 200:
                rec.error(f"HTTP {response.status}")

    return script


def client_credentials(service: Portal) -> Factory:
    body = urlencode({"grant_type": "client_credentials"}).encode()
    request = Request("POST", "/token", {**_FORM, "Authorization": service.basic()}, body)

    def script(index: int, rec: Recorder):
        while True:
            response = yield request
            if response is not None and response.status != 200:
                rec.error(f"HTTP {response.status}")

    return script


def userinfo(access_tokens: list[str]) -> Factory:
    def script(index: int, rec: Recorder):
        request = Request("GET", "/userinfo", {"Authorization": f"Bearer {access_tokens[index % len(access_tokens)]}"})
        while True:
            response = yield request
            if response is not None and response.status != 200:
                rec.error(f"HTTP {response.status}")

    return script


def refresh(portal: Portal, chains: list[str]) -> Factory:
    """Each connection follows its own rotation chain: a refresh token is good for one use only."""

    def script(index: int, rec: Recorder):
        token = chains[index]
        while True:
            body = urlencode({"grant_type": "refresh_token", "refresh_token": token}).encode()
            response = yield Request("POST", "/token", {**_FORM, "Authorization": portal.basic()}, body)
            if response is None or response.status != 200:
                # The chain's state is unknown now (a resend could trip reuse detection): retire it.
                rec.error("refresh chain broken" if response is None else f"HTTP {response.status}")
                return
            token = json.loads(response.body)["refresh_token"]
            chains[index] = token

    return script


def sign_ins(portal: Portal, people: list[Person]) -> Factory:
    """Complete sign-ins by fresh browsers (no SSO cookie): every one checks a password."""

    def script(index: int, rec: Recorder):
        person = people[index % len(people)]
        while True:
            started = time.perf_counter()
            try:
                tokens = yield from sign_in(portal, person, Browser())
            except FlowError as error:
                rec.error(str(error))
                continue
            if "id_token" not in tokens:
                rec.error("no id_token")
                continue
            rec.flow(started)

    return script


def grants(portal: Portal, person: Person, per_connection: int, into: list[dict]) -> Factory:
    """Setup: sign in once per connection, then reuse SSO for more grants; each grant starts a chain."""

    def script(index: int, rec: Recorder):
        browser = Browser()
        for _ in range(per_connection):
            try:
                into.append((yield from sign_in(portal, person, browser)))
            except FlowError as error:
                rec.error(str(error))
                return

    return script
