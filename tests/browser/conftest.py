"""Browser tests: Debian's Chromium (/usr/bin/chromium, never a downloaded browser) driven by Playwright, against
the provider and a portal served on real loopback ports (the fixtures of tests/clients)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clients.conftest import patient, portal, provider  # noqa: F401  (fixtures shared with tests/clients)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():  # .ci/run installs it whenever this folder exists
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    """A fresh browser context per test; console errors are collected and must stay empty."""
    context = chromium.new_context(locale="nl-NL")
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda message: message.type == "error" and tab.console_errors.append(message.text))
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    yield tab
    context.close()


def screenshot(tab, name: str) -> None:
    """Each step leaves a picture a person can look at (tests/browser/artifacts, git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
