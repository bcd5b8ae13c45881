"""Wilma signs in to Mijn Avondrood (seed 002) in a real browser for the first time: her username and the
temporary password from the EVV'er's mail, the SMS code after the 4 digits the page already shows, then a
password of her own (at least 5 characters), its rules ticked off as she types."""

from __future__ import annotations

import re

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import screenshot
from tests.clients.conftest import start_demo_portal
from tests.mfa_helpers import latest_code, messages

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def avondrood(provider):
    running, server = start_demo_portal(provider, "demo-elderly")
    yield running
    server.stop()


@pytest.fixture
def wilma(provider, avondrood) -> dict:
    """Made by the EVV'er: username, mobile number (SMS), and a temporary password by e-mail."""
    from idp.accounts import factors
    from idp.accounts.passwords import give_temporary_password
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.portals.registry import get

    with provider.app.app_context():
        user = create_user("wilma@avondrood.example.org", None, name="Wilma Bakker", phone="+31649000001",
                           username="wbakker")
        factors.add_confirmed(user, "sms", phone_number="+31649000001", secret=None)
        give_temporary_password(user, get(avondrood.client_id))
        db.session.commit()
        db.session.remove()
    mail = messages(provider.app, to="wilma@avondrood.example.org", template="temporary_password")[0]["body"]
    temporary = re.search(r"^(\w{4}-\w{4}-\w{4})$", mail, re.MULTILINE).group(1)
    return {"username": "wbakker", "phone": "+31649000001", "temporary": temporary}


def test_temporary_password_sms_code_after_its_prefix_then_her_own_password(page, provider, avondrood, wilma):
    page.goto(avondrood.url + "/")
    assert "Mijn Avondrood" in page.title()
    screenshot(page, "elderly-01-welcome")
    page.get_by_role("link", name="Inloggen").first.click()
    page.wait_for_url(provider.issuer + "/login/**")
    assert "Zorggroep Avondrood" in page.title()
    page.get_by_label("Gebruikersnaam").fill(wilma["username"])
    page.locator("#password").fill(wilma["temporary"])
    screenshot(page, "elderly-02-username")
    assert_accessible(page, "elderly-02-username")
    page.get_by_role("button", name="Inloggen").click()

    code = page.locator("input[autocomplete=one-time-code]")
    code.wait_for()
    prefix = page.locator("#code-prefix")
    assert prefix.is_visible() and re.fullmatch(r"\d{4}-", prefix.inner_text())
    sms = messages(provider.app, to=wilma["phone"])[0]["body"]
    assert prefix.inner_text() + latest_code(provider.app, wilma["phone"]) in sms  # "1234-567890" as the SMS shows
    code.fill(latest_code(provider.app, wilma["phone"]))  # only the digits after the dash
    screenshot(page, "elderly-03-sms-prefix")
    assert_accessible(page, "elderly-03-sms-prefix")
    page.get_by_role("button", name="Bevestigen").click()

    new = page.locator("#new_password")
    new.wait_for()
    save = page.get_by_role("button", name="Nieuw wachtwoord opslaan")
    new.fill("Zon7")
    page.locator("#confirm_password").fill("Zon7")
    page.wait_for_selector("li[data-rule=min_length].unmet")
    assert save.is_disabled()  # four characters: the seed asks at least five
    new.fill("Zon7a")
    page.locator("#confirm_password").fill("Zon7a")
    page.wait_for_selector("li[data-rule=min_length].met")
    assert save.is_enabled()
    screenshot(page, "elderly-04-own-password")
    assert_accessible(page, "elderly-04-own-password")
    save.click()
    page.wait_for_url(avondrood.url + "/**")
    screenshot(page, "elderly-05-signed-in")
    assert "Goedendag, Wilma Bakker" in page.content() and "Mijn zorgplan" in page.content()
