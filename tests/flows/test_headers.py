"""Security headers on every page: a strict CSP, no framing, no sniffing, no caching of forms."""

from __future__ import annotations

import pytest

from tests.helpers import browser as isolated_client


@pytest.fixture
def client(app):
    return isolated_client(app)


def csp_of(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def assert_safe_page(response) -> None:
    assert response.mimetype == "text/html"
    csp = csp_of(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_sign_in_page_is_protected(client, rp):
    started = rp.authorize()
    page = client.get(started.location)
    assert page.status_code == 200
    assert_safe_page(page)


def test_the_sign_in_page_after_a_wrong_password_is_protected(client, rp, user):
    response = rp.submit_password(rp.authorize().location, "anna@example.org", "not it")
    assert response.status_code == 200
    assert_safe_page(response)


@pytest.mark.parametrize(("path", "status"), [
    ("/", 200),
    ("/no-such-page", 404),
    ("/login/unknown-uid", 400),
    ("/authorize?client_id=nobody&response_type=code", 400),
])
def test_every_other_page_is_protected(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert_safe_page(response)


def test_the_page_for_a_rejected_form_is_protected(client, rp):
    form = {"stage": "password", "username": "a", "password": "b"}  # no csrf_token
    response = client.post(rp.authorize().location, data=form)
    assert response.status_code == 400
    assert_safe_page(response)


def test_the_browser_session_cookie_is_http_only_and_same_site(client, rp):
    page = client.get(rp.authorize().location)
    cookie = next(c for c in page.headers.getlist("Set-Cookie") if c.startswith("idp_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_public_metadata_keeps_its_own_cache_header(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_script_and_style_are_served_from_here(client):
    served = {
        "/static/idp.js": ("text/javascript", "application/javascript"),
        "/static/idp.css": ("text/css",),
    }
    for path, mimetypes in served.items():
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype in mimetypes
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_public_documents_carry_hsts_over_https_only(client, path):
    assert "Strict-Transport-Security" not in client.get(path).headers
    secure = client.get(path, base_url="https://localhost")
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_public_documents_answer_head_without_a_body(client, path):
    full = client.get(path)
    head = client.head(path)
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == str(len(full.data))
