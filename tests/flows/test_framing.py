"""Issue 18: clickjacking beyond the usual pages. Every GET route of the url_map (pages, the account and admin
pages, the logout and consent pages, static files, documents), the 404, the 405, a 500 from the error handler and
the CSRF refusal all forbid framing; and a GET changes no row anywhere (a cross-site top-level navigation is a
GET: it may not do what a form does). A real Chromium refusing to frame the sign-in page:
tests/browser/test_framing_browser.py."""

from __future__ import annotations

import re

import pytest

from tests.flows.test_csrf_every_form import _session, _snapshot, scene  # noqa: F401 (the shared scene fixture)
from tests.helpers import english_browser

# What each URL argument of a GET route points at in the scene (a route with an argument missing here fails).
ARGUMENTS = {
    "token": lambda s: s["email_token"], "sub": lambda s: s["nobody"], "client_id": lambda s: s["client_id"],
    "code": lambda s: "noord", "message_id": lambda s: s["message"], "uid": lambda s: "no-such-sign-in",
    "filename": lambda s: "idp.css", "path": lambda s: "Users", "delegation_id": lambda s: s["i_invited"],
}
# GET routes that may write, and why (each is a protocol step a portal starts, never a person's form):
# /authorize parks the sign-in request it answers; /account and /admin start their own sign-in the same way.
WRITES_ON_GET = {"/authorize"}


def _state() -> dict:
    """Every row but the audit trail's: a GET may record that someone read something (the audit export does)."""
    rows = _snapshot()
    rows.pop("audit_event")
    return rows


def _get_routes(app) -> list[str]:
    return sorted({r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or ())})


def _url(rule: str, scene_values: dict) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(ARGUMENTS[m.group(1)](scene_values)), rule)


def _forbids_framing(response) -> bool:
    policy = response.headers.get("Content-Security-Policy", "")
    return response.headers.get("X-Frame-Options") == "DENY" and "frame-ancestors 'none'" in policy


def test_every_get_route_forbids_framing_and_changes_nothing(app, scene):  # noqa: F811
    admin = english_browser(app)
    _session(admin, scene["dora"])
    refused = []
    for rule in _get_routes(app):  # signed in as an admin: no row changes
        url = _url(rule, scene)
        before = None if rule in WRITES_ON_GET else _state()
        response = admin.get(url)
        if not _forbids_framing(response):
            refused.append((url, response.status_code))
        if before is not None:
            assert _state() == before, url
    # A browser without a session: the account and admin pages send it to sign in (the built-in portal is
    # registered on first use), every answer forbids framing too.
    stranger = english_browser(app)
    refused += [(rule, r.status_code) for rule in _get_routes(app)
                if not _forbids_framing(r := stranger.get(_url(rule, scene)))]
    assert refused == []


@pytest.fixture
def failing_app(app):
    """The app with one route that fails (added before its first request), for the 500 page."""

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/probe-broken", "probe_broken", broken)
    return app


def test_error_pages_forbid_framing(failing_app, rp):
    client = english_browser(failing_app)
    responses = {
        "404": client.get("/no/such/page"),
        "405": client.post("/account/activity"),
        "500": client.get("/probe-broken"),
        "csrf": client.post("/reset", data={"email": "anna@example.org"}),
        "bad request": client.get(rp.login_url().replace("/login/", "/login/%00")),
        "api 404": client.get("/scim/v2/NoSuchThing"),
    }
    assert {name: r.status_code for name, r in responses.items()}["500"] == 500
    assert [name for name, r in responses.items() if not _forbids_framing(r)] == []
