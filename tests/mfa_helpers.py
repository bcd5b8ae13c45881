"""Second-factor test helpers: read what the outbox sent, and walk the sign-in pages stage by stage."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from tests.helpers import csrf_token, query

SMS_CODE = re.compile(r"\b(?:\d{4}-)?(\d{6,10})\b")
EMAIL_CODE = re.compile(r"\b([ACDEFGHJKLMNPQRTUVWXY]{6,10})\b")


def messages(app, to: str | None = None, template: str | None = None) -> list[dict]:
    """E-mails and SMS in the outbox, newest first, decrypted."""
    from idp.messaging import read
    from idp.models import OutboxMessage

    with app.app_context():
        rows = app.extensions["sqlalchemy"].session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel.in_(("email", "sms"))).order_by(OutboxMessage.id.desc()))
        found = []
        for row in rows:
            recipient, subject, body = read(row)
            if (to is None or recipient == to) and (template is None or row.template == template):
                found.append({"to": recipient, "subject": subject, "body": body, "template": row.template,
                              "channel": row.channel})
        return found


def latest_code(app, to: str) -> str:
    """The code in the newest message to this phone number or address."""
    message = messages(app, to=to)[0]
    pattern = SMS_CODE if message["channel"] == "sms" else EMAIL_CODE
    return pattern.search(message["body"]).group(1)


def stage_of(html: str) -> str:
    return re.search(r'name="stage" value="([^"]+)"', html).group(1)


class SignIn:
    """One person signing in through the stage pages of one parked request."""

    def __init__(self, client, url: str):
        self.client, self.url = client, url
        self.response = None

    def page(self) -> str:
        response = self.client.get(self.url)
        assert response.status_code == 200, (response.status_code, response.location)
        return response.get_data(as_text=True)

    @property
    def stage(self) -> str:
        return stage_of(self.page())

    def post(self, **data):
        html = self.page()
        self.response = self.client.post(self.url, data={"csrf_token": csrf_token(html), "stage": stage_of(html),
                                                          **data})
        return self.response

    def password(self, username: str, password: str = "correct horse battery"):
        return self.post(username=username, password=password)

    @property
    def html(self) -> str:
        return self.response.get_data(as_text=True)

    def finished(self, redirect_uri: str) -> dict:
        """Follow the redirects after a stage; the portal's callback parameters."""
        response = self.response
        while response.status_code == 302 and response.location.startswith("/login/"):
            response = self.client.get(response.location)
        assert response.status_code == 302, response.get_data(as_text=True)[-600:]
        assert response.location.startswith(redirect_uri), response.location
        return query(response.location)


def totp_now(secret: str, at=None) -> str:
    return pyotp.TOTP(secret).at(at) if at is not None else pyotp.TOTP(secret).now()
