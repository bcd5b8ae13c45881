"""Issue 18: the provider in production mode (not dev: https issuer, named transports, JSON logs) through an
activation with a date of birth, a sign-in with password and SMS code at a portal, and a password reset; the log
lines it wrote hold no password, code, token, link secret, session id, date of birth, e-mail address or phone
number, and its instance folder is 0700 with every file in it 0600.

The provider logs to standard error only (no log file of its own: the service manager keeps it); the test sends
the lines, through the provider's own formatter and filter (idp/logs.py), to a file."""

from __future__ import annotations

import logging
import logging.config
import os
import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from idp import logs
from tests.flows.test_cookies_over_https import OverHttps
from tests.helpers import RelyingParty, browser, csrf_token
from tests.mfa_helpers import SignIn, latest_code, messages

ISSUER = "https://localhost"
PHONE = "+31612345678"
EMAIL = "anna.de.vries@example.org"
PASSWORD, NEW_PASSWORD = "Blauwe fiets 42 lente", "Groene tram 17 zomer"


@pytest.fixture
def settings_overrides():
    return {"server": {"dev_mode": False, "issuer": ISSUER, "hash_key": "h" * 40},
            "keys": {"publish_seconds": 86400},
            "messaging": {"email_transport": "file", "sms_transport": "file"},
            "accounts": {"activation_phone": False}, "logging": {"format": "json"}}


@pytest.fixture
def log_file(app, settings, tmp_path_factory):
    """The provider's logging configuration (JSON, secrets redacted), its handler writing to a file (outside the
    instance folder: the service manager's, not the provider's)."""
    path = tmp_path_factory.mktemp("logs") / "server.log"
    configured = logs.config(settings.logging.format)
    configured["handlers"]["stderr"] = {"class": "logging.FileHandler", "filename": str(path),
                                        "formatter": "main", "filters": ["context"]}
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    logging.config.dictConfig(configured)
    yield path
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(before[0])
    for handler in before[1]:
        root.addHandler(handler)


def _post(browser, url: str, **data):
    page = browser.get(url)
    assert page.status_code == 200, page.status_code
    return browser.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **data})


def test_production_logs_hold_no_secret_and_no_personal_data(app, log_file, make_portal, settings):
    from datetime import date

    from idp.accounts import activation, factors
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.models import SsoSession

    assert not settings.server.dev_mode and settings.logging.format == "json"
    born = date(1950, 3, 15)
    user = create_user(EMAIL, None, email_verified=False, date_of_birth=born, phone=PHONE, locale="en")
    activation.send_link(user)
    db.session.commit()
    secrets_used = {"password": PASSWORD, "new password": NEW_PASSWORD, "e-mail": EMAIL, "phone": PHONE,
                    "phone digits": PHONE[1:], "date of birth": "15-03-1950", "date of birth iso": born.isoformat()}

    link = re.search(r"https://localhost(/activate/[A-Za-z0-9_-]+)",
                     messages(app, to=EMAIL, template="activation")[0]["body"]).group(1)
    secrets_used["activation link"] = link.rsplit("/", 1)[1]
    person = OverHttps(browser(app))
    assert _post(person, link, step="birth_date", birth_date="16-03-1950").status_code == 200  # a wrong one
    assert _post(person, link, step="birth_date", birth_date="15-03-1950").status_code == 303
    assert _post(person, link, step="password", new_password=PASSWORD, confirm_password=PASSWORD).status_code == 200
    factors.add_confirmed(user, "sms", phone_number=PHONE)
    db.session.commit()

    portal = make_portal("Huisartsportaal", redirect_uris=["https://portal.example/callback"], mfa="required",
                         post_logout_redirect_uris=["https://portal.example/bye"],
                         mfa_factors=["sms"])
    rp = RelyingParty(OverHttps(browser(app)), portal)
    sign_in = SignIn(rp.client, rp.login_url())
    sign_in.response = rp.submit_password(sign_in.url, EMAIL, PASSWORD)
    assert sign_in.stage == "second_factor", re.sub(r"\s+", " ", sign_in.html)[-1500:]  # the page sends the code
    secrets_used["sms code"] = latest_code(app, PHONE)
    sign_in.post(code=secrets_used["sms code"])
    callback = sign_in.finished(rp.redirect_uri)
    tokens = rp.exchange(callback["code"]).get_json()
    secrets_used.update({"authorization code": callback["code"], "access token": tokens["access_token"],
                         "id token": tokens["id_token"], "client secret": portal.secret})
    secrets_used["session id"] = db.session.scalar(db.select(SsoSession.sid))
    cookie = rp.client.client.get_cookie("__Host-idp_sso")
    secrets_used["session cookie"] = cookie.value

    other = OverHttps(browser(app))
    assert _post(other, "/reset", email=EMAIL).status_code == 200
    reset = re.search(r"https://localhost(/reset/[A-Za-z0-9_-]+)",
                      messages(app, to=EMAIL, template="reset_link")[0]["body"]).group(1)
    secrets_used["reset link"] = reset.rsplit("/", 1)[1]
    other.get(reset)
    assert _post(other, reset, new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD).status_code in (200, 302,
                                                                                                      303)
    # A delivery that fails the way an SMTP server refuses, naming the recipient: the queue logs the refusal.
    logging.getLogger("idp.messaging.queue").info("delivery %s (%s) failed, attempt %d: %s", 7, "email", 1,
                                                  f"(550, b'5.1.1 <{EMAIL}>: Recipient address rejected')")
    logging.getLogger("idp.messaging.queue").info("delivery %s (%s) failed, attempt %d: %s", 8, "sms", 1,
                                                  f"gateway refused 06 12345678 and {PHONE}")

    for handler in logging.getLogger().handlers:
        handler.flush()
    written = log_file.read_text()
    assert written.count('"logger": "idp.audit"') >= 8  # the audit lines of all of the above are there
    for name, secret in secrets_used.items():
        assert secret not in written, name
    assert "12345678" not in written
    assert "@example.org" in written  # the domain of an address stays: it says which mail provider refused

    instance = Path(app.instance_path)
    assert stat.S_IMODE(os.stat(instance).st_mode) == 0o700
    for path in instance.rglob("*"):
        wanted = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(os.stat(path).st_mode) == wanted, path


def test_a_database_error_in_the_log_shows_no_values(tmp_path):
    """An unexpected database error is logged with its traceback (idp/web/site.py); its statement's values (an
    address, a hash, a ciphertext) are not shown."""
    from idp.app import engine_options

    url = f"sqlite:///{tmp_path}/x.db"
    engine = create_engine(url, **engine_options(url))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE person (email TEXT UNIQUE)"))
        connection.execute(text("INSERT INTO person VALUES (:e)"), {"e": EMAIL})
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(text("INSERT INTO person VALUES (:e)"), {"e": EMAIL})
    assert EMAIL not in str(raised.value)
    engine.dispose()
