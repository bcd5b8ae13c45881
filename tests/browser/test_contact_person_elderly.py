"""A daughter accepts the invitation of the elderly-care client and signs in for her (issue 15 part 6, seed 002:
"u bepaalt zelf wie toegang krijgt: een contactpersoon of familielid"), in a real browser.

Truus (86) signs in to Mijn Avondrood, sees that nobody can look along yet, follows the link to the sign-in
service's page and invites her daughter Els by e-mail. Els opens the mail (the development outbox), activates
her own account (password, her own mobile number), signs in at Mijn Avondrood, chooses her mother and sees her
mother's page with "U bent ingelogd namens Truus Jansen". Truus then sees Els listed on the portal.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import enter_code, link_in_mail, screenshot, sms_code
from tests.clients.conftest import RunningPortal, start_demo_portal

pytestmark = pytest.mark.slow

PASSWORD = "Zonnebloem-7"
ELS_PASSWORD = "Tulp!2026"


@pytest.fixture(scope="module")
def avondrood(provider) -> RunningPortal:
    """Mijn Avondrood as the demo registers it, with delegation on (its contact persons)."""
    from idp.extensions import db
    from idp.portals import profile
    from idp.portals.registry import get

    running, server = start_demo_portal(provider, "demo-elderly")
    with provider.app.app_context():
        profile.change(get(running.client_id), {"delegation": "true"})
        db.session.commit()
        db.session.remove()
    yield running
    server.stop()


@pytest.fixture
def truus(provider) -> dict:
    """The client, made by the EVV'er: a username, her mobile number for the SMS codes, her date of birth."""
    from idp.accounts import factors
    from idp.accounts.users import create_user
    from idp.extensions import db

    n = secrets.token_hex(3)
    person = {"username": f"truus{n}", "email": f"truus-{n}@avondrood.example.org",
              "phone": f"+316{48000000 + secrets.randbelow(1_000_000)}"}
    with provider.app.app_context():
        user = create_user(person["email"], PASSWORD, name="Truus Jansen", phone=person["phone"],
                           username=person["username"],
                           date_of_birth=datetime.now(UTC).date() - timedelta(days=round(365.25 * 86)))
        factors.add_confirmed(user, "sms", phone_number=person["phone"], secret=None)
        db.session.commit()
        person["sub"] = user.sub
        db.session.remove()
    return person


def sign_in(tab, provider, portal: RunningPortal, login: str, password: str, phone: str) -> None:
    """At the portal, signed out: Inloggen, the login name and password, then the SMS code after its prefix."""
    tab.goto(portal.url + "/")
    tab.get_by_role("link", name="Inloggen").first.click()
    tab.wait_for_url(provider.issuer + "/login/**")
    tab.get_by_label("Gebruikersnaam").fill(login)
    tab.locator("#password").fill(password)
    with tab.expect_navigation():
        tab.get_by_role("button", name="Inloggen").click()
    enter_code(tab, sms_code(provider, phone))


def test_a_daughter_accepts_the_invitation_of_the_elderly_care_client_and_signs_in_for_her(
        page, chromium, provider, avondrood, truus):
    els_email = f"els-{secrets.token_hex(3)}@example.org"
    els_mobile = f"06 {47000000 + secrets.randbelow(1_000_000)}"
    els_phone = "+31" + els_mobile.replace(" ", "")[1:]

    # Truus signs in at the portal: nobody can look along yet, and the page says where to change that.
    sign_in(page, provider, avondrood, truus["username"], PASSWORD, truus["phone"])
    page.wait_for_url(avondrood.url + "/overzicht")
    contacts = page.get_by_role("region", name="Wie kan namens u meekijken")
    expect(contacts).to_contain_text("Nog niemand.")
    screenshot(page, "contact-01-nobody-yet")
    assert_accessible(page, "the elderly portal's home, nobody can look along yet")

    # She follows the link to the sign-in service's page and invites her daughter.
    contacts.get_by_role("link", name="Contactpersonen uitnodigen of stoppen").click()
    page.wait_for_url(provider.issuer + "/account/delegations")  # signed in there already: the same sign-in
    expect(page.get_by_role("heading", name="Wie mag namens u handelen")).to_be_visible()
    page.locator("#name").fill("Els Jansen")
    page.locator("#email").fill(els_email)
    page.get_by_role("radio", name="Familielid").check()
    page.locator("#portal").select_option(avondrood.client_id)
    screenshot(page, "contact-02-invite")
    page.get_by_role("button", name="Uitnodiging versturen").click()
    # A change on the account pages: her password once more (the SMS code at the portal was not asked here).
    expect(page.get_by_role("heading", name="Bevestig uw wachtwoord")).to_be_visible()
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Bevestigen en doorgaan").click()
    expect(page.get_by_text(f"We hebben een uitnodiging gestuurd naar {els_email}")).to_be_visible()
    screenshot(page, "contact-03-invited")

    # Els, on her own computer, opens the mail and activates her account: her own password and phone.
    daughter_context = chromium.new_context(locale="nl-NL")
    daughter_context.set_default_timeout(15_000)
    els = daughter_context.new_page()
    try:
        els.goto(link_in_mail(provider, els_email, "activation"))
        screenshot(els, "contact-04-activation")
        els.get_by_label("Nieuw wachtwoord", exact=True).fill(ELS_PASSWORD)
        els.get_by_label("Nieuw wachtwoord herhalen").fill(ELS_PASSWORD)
        els.get_by_role("button", name="Wachtwoord opslaan").click()
        els.get_by_label("Mobiel telefoonnummer").fill(els_mobile)
        els.get_by_role("button", name="Stuur een code").click()
        enter_code(els, sms_code(provider, els_phone))
        expect(els.get_by_role("heading", name="Uw account is klaar")).to_be_visible()
        screenshot(els, "contact-05-activated")

        # She signs in at Mijn Avondrood and chooses her mother.
        sign_in(els, provider, avondrood, els_email, ELS_PASSWORD, els_phone)
        expect(els.get_by_role("heading", name="Voor wie logt u in?")).to_be_visible()
        screenshot(els, "contact-06-for-whom")
        assert_accessible(els, "the chooser at Mijn Avondrood")
        els.get_by_role("button", name="Truus Jansen").click()
        els.wait_for_url(avondrood.url + "/overzicht")
        expect(els.get_by_text("U bent ingelogd namens Truus Jansen.")).to_be_visible()
        expect(els.locator(".who")).to_contain_text("Ingelogd als Els Jansen (namens Truus Jansen)")
        expect(els.get_by_role("heading", level=1)).to_have_text("Goedendag, Els Jansen")
        expect(els.locator("main")).to_contain_text("Dit is het overzicht van Truus Jansen.")
        expect(els.get_by_role("region", name="Wie kan namens u meekijken")).to_have_count(0)
        screenshot(els, "contact-07-for-her-mother")
        assert_accessible(els, "the elderly portal's home, signed in for the client")
    finally:
        daughter_context.close()

    # Truus, signed in again at the portal, sees her daughter listed.
    page.goto(avondrood.url + "/")
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(avondrood.url + "/**")
    sign_in(page, provider, avondrood, truus["username"], PASSWORD, truus["phone"])
    page.wait_for_url(avondrood.url + "/overzicht")
    contacts = page.get_by_role("region", name="Wie kan namens u meekijken")
    expect(contacts).to_contain_text("Els Jansen (familie)")
    expect(contacts).to_contain_text("Kan namens u meekijken sinds")
    expect(page.get_by_text("U bent ingelogd namens")).to_have_count(0)
    screenshot(page, "contact-08-daughter-listed")
    assert_accessible(page, "the elderly portal's home with a contact person")
