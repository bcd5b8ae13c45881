"""Take the README's screenshots from a running `idp demo` in Debian's Chromium (never a downloaded browser).

    .venv/bin/idp demo --reset --port 5100 &   # then:
    .venv/bin/python docs/screenshots/take.py http://127.0.0.1:5100

Signs in to the GP practice's portal as the demo patient, reading the SMS code from the development inbox,
and saves sign-in.png (the provider's sign-in page) and portal.png (the portal once signed in) next to this file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent


def main(provider: str) -> None:
    port = int(provider.rsplit(":", 1)[1])
    portal = f"http://127.0.0.1:{port + 1}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(locale="nl-NL", viewport={"width": 1000, "height": 720})
        tab = context.new_page()
        tab.goto(portal + "/")
        tab.get_by_role("link", name="Inloggen").first.click()
        tab.wait_for_url(provider + "/login/**")
        tab.get_by_label("E-mailadres of gebruikersnaam").fill("patient@example.org")
        tab.locator("#password").fill("Tulpenveld-2026")
        tab.screenshot(path=str(HERE / "sign-in.png"))
        tab.get_by_role("button", name="Inloggen").click()
        tab.locator("input[autocomplete=one-time-code]").wait_for()
        inbox = context.new_page()
        inbox.goto(provider + "/dev/inbox")
        code = re.search(r"\b(\d{6})\b", inbox.locator("body").inner_text()).group(1)
        inbox.close()
        tab.locator("input[autocomplete=one-time-code]").fill(code)
        tab.get_by_role("button", name="Bevestigen").click()
        tab.wait_for_url(portal + "/overzicht")
        tab.screenshot(path=str(HERE / "portal.png"))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:5000")
