"""Browser tests: Debian's Chromium (/usr/bin/chromium, never a downloaded browser) driven by Playwright, against
the provider and a portal served on real loopback ports (the fixtures of tests/clients)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.clients.conftest import (  # noqa: F401  (fixtures shared with tests/clients)
    PASSWORD,
    delegating_portal,
    family,
    make_person,
    ordering_portal,
    ordering_portal_without_mfa,
    patient,
    portal,
    provider,
    second_portal,
)
from tests.mfa_helpers import latest_code, messages

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():  # .ci/run installs it whenever this folder exists: there, missing is a failure
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed at /usr/bin/chromium, and CI must run the browser tests")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    """A fresh browser context per test (its own cookie jar); every page it shows must log no console error."""
    context = chromium.new_context(locale="nl-NL")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda message: message.type == "error" and tab.console_errors.append(
        f"{tab.url}: {message.text}"))
    tab.on("pageerror", lambda error: tab.console_errors.append(f"{tab.url}: {error}"))
    yield tab
    context.close()
    assert tab.console_errors == [], "the browser console logged errors"


def screenshot(tab, name: str) -> None:
    """Each step leaves a picture a person can look at (tests/browser/artifacts, git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# --- steps a person takes; each leaves a screenshot ------------------------------------------------------

def enter_password(tab, provider, email: str, password: str = PASSWORD, shot: str | None = None) -> None:
    """On the provider's sign-in page: type the e-mail address and password, press Inloggen."""
    tab.wait_for_url(provider.issuer + "/login/**")
    tab.get_by_label("E-mailadres of gebruikersnaam").fill(email)
    tab.locator("#password").fill(password)
    if shot:
        screenshot(tab, shot)
    with tab.expect_navigation():  # the POST always leads to a new page (next step, error, or the portal)
        tab.get_by_role("button", name="Inloggen").click()


def enter_code(tab, code: str, trust: bool = False, shot: str | None = None) -> None:
    """On the provider's second-factor page: type the code (tick "trust this computer" when asked), confirm."""
    field = tab.locator("input[autocomplete=one-time-code]")
    field.wait_for()
    field.fill(code)
    if trust:
        tab.locator("input[name=trust]").check()
    if shot:
        screenshot(tab, shot)
    tab.get_by_role("button", name="Bevestigen").click()


def sms_code(provider, phone: str) -> str:
    """The code in the newest SMS to this number, as the outbox (the development inbox) holds it."""
    return latest_code(provider.app, phone)


def link_in_mail(provider, to: str, template: str) -> str:
    """The provider link in the newest mail of this kind to this address."""
    body = messages(provider.app, to=to, template=template)[0]["body"]
    found = re.search(re.escape(provider.issuer) + r"/[^\s<>\"]+", body)
    assert found, f"no link in the {template} mail: {body[:300]}"
    return found.group(0)


def cli(provider, *args: str):
    """Run `idp <args>` against the running provider's database, as an administrator would; must succeed."""
    result = provider.app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result
