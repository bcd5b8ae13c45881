"""Mila starts with Mijn Helder (seed 004) in a real browser: the activation link, her date of birth, a password of
at least 12 characters with a special character (the button waits until the rules are ticked off), then her first
sign-in with her username and a 6-letter code by e-mail, trusting this computer for a week."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import link_in_mail, screenshot
from tests.clients.conftest import start_demo_portal
from tests.mfa_helpers import latest_code

pytestmark = pytest.mark.slow
PASSWORD = "Zeewind!Helder-2026"


@pytest.fixture(scope="module")
def helder(provider):
    running, server = start_demo_portal(provider, "demo-ggz")
    yield running
    server.stop()


@pytest.fixture
def mila(provider, helder) -> dict:
    """Made by the organisation with her date of birth; the activation link is mailed for Mijn Helder."""
    from idp.accounts import activation
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.portals.registry import get

    with provider.app.app_context():
        user = create_user("mila@helder.example.org", None, name="Mila Visser", username="mvisser",
                           date_of_birth=date(1987, 4, 12), email_verified=False)
        activation.send_link(user, client=get(helder.client_id))
        db.session.commit()
        db.session.remove()
    return {"email": "mila@helder.example.org", "username": "mvisser"}


def test_activation_with_date_of_birth_a_strong_password_then_a_letter_code(page, provider, helder, mila):
    page.goto(link_in_mail(provider, mila["email"], "activation"))
    assert "GGZ Helder" in page.title()
    page.get_by_label("Geboortedatum").fill("12-04-1987")
    screenshot(page, "ggz-01-birth-date")
    assert_accessible(page, "ggz-01-birth-date")
    page.get_by_role("button", name="Volgende").click()

    new = page.locator("#new_password")
    new.wait_for()
    save = page.get_by_role("button", name="Wachtwoord opslaan")
    new.fill("zeewindhelder2026")  # long enough, but no special character
    page.locator("#confirm_password").fill("zeewindhelder2026")
    page.wait_for_selector("li[data-rule=special].unmet")
    assert page.locator("li[data-rule=min_length].met").is_visible() and save.is_disabled()
    new.fill(PASSWORD)
    page.locator("#confirm_password").fill(PASSWORD)
    page.wait_for_selector("li[data-rule=special].met")
    assert save.is_enabled()
    screenshot(page, "ggz-02-password-feedback")
    assert_accessible(page, "ggz-02-password-feedback")
    save.click()

    page.get_by_role("link", name="Naar Mijn Helder").click()  # its /login: straight to the sign-in
    page.wait_for_url(provider.issuer + "/login/**")
    page.get_by_label("Gebruikersnaam").fill(mila["username"])
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("button", name="Per e-mail").click()  # the e-mail code is her way in (or the app)

    code = page.locator("input[autocomplete=one-time-code]")
    code.wait_for()
    letters = latest_code(provider.app, mila["email"])
    assert re.fullmatch(r"[A-Z]{6}", letters)
    code.fill(letters.lower())  # typed in any case
    screenshot(page, "ggz-03-letter-code")
    assert_accessible(page, "ggz-03-letter-code")
    page.get_by_role("button", name="Bevestigen").click()
    page.get_by_role("button", name="Ik heb deze codes bewaard").click()
    page.wait_for_url(helder.url + "/**")
    assert "Hoi Mila Visser" in page.content()

    # Next time: the password, then the code by e-mail with "trust this computer for a week" ticked ...
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(helder.url + "/**")
    page.goto(helder.url + "/login")
    page.get_by_label("Gebruikersnaam").fill(mila["username"])
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    code.wait_for()
    page.get_by_label("Deze computer 7 dagen vertrouwen").check()
    code.fill(latest_code(provider.app, mila["email"]))
    screenshot(page, "ggz-04-trust-this-computer")
    assert_accessible(page, "ggz-04-trust-this-computer")
    page.get_by_role("button", name="Bevestigen").click()
    page.wait_for_url(helder.url + "/**")

    # ... and the time after that, only the password on this computer.
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(helder.url + "/**")
    page.goto(helder.url + "/login")
    page.get_by_label("Gebruikersnaam").fill(mila["username"])
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(helder.url + "/**")
    screenshot(page, "ggz-05-signed-in")
    assert "vertrouwde computer" in page.content()
