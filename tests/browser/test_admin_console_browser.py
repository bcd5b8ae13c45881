"""The admin console in a real browser (issue 16 part 2): the insurer's beheerder (the organisation admin of a
business customer, seed 001) signs in at /admin with an SMS code, makes an account for a colleague at the
business portal, the activation mail arrives, the colleague activates and signs in at the business portal; and
a helpdesk person unlocks a locked professional, who can then sign in."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import PASSWORD, enter_code, enter_password, link_in_mail, screenshot, sms_code
from tests.clients.conftest import start_demo_portal
from tests.mfa_helpers import messages

pytestmark = pytest.mark.slow
NEW_PASSWORD = "Blauwe fiets 42 lente"


@pytest.fixture(scope="module")
def zakelijk(provider):
    running, server = start_demo_portal(provider, "demo-business")
    yield running
    server.stop()


def _phone() -> str:
    return f"+316{48000000 + secrets.randbelow(1_000_000)}"


def _admin(provider, email: str, role: str, organisation=None) -> str:
    """An account with SMS codes and this admin role; returns its phone number."""
    from idp import clock
    from idp.accounts import admins, factors
    from idp.accounts.users import create_user
    from idp.extensions import db

    phone = _phone()
    with provider.app.app_context():
        org = None
        if organisation is not None:
            from idp.accounts import organisations

            org = organisations.find(organisation[0]) or organisations.create(
                admins.operator("test"), organisation[1], "business_customer", clock.now(), code=organisation[0],
                email_domains=[organisation[2]])
        user = create_user(email, PASSWORD, name="Bea Beheer", phone=phone, org=org)
        factors.add_confirmed(user, "sms", phone_number=phone)
        admins.grant(admins.operator("test"), user, role, clock.now())
        db.session.commit()
        db.session.remove()
    return phone


def _new_tab(chromium):
    context = chromium.new_context(locale="nl-NL")
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_the_beheerder_makes_a_colleague_who_activates_and_signs_in(page, chromium, provider, zakelijk):
    tag = secrets.token_hex(3)
    beheerder = f"beheer-{tag}@business.example.org"
    code = f"bedrijf-{tag}"
    phone = _admin(provider, beheerder, "organisation", (code, f"Bouwbedrijf {tag}", "business.example.org"))

    page.goto(provider.issuer + "/admin/people/new")
    enter_password(page, provider, beheerder, shot="admin-01-sign-in")
    enter_code(page, sms_code(provider, phone), shot="admin-02-sms-code")
    page.wait_for_url(provider.issuer + "/admin/people/new")
    expect(page.get_by_role("heading", name="Nieuwe gebruiker")).to_be_visible()
    expect(page.get_by_text(f"Organisatie: Bouwbedrijf {tag}")).to_be_visible()  # their own, fixed
    assert_accessible(page, "the console's new person page (nl)")

    page.get_by_label("Portaal waarvoor het account is").select_option(zakelijk.client_id)
    page.get_by_label("Naam", exact=True).fill("Karel Klant")
    email = page.get_by_label("E-mailadres", exact=True)
    email.fill(f"karel-{tag}@gmail.example")
    with page.expect_navigation():
        page.get_by_role("button", name="Account aanmaken").click()
    expect(page.locator("#email-error")).to_contain_text("valt niet onder de e-maildomeinen van de organisatie")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Naam", exact=True)).to_have_value("Karel Klant")  # nothing typed is lost
    screenshot(page, "admin-03-address-outside-the-domains")
    assert_accessible(page, "the console's new person page with an error (nl)")

    colleague = f"karel-{tag}@business.example.org"
    email.fill(colleague)
    with page.expect_navigation():
        page.get_by_role("button", name="Account aanmaken").click()
    expect(page.get_by_role("status")).to_contain_text(f"Er is een activatielink gestuurd naar {colleague}")
    expect(page.get_by_text("wacht op activatie")).to_be_visible()
    screenshot(page, "admin-04-made")
    assert [m["template"] for m in messages(provider.app, to=colleague)] == ["activation"]

    # The colleague, in a browser of their own, opens the link, chooses a password and confirms a phone.
    context, theirs = _new_tab(chromium)
    mobile = f"06 {42000000 + secrets.randbelow(1_000_000)}"
    try:
        theirs.goto(link_in_mail(provider, colleague, "activation"))
        theirs.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
        theirs.get_by_label("Nieuw wachtwoord herhalen").fill(NEW_PASSWORD)
        theirs.get_by_role("button", name="Wachtwoord opslaan").click()
        theirs.get_by_label("Mobiel telefoonnummer").fill(mobile)
        theirs.get_by_role("button", name="Stuur een code").click()
        e164 = "+31" + mobile.replace(" ", "")[1:]
        enter_code(theirs, sms_code(provider, e164))
        expect(theirs.get_by_role("heading", name="Uw account is klaar")).to_be_visible()
        screenshot(theirs, "admin-05-colleague-activated")

        theirs.goto(zakelijk.url + "/")
        theirs.get_by_role("link", name="Inloggen").first.click()
        enter_password(theirs, provider, colleague, NEW_PASSWORD)
        enter_code(theirs, sms_code(provider, e164))
        theirs.wait_for_url(zakelijk.url + "/**")
        assert "Goedendag, Karel Klant" in theirs.content()
        screenshot(theirs, "admin-06-colleague-signed-in")
    finally:
        context.close()


def test_the_helpdesk_unlocks_a_locked_professional_who_then_signs_in(page, chromium, provider):
    from idp.accounts import factors  # noqa: F401  (the professional has none: the account pages ask for none)
    from idp.accounts.users import create_user
    from idp.extensions import db

    tag = secrets.token_hex(3)
    helpdesk = f"helpdesk-{tag}@example.org"
    phone = _admin(provider, helpdesk, "helpdesk")
    professional = f"prof-{tag}@example.org"
    with provider.app.app_context():
        create_user(professional, PASSWORD, name=f"Petra Prof {tag}", roles=["professional"])
        db.session.commit()
        db.session.remove()

    # Five wrong passwords lock the account; then the right one does not help.
    context, theirs = _new_tab(chromium)
    try:
        theirs.goto(provider.issuer + "/account")
        for _ in range(5):
            enter_password(theirs, provider, professional, "Helemaal-fout-1")
        enter_password(theirs, provider, professional, PASSWORD)
        expect(theirs.get_by_role("alert")).to_be_visible()
        assert theirs.url.startswith(provider.issuer + "/login/")

        page.goto(provider.issuer + "/admin")
        enter_password(page, provider, helpdesk)
        enter_code(page, sms_code(provider, phone))
        expect(page.get_by_role("heading", name="Zoek een persoon")).to_be_visible()
        page.get_by_label("Naam, e-mailadres, gebruikersnaam of organisatie").fill(professional)
        with page.expect_navigation():
            page.get_by_role("button", name="Zoek", exact=True).click()
        page.get_by_role("link", name=f"Petra Prof {tag}").click()
        expect(page.get_by_text("vergrendeld sinds", exact=False)).to_be_visible()
        page.get_by_role("link", name="Ontgrendel het account").click()
        with page.expect_navigation():
            page.get_by_role("button", name="Ja, ontgrendel").click()
        expect(page.get_by_role("status")).to_contain_text("Het account is ontgrendeld")
        screenshot(page, "admin-07-unlocked")

        enter_password(theirs, provider, professional, PASSWORD)
        theirs.wait_for_url(provider.issuer + "/account")
        screenshot(theirs, "admin-08-professional-signed-in")
    finally:
        context.close()
