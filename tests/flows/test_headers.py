"""Security headers on every page: a strict CSP, no framing, no sniffing, no caching of forms."""

from __future__ import annotations

from urllib.parse import urlencode

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


# --- issue 13: HSTS on pages and /token over https; the protections on every page with a form or a secret ----------

HTTPS_ISSUER = {"server": {"issuer": "https://localhost"}}


def test_html_pages_carry_hsts_over_https_only(client, rp):
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "Strict-Transport-Security" not in client.get(rp.authorize().location).headers

    home = client.get("/", base_url="https://localhost")
    assert home.status_code == 200 and home.mimetype == "text/html"
    assert home.headers["Strict-Transport-Security"].startswith("max-age=")

    query = urlencode(rp.authorize_params())
    started = client.get(f"/authorize?{query}", base_url="https://localhost")
    assert started.status_code == 302 and started.location.startswith("/login/")
    page = client.get(started.location, base_url="https://localhost")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert_safe_page(page)


@pytest.mark.parametrize("settings_overrides", [HTTPS_ISSUER])
def test_the_token_endpoint_carries_hsts_over_https(app, make_portal, user):
    from tests.flows.test_cookies_over_https import OverHttps
    from tests.helpers import RelyingParty

    portal = make_portal("Huisartsportaal", redirect_uris=["https://portal.example/callback"])
    rp = RelyingParty(OverHttps(isolated_client(app)), portal)
    callback = rp.sign_in(user.email, "correct horse battery")
    tokens = rp.exchange(callback["code"])
    assert tokens.status_code == 200 and tokens.get_json()["access_token"]
    assert tokens.headers["Strict-Transport-Security"].startswith("max-age=")
    assert tokens.headers["Cache-Control"] == "no-store"
    refused = rp.exchange(callback["code"])  # used: an error answer carries it too
    assert refused.status_code == 400
    assert refused.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_token_endpoint_carries_no_hsts_over_http(client, rp):
    response = rp.token_request({"grant_type": "authorization_code", "code": "x", "redirect_uri": rp.redirect_uri})
    assert response.status_code == 400
    assert "Strict-Transport-Security" not in response.headers


def test_the_account_pages_are_protected(client, user):
    from tests.flows.account_helpers import sign_in

    assert_safe_page(sign_in(client))
    password_page = client.get("/account/password")
    assert password_page.status_code == 200
    assert_safe_page(password_page)


def test_the_second_factor_page_is_protected(client, make_portal, user):
    from idp.accounts import factors
    from idp.extensions import db
    from tests.helpers import RelyingParty
    from tests.mfa_helpers import SignIn

    factors.add_confirmed(user, "sms", phone_number="+31612345678")
    db.session.commit()
    sign_in = SignIn(client, RelyingParty(client, make_portal(mfa="required")).login_url())
    sign_in.password(user.email)
    page = client.get(sign_in.url)
    assert page.status_code == 200 and 'name="stage" value="second_factor"' in page.get_data(as_text=True)
    assert_safe_page(page)
    wrong = sign_in.post(code="not a code")
    assert wrong.status_code == 200
    assert_safe_page(wrong)


def test_the_enrolment_and_recovery_code_pages_are_protected(client, make_portal, user):
    import re

    import pyotp

    from tests.helpers import RelyingParty
    from tests.mfa_helpers import SignIn

    sign_in = SignIn(client, RelyingParty(client, make_portal(mfa="required")).login_url())
    sign_in.password(user.email)
    assert sign_in.stage == "enrol"
    assert_safe_page(client.get(sign_in.url))
    sign_in.post(action="choose:totp")
    secret = re.search(r"data-totp-secret>([^<]+)<", sign_in.html).group(1).replace(" ", "")
    sign_in.post(action="confirm", code=pyotp.TOTP(secret).now())
    page = client.get(sign_in.url)
    assert 'name="stage" value="recovery_codes"' in page.get_data(as_text=True)
    assert "data-recovery-codes" in page.get_data(as_text=True)
    assert_safe_page(page)


def test_the_reset_link_page_is_protected(app, client, user):
    from tests.flows.test_reset import ask_link, link_in_mail

    ask_link(client, user.email)
    page = client.get(link_in_mail(app, user.email))
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)
    assert_safe_page(page)


def test_the_registration_link_page_is_protected(app, client, make_portal):
    from tests.flows.test_registration import ask_link, link_path
    from tests.helpers import RelyingParty

    rp = RelyingParty(client, make_portal("Huisartsportaal", registration=True))
    asked = client.get(f"/register?uid={rp.login_url().rsplit('/', 1)[1]}")
    assert asked.status_code == 200
    assert_safe_page(asked)
    ask_link(client, rp.login_url().rsplit("/", 1)[1], "nieuw@example.org")
    page = client.get(link_path(app, "nieuw@example.org"))
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)
    assert_safe_page(page)


def test_the_activation_link_page_is_protected(app, client):
    from idp.accounts import activation
    from idp.accounts.users import create_user
    from idp.extensions import db
    from tests.flows.test_activation import link_of

    activation.send_link(create_user("nieuw@example.org", None, email_verified=False, locale="en"))
    db.session.commit()
    page = client.get(link_of(app, "nieuw@example.org"))
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    assert_safe_page(page)


def test_the_logout_confirmation_page_is_protected(client, rp, user):
    rp.sign_in(user.email, "correct horse battery")
    page = client.get(f"/logout?client_id={rp.portal.client_id}")
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert_safe_page(page)
