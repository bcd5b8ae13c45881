"""CSRF tokens live as long as a sign-in may take, and over https a form must come from our own pages
(Flask-WTF's Referer check; our Referrer-Policy sends the Referer to ourselves only) (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import csrf_token
from tests.mfa_helpers import messages

HTTPS = "https://localhost"


def reset_form(client, **kwargs) -> str:
    return csrf_token(client.get("/reset", **kwargs).get_data(as_text=True))


def test_a_token_older_than_a_sign_in_may_take_is_refused_and_nothing_is_sent(
        app, client, settings, user, frozen, time_machine):
    token = reset_form(client)
    time_machine.shift(timedelta(minutes=settings.session.login_minutes, seconds=1))
    response = client.post("/reset", data={"csrf_token": token, "email": user.email},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "This page was open too long" in response.get_data(as_text=True)
    assert not messages(app, template="reset_link")


def test_a_token_within_its_life_still_works(app, client, settings, user, frozen, time_machine):
    token = reset_form(client)
    time_machine.shift(timedelta(minutes=settings.session.login_minutes, seconds=-5))
    client.post("/reset", data={"csrf_token": token, "email": user.email})
    assert messages(app, to=user.email, template="reset_link")


@pytest.fixture
def settings_overrides(request):
    return {"server": {"issuer": HTTPS}} if "https" in request.node.name else {}


def test_over_https_a_form_posted_without_our_referer_is_refused(app, client, user):
    token = reset_form(client, base_url=HTTPS)
    for headers in ({}, {"Referer": "https://evil.example/reset"}):
        response = client.post("/reset", data={"csrf_token": token, "email": user.email}, base_url=HTTPS,
                               headers={"Accept-Language": "en", **headers})
        assert response.status_code == 400
        assert "This page was open too long" in response.get_data(as_text=True)
    assert not messages(app, template="reset_link")


def test_over_https_a_form_from_our_own_page_goes_through(app, client, user):
    token = reset_form(client, base_url=HTTPS)
    page = client.get("/reset", base_url=HTTPS)
    assert page.headers["Referrer-Policy"] == "same-origin"
    client.post("/reset", data={"csrf_token": token, "email": user.email}, base_url=HTTPS,
                headers={"Referer": f"{HTTPS}/reset"})
    assert messages(app, to=user.email, template="reset_link")
