"""The account pages through the test client: sign in via /account, confirm the password, read codes."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from tests.flows.page import Page, text
from tests.helpers import csrf_token

PASSWORD = "correct horse battery"


def path(location: str) -> str:
    """Redirects may name the issuer (http://localhost/...); the test client only needs path and query."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(client: FlaskClient, email: str = "anna@example.org", password: str = PASSWORD):
    """Open /account without a session and go through the normal sign-in; returns the account page."""
    response = client.get("/account")
    assert response.status_code == 302 and "/authorize?" in response.location, response.location
    response = client.get(path(response.location))
    assert response.status_code == 302 and response.location.startswith("/login/"), response.location
    login = response.location
    page = client.get(login)
    token = csrf_token(page.get_data(as_text=True))
    response = client.post(login, data={"csrf_token": token, "stage": "password",
                                        "username": email, "password": password})
    assert response.status_code == 302, text(response.get_data(as_text=True))[-500:]
    assert path(response.location).startswith("/account/callback?"), response.location
    response = client.get(path(response.location))
    assert response.status_code == 302 and path(response.location) == "/account", response.location
    page = client.get("/account")
    assert page.status_code == 200
    return page


class Account:
    """The account pages as one signed-in browser uses them; `token`: the CSRF token of the last page."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.token = ""

    def open(self, url: str = "/account"):
        page = self.client.get(url)
        assert page.status_code == 200, page.status_code
        self.token = csrf_token(page.get_data(as_text=True))
        return page

    def post(self, url: str, **data):
        """A form sent from the last page; without a password step in between."""
        if not self.token:
            self.open()
        response = self.client.post(url, data={"csrf_token": self.token, **data})
        html = response.get_data(as_text=True)
        if 'name="csrf_token"' in html:
            self.token = csrf_token(html)
        return response

    def change(self, url: str, password: str = PASSWORD, **data):
        """A change: when the password form comes up, confirm it and go on (as the form itself does)."""
        response = self.post(url, **data)
        if asks_password(response):
            carried = hidden_fields(response.get_data(as_text=True))
            response = self.post(url, **carried, password=password)
        return response


def asks_password(response) -> bool:
    html = response.get_data(as_text=True)
    return response.status_code == 200 and 'autocomplete="current-password"' in html


def hidden_fields(html: str) -> dict[str, str]:
    return {e.attrs["name"]: e.attrs.get("value", "") for e in Page(html).all("input", type="hidden")
            if e.attrs.get("name") != "csrf_token"}


def latest_message(channel: str) -> tuple[str, str | None, str]:
    """(recipient, subject, body) of the newest outbox message on this channel."""
    from idp.messaging import read
    from idp.models import OutboxMessage

    message = OutboxMessage.query.filter_by(channel=channel).order_by(OutboxMessage.id.desc()).first()
    assert message is not None, f"no {channel} message in the outbox"
    return read(message)


def templates_sent() -> list[str]:
    from idp.models import OutboxMessage

    rows = OutboxMessage.query.filter(OutboxMessage.channel.in_(("email", "sms"))).order_by(OutboxMessage.id)
    return [m.template for m in rows.all()]


def sms_code() -> str:
    _, _, body = latest_message("sms")
    return re.search(r"\b(\d{6})\b", body).group(1)


def email_code() -> str:
    _, _, body = latest_message("email")
    return re.search(r"\b([A-Z]{6})\b", body).group(1)


def recovery_codes(html: str) -> list[str]:
    return [" ".join(e.text.split()) for e in Page(html).all("code")]
