"""Errors a person can cause get a clear page in their language and change nothing; no traceback, ever."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AuditEvent, SsoSession
from tests.flows.page import text
from tests.helpers import browser as isolated_client
from tests.helpers import csrf_token


@pytest.fixture
def client(app):
    return isolated_client(app)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def sign_in_form(rp, client, headers=None):
    login_url = rp.authorize().location
    page = client.get(login_url, headers=headers or {})
    return login_url, csrf_token(page.get_data(as_text=True))


@pytest.mark.parametrize("token", [None, "forged-token", "0" * 40])
def test_a_form_without_a_valid_csrf_token_is_refused_and_changes_nothing(client, rp, user, token):
    login_url, _ = sign_in_form(rp, client)
    events_before = count(AuditEvent)
    data = {"stage": "password", "username": "anna@example.org", "password": "correct horse battery"}
    if token:
        data["csrf_token"] = token
    response = client.post(login_url, data=data)

    assert response.status_code == 400
    words = text(response.get_data(as_text=True))
    assert "Deze pagina stond te lang open" in words
    assert "Er is niets veranderd." in words
    assert count(SsoSession) == 0
    assert count(AuditEvent) == events_before  # the password was not even checked
    assert not any(c.startswith("idp_sso=") for c in response.headers.getlist("Set-Cookie"))
    still = client.get(login_url)  # the sign-in can simply go on
    assert still.status_code == 200 and 'name="stage" value="password"' in still.get_data(as_text=True)


def test_the_csrf_page_speaks_the_persons_language(client, rp, user):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login_url, _ = sign_in_form(rp, client)
    response = client.post(login_url, data={"stage": "password", "username": "anna@example.org"})
    assert response.status_code == 400
    assert "This page was open too long" in text(response.get_data(as_text=True))


def test_a_portal_calls_the_revocation_endpoint_without_a_csrf_token(client, portal):
    """The OAuth endpoints are for portals' servers: client authentication protects them, not CSRF."""
    basic = base64.b64encode(f"{portal.client_id}:{portal.secret}".encode()).decode()
    response = client.post("/revoke", data={"token": "no-such-token"},
                           headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200


def test_a_missing_page_is_explained_in_dutch(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    words = text(response.get_data(as_text=True))
    assert "Pagina niet gevonden" in words and "De pagina die u zoekt, bestaat niet." in words


def test_a_missing_page_is_explained_in_english_to_an_english_browser(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert response.status_code == 404
    assert "Page not found" in text(response.get_data(as_text=True))


def _add_failing_routes(app) -> None:
    def fail():
        raise RuntimeError("database password hunter2 leaked in a traceback")

    app.add_url_rule("/broken-page", "broken_page", fail)
    app.add_url_rule("/token/broken", "broken_token", fail)


def test_a_failing_page_shows_a_calm_page_without_a_traceback(app, client):
    _add_failing_routes(app)
    response = client.get("/broken-page")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    words = text(body)
    assert "Er ging iets mis" in words and "Dit ligt niet aan u." in words
    for leak in ("Traceback", "RuntimeError", "hunter2", "File \"", "line "):
        assert leak not in body
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_failing_page_speaks_english_to_an_english_browser(app, client):
    _add_failing_routes(app)
    response = client.get("/broken-page", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong" in text(response.get_data(as_text=True))


def test_a_failing_oauth_endpoint_answers_server_error_in_json(app, client):
    _add_failing_routes(app)
    response = client.get("/token/broken")
    assert response.status_code == 500
    assert response.get_json() == {"error": "server_error"}
    assert "hunter2" not in response.get_data(as_text=True)


def test_a_wrong_method_on_an_oauth_endpoint_answers_in_json(client):
    response = client.get("/revoke")
    assert response.status_code == 405
    assert response.get_json()["error"] == "invalid_request"
