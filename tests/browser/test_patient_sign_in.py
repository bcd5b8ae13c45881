"""A patient signs in to the GP practice's portal in a real browser: password (with the eye toggle), SMS code."""

from __future__ import annotations

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import screenshot
from tests.clients.conftest import PASSWORD
from tests.mfa_helpers import latest_code

pytestmark = pytest.mark.slow


def test_password_and_sms_code_in_chromium(page, provider, portal, patient):
    page.goto(portal.url + "/")
    screenshot(page, "01-portal-welcome")
    page.get_by_role("link", name="Inloggen").first.click()
    page.wait_for_url(provider.issuer + "/login/**")
    page.get_by_label("E-mailadres of gebruikersnaam").fill(patient.email)
    password = page.locator("#password")
    password.fill(PASSWORD)
    eye = page.get_by_role("button", name="Wachtwoord tonen")
    eye.click()  # the eye shows the password, and hides it again
    assert password.get_attribute("type") == "text" and eye.get_attribute("aria-pressed") == "true"
    eye.click()
    assert password.get_attribute("type") == "password"
    screenshot(page, "02-provider-password")
    assert_accessible(page, "02-provider-password")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_selector("input[autocomplete=one-time-code]")
    screenshot(page, "03-provider-sms-code")
    assert_accessible(page, "03-provider-sms-code")
    page.locator("input[autocomplete=one-time-code]").fill(latest_code(provider.app, patient.phone))
    page.get_by_role("button", name="Bevestigen").click()
    page.wait_for_url(portal.url + "/**")
    screenshot(page, "04-portal-signed-in")
    assert "Petra Patiënt" in page.content() and "sms-code" in page.content()
    assert page.console_errors == []
