"""Issue 15 in a real browser: a mother signs in at the GP practice's portal, opens her son's record from the
"for whom?" page, sees whose record is open, and switches back to her own with "Wissel van persoon"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import enter_code, enter_password, screenshot, sms_code

pytestmark = pytest.mark.slow

BANNER = "U bekijkt het dossier van Sem (8) — ingelogd als Anna de Vries"


def test_a_parent_opens_her_sons_record_and_switches_back_to_her_own(page, provider, delegating_portal, family):
    store = delegating_portal.app.extensions["patient_store"]
    page.goto(delegating_portal.url + "/")
    page.get_by_role("link", name="Inloggen").first.click()
    enter_password(page, provider, family.parent.email)
    enter_code(page, sms_code(provider, family.parent.phone))

    expect(page.get_by_role("heading", name="Voor wie logt u in?")).to_be_visible()
    expect(page.get_by_role("button", name="Mijzelf (Anna de Vries)")).to_be_visible()
    screenshot(page, "delegated-01-chooser")
    assert_accessible(page, "delegated-01-chooser")
    page.get_by_role("button", name="Sem de Vries (8 jaar)").click()

    page.wait_for_url(delegating_portal.url + "/overzicht")
    banner = page.locator("section.acting")
    expect(banner).to_have_text(re.compile(re.escape(BANNER)))
    expect(page.get_by_role("heading", name="Dossier van Sem de Vries")).to_be_visible()
    expect(page.locator(".who")).to_contain_text("Ingelogd als Anna de Vries")
    screenshot(page, "delegated-02-portal-banner")
    assert_accessible(page, "delegated-02-portal-banner")
    page.get_by_role("link", name="Herhaalrecepten").first.click()
    expect(page.get_by_text("Cetirizine drank 1 mg/ml")).to_be_visible()
    expect(banner).to_be_visible()  # on every page of his record
    own_medicines = [name for name, _ in store.get(family.parent.sub).medicines]
    assert not any(name in page.content() for name in own_medicines)

    page.get_by_role("button", name="Wissel van persoon").click()
    expect(page.get_by_role("heading", name="Voor wie logt u in?")).to_be_visible()
    page.get_by_role("button", name="Mijzelf (Anna de Vries)").click()

    page.wait_for_url(delegating_portal.url + "/overzicht")
    expect(page.get_by_role("heading", name="Goedendag, Anna de Vries")).to_be_visible()
    expect(page.locator("section.acting")).to_have_count(0)
    assert "U bekijkt het dossier" not in page.content()
    screenshot(page, "delegated-03-portal-herself")
    page.get_by_role("link", name="Herhaalrecepten").first.click()
    for name in own_medicines:
        expect(page.get_by_text(name)).to_be_visible()
    assert "Cetirizine" not in page.content()
    expect(page.get_by_role("button", name="Wissel van persoon")).to_be_visible()  # back to Sem, without signing out
