"""Links in mail are built from the configured issuer, never from the request's Host or X-Forwarded-Host
(issue 13): a forged Host must not turn a reset or registration link into one to the attacker's site."""

from __future__ import annotations

import re

import pytest

from tests.flows.test_registration import ask_link as ask_registration_link
from tests.flows.test_registration import choose_password, link_path
from tests.flows.test_reset import ROOMY, ask_link, save
from tests.helpers import ISSUER, RelyingParty, browser
from tests.mfa_helpers import SignIn, messages

EVIL = "evil.example"


@pytest.fixture(params=[0, 1], ids=["no proxy", "behind one proxy"])
def settings_overrides(request):
    """Behind a proxy (ProxyFix trusts one hop) the forged X-Forwarded-Host even becomes the request's host."""
    return {"limits": ROOMY, "server": {"proxy_hops": request.param}}


class ForgedHost:
    """A browser whose every request names evil.example as its host (by the URL it asks for, or by a Host header)
    and in X-Forwarded-Host."""

    def __init__(self, client, how: str):
        self.client, self.how = client, how

    def _forge(self, kwargs) -> dict:
        headers = {"X-Forwarded-Host": EVIL, **kwargs.pop("headers", {})}
        if self.how == "base_url":
            return {"base_url": f"http://{EVIL}", "headers": headers, **kwargs}
        return {"headers": {"Host": EVIL, **headers}, **kwargs}

    def get(self, *args, **kwargs):
        return self.client.get(*args, **self._forge(kwargs))

    def post(self, *args, **kwargs):
        return self.client.post(*args, **self._forge(kwargs))

    def started_honestly(self, rp: RelyingParty) -> str:
        """The portal sends the browser to the real /authorize (Authlib wants https elsewhere than localhost);
        the attacker carries its cookies on to the forged host. The sign-in page's URL."""
        url = RelyingParty(self.client, rp.portal).login_url(ui_locales="en")
        for name in ("idp_session", "idp_sso"):
            cookie = self.client.get_cookie(name, domain="localhost")
            if cookie is not None:
                self.client.set_cookie(name, cookie.value, domain=EVIL)
        return url


@pytest.fixture(params=["base_url", "Host header"])
def forged(app, request):
    return ForgedHost(browser(app), request.param)


def assert_from_the_issuer(mail: dict, path: str) -> None:
    assert EVIL not in mail["body"] and EVIL not in (mail["subject"] or "")
    assert f"{ISSUER}{path}" in mail["body"], mail["body"]
    # Every address in the mail is the issuer's.
    for url in re.findall(r"https?://[^\s<>\"]+", mail["body"]):
        assert url.startswith(ISSUER + "/"), url


def test_the_host_reaches_the_app_as_forged(app, forged):
    """The control: the forged host is what the request carries (else the tests below would prove nothing)."""
    from flask import request

    seen = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append((request.host, request.url_root)))
    assert forged.get("/reset").status_code == 200
    host, root = seen[-1]
    assert host == EVIL and root == f"http://{EVIL}/"


def test_a_reset_link_asked_for_with_a_forged_host_points_at_the_issuer(app, forged, user):
    assert ask_link(forged, user.email).status_code in (200, 302)
    [mail] = messages(app, to=user.email, template="reset_link")
    assert_from_the_issuer(mail, "/reset/")


def test_the_mail_after_a_reset_with_a_forged_host_points_at_the_issuer(app, forged, user):
    ask_link(forged, user.email)
    link = re.search(re.escape(ISSUER) + r"(/reset/[A-Za-z0-9_-]+)", messages(app, to=user.email)[0]["body"]).group(1)
    response = save(forged, link)
    assert response.status_code in (200, 302)
    [mail] = messages(app, to=user.email, template="password_reset")
    assert_from_the_issuer(mail, "/account")


def test_a_registration_link_asked_for_with_a_forged_host_points_at_the_issuer(app, forged, make_portal):
    rp = RelyingParty(forged, make_portal("Huisartsportaal", registration=True))
    uid = forged.started_honestly(rp).rsplit("/", 1)[1]
    assert ask_registration_link(forged, uid, "nieuw@example.org").status_code in (200, 302)
    [mail] = messages(app, to="nieuw@example.org", template="registration_link")
    assert_from_the_issuer(mail, "/register/")
    assert choose_password(forged, link_path(app, "nieuw@example.org")).status_code == 302


def test_a_registration_for_a_known_address_with_a_forged_host_points_at_the_issuer(app, forged, make_portal, user):
    rp = RelyingParty(forged, make_portal("Huisartsportaal", registration=True))
    uid = forged.started_honestly(rp).rsplit("/", 1)[1]
    ask_registration_link(forged, uid, user.email)
    [mail] = messages(app, to=user.email, template="already_registered")
    assert_from_the_issuer(mail, "/reset")
    assert f"{ISSUER}/account" in mail["body"]


def test_a_sign_in_code_mail_with_a_forged_host_points_at_the_issuer(app, forged, make_portal, user):
    from idp.accounts import factors
    from idp.extensions import db

    factors.add_confirmed(user, "email")
    db.session.commit()
    rp = RelyingParty(forged, make_portal("Huisarts", mfa="required"))
    sign_in = SignIn(forged, forged.started_honestly(rp))
    sign_in.password(user.email)
    assert sign_in.stage == "second_factor"
    [mail] = messages(app, to=user.email, template="login_code")
    assert_from_the_issuer(mail, "/account")
