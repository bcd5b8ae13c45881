"""A NUL byte or another control character in any parameter is refused at the edge (issue 13): a clear page, or
the OAuth error on the machine endpoints, never a 500 (PostgreSQL refuses NUL in text) and never after the
person typed their password."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import PendingAuthorization

REFUSED = "This link or form contains characters that cannot be used."


def parked_requests() -> int:
    return db.session.scalar(select(func.count()).select_from(PendingAuthorization))


@pytest.mark.parametrize("query", ["client_id=a%00b", "client_id=a%01b&response_type=code", "scope=openid%7F"])
def test_a_control_character_in_an_authorization_request_gets_a_clear_page(client, query):
    response = client.get(f"/authorize?{query}", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["nonce", "claims_locales", "state"])
def test_a_crafted_parameter_on_a_valid_request_is_refused_before_the_password(client, rp, name):
    before = parked_requests()
    response = client.get("/authorize?" + urlencode(rp.authorize_params(**{name: "a\x00b"})),
                          headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert parked_requests() == before  # no sign-in was started that could only fail later


def test_logout_with_a_nul_client_id_gets_a_clear_page(client):
    response = client.get("/logout?client_id=%00", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)


def test_the_token_endpoint_refuses_a_nul_in_the_basic_credentials_with_invalid_request(client, portal):
    credentials = base64.b64encode(f"{portal.client_id}\x00:{portal.secret}".encode()).decode()
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "x"},
                           headers={"Authorization": f"Basic {credentials}"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_a_form_field_with_a_nul_is_refused_before_csrf_or_the_account_is_looked_up(client, rp, user):
    sign_in = client.get("/authorize?" + urlencode(rp.authorize_params()))
    response = client.post(sign_in.location, data={"stage": "password", "username": "a\x00" + user.email,
                                                   "password": "x"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)


def test_tabs_and_newlines_are_ordinary_text(client, rp):
    response = client.get("/authorize?" + urlencode(rp.authorize_params(state="a\tb\nc")))
    assert response.status_code == 302


@pytest.mark.parametrize("max_age", ["²", "\u0663", "1\u0660", "-1", "1.5"])
def test_max_age_is_ascii_digits_only_even_for_a_signed_in_browser(client, rp, user, max_age):
    rp.sign_in(user.email, "correct horse battery")  # a live session: the policy would read max_age
    response = client.get("/authorize?" + urlencode(rp.authorize_params(max_age=max_age)))
    assert response.status_code == 302
    assert "error=invalid_request" in response.location and "code=" not in response.location
