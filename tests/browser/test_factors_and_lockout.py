"""Second factors and lockout in a real browser: setting up an authenticator app at the first sign-in,
trusting this computer and taking that trust back on the account page, and five wrong passwords locking the
account until the administrator unlocks it."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import cli, enter_code, enter_password, screenshot, sms_code
from tests.clients.conftest import PASSWORD
from tests.mfa_helpers import messages

pytestmark = pytest.mark.slow

WRONG = "Eikenhout-1999"
NOT_CORRECT = "Het e-mailadres of wachtwoord is niet juist."
LOCKED = "Dit account is geblokkeerd omdat er te vaak een verkeerd wachtwoord is ingevoerd."
CODE_FIELD = "input[autocomplete=one-time-code]"


def click_sign_in_at(page, portal) -> None:
    """At the portal's welcome page, the person clicks "Inloggen"."""
    page.goto(portal.url + "/")
    page.get_by_role("link", name="Inloggen").first.click()


def who_is_signed_in(page) -> str:
    """The portal's header line "Ingelogd als <name> · met ... · sinds ..."."""
    return " ".join(page.locator(".who p").inner_text().split())


def log_out_at(page, portal) -> None:
    """The portal's "Uitloggen" button (a POST form); the provider ends its session and sends them back."""
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(portal.url + "/")
    expect(page.get_by_role("link", name="Inloggen").first).to_be_visible()


def test_first_sign_in_sets_up_an_authenticator_app(page, provider, portal, make_person):
    """Seed flow "enrol a second factor at sign-in": a portal that requires a second factor asks a person who
    has none to set one up right after the password; they choose the authenticator app, type the key shown
    beside the QR code into it, confirm with its code, see their ten recovery codes once, and arrive signed
    in."""
    person = make_person()
    click_sign_in_at(page, portal)
    enter_password(page, provider, person.email, shot="totp-01-password")

    expect(page.get_by_role("heading", name="Stel een tweede stap in")).to_be_visible()
    screenshot(page, "totp-02-choose-a-way")
    page.get_by_role("button", name="Met een authenticator-app").click()

    qr = page.get_by_role("img", name="QR-code voor uw authenticator-app")
    expect(qr).to_be_visible()
    assert qr.evaluate("element => element.tagName.toLowerCase()") in ("svg", "img")
    assert qr.locator("path").count() >= 1, "the QR code has no drawing in it"
    shown = page.locator("[data-totp-secret]").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})+", shown.strip()), f"not in groups of four: {shown!r}"
    secret = shown.replace(" ", "")
    assert len(secret) == 32  # 160 bits of base32
    screenshot(page, "totp-03-qr-code-and-key")

    page.get_by_label("De code die de app toont").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bevestigen").click()

    expect(page.get_by_role("heading", name="Uw herstelcodes")).to_be_visible()
    listed = page.locator("[data-recovery-codes] li").all_inner_texts()
    recovery_codes = [" ".join(text.split()) for text in listed]
    assert len(recovery_codes) == 10 and len(set(recovery_codes)) == 10, recovery_codes
    assert all(recovery_codes), recovery_codes
    screenshot(page, "totp-04-recovery-codes")
    page.get_by_role("button", name="Ik heb deze codes bewaard").click()

    page.wait_for_url(portal.url + "/**")
    expect(page.get_by_role("heading", name=f"Goedendag, {person.name}")).to_be_visible()
    screenshot(page, "totp-05-portal-signed-in")
    signed_in = who_is_signed_in(page)
    assert "code uit app of e-mail" in signed_in and "wachtwoord" in signed_in, signed_in
    assert "sms-code" not in signed_in, signed_in
    # The codes were shown once: they are not on the portal, and no SMS went out for this sign-in.
    assert recovery_codes[0] not in page.content()
    assert messages(provider.app, to=person.phone) == []


def test_trusted_computer_skips_the_code_until_revoked(page, provider, portal, patient):
    """Seed flow "trust this computer, then revoke it": after the SMS code with "trust this computer" ticked,
    the next sign-in asks only the password; on the provider's account page the person stops trusting this
    browser (confirming the password first), and the sign-in after that asks the SMS code again. The sign-in
    form, the password confirmation and the revoke button are used with the keyboard only."""
    click_sign_in_at(page, portal)
    enter_password(page, provider, patient.email, shot="trust-01-password")
    page.locator(CODE_FIELD).wait_for()
    expect(page.get_by_text("Deze computer 7 dagen vertrouwen")).to_be_visible()
    enter_code(page, sms_code(provider, patient.phone), trust=True, shot="trust-02-code-and-trust")
    page.wait_for_url(portal.url + "/**")
    assert "sms-code" in who_is_signed_in(page)
    screenshot(page, "trust-03-portal-signed-in")
    log_out_at(page, portal)
    screenshot(page, "trust-04-logged-out")

    # Signing in again on this computer: the password only, typed and submitted with the keyboard.
    sent_before = len(messages(provider.app, to=patient.phone))
    page.get_by_role("link", name="Inloggen").first.click()
    page.wait_for_url(provider.issuer + "/login/**")
    username = page.get_by_label("E-mailadres of gebruikersnaam")
    expect(username).to_be_focused()  # autofocus: the person can start typing at once
    page.keyboard.type(patient.email)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    screenshot(page, "trust-05-password-by-keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(portal.url + "/**")
    screenshot(page, "trust-06-signed-in-without-code")
    expect(page.get_by_role("heading", name=f"Goedendag, {patient.name}")).to_be_visible()
    assert len(messages(provider.app, to=patient.phone)) == sent_before, "an SMS went to a trusted computer"
    assert "sms-code" not in who_is_signed_in(page)
    assert "met wachtwoord en vertrouwde computer" in who_is_signed_in(page)  # the portal says how

    # The provider's account page lists this browser as trusted; the person stops trusting it.
    page.goto(provider.issuer + "/account")
    expect(page.get_by_role("heading", name="Beveiliging van uw account")).to_be_visible()
    expect(page.get_by_role("heading", name="Vertrouwde apparaten")).to_be_visible()
    this_browser = page.locator("li[aria-current=true]")
    expect(this_browser).to_have_count(1)
    expect(this_browser).to_contain_text("deze browser")
    revoke = this_browser.get_by_role("button", name=re.compile("niet meer vertrouwen$"))
    screenshot(page, "trust-07-account-page")
    for _ in range(40):  # the button is reachable with Tab alone
        page.keyboard.press("Tab")
        if revoke.evaluate("button => button === document.activeElement"):
            break
    else:
        pytest.fail("the revoke button of this browser cannot be reached with the Tab key")
    page.keyboard.press("Enter")

    # A change to how one signs in asks the password again first (autofocused: type it and press Enter).
    expect(page.get_by_role("heading", name="Bevestig uw wachtwoord")).to_be_visible()
    expect(page.get_by_label("Wachtwoord", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    screenshot(page, "trust-08-confirm-password")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Beveiliging van uw account")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Het apparaat kan de tweede stap niet meer overslaan.")
    expect(page.get_by_text("U heeft geen vertrouwde apparaten.")).to_be_visible()
    expect(page.locator("li[aria-current=true]")).to_have_count(0)
    screenshot(page, "trust-09-browser-no-longer-trusted")

    # Logging out and in once more: the SMS code is asked again.
    page.goto(portal.url + "/")
    page.wait_for_url(portal.url + "/**")
    log_out_at(page, portal)
    page.get_by_role("link", name="Inloggen").first.click()
    enter_password(page, provider, patient.email, shot="trust-10-password-again")
    page.locator(CODE_FIELD).wait_for()
    expect(page.get_by_role("heading", name="Bevestig dat u het bent")).to_be_visible()
    assert len(messages(provider.app, to=patient.phone)) == sent_before + 1, "no new SMS code was sent"
    screenshot(page, "trust-11-code-asked-again")
    enter_code(page, sms_code(provider, patient.phone))
    page.wait_for_url(portal.url + "/**")
    assert "sms-code" in who_is_signed_in(page)
    screenshot(page, "trust-12-portal-signed-in")


def test_five_wrong_passwords_lock_the_account_until_unlocked(page, provider, ordering_portal_without_mfa,
                                                              make_person):
    """Seed flow "lockout": each wrong password says so; the fifth locks the account, and the page says
    where to get help (the portal's helpdesk); now even the right password is refused, until the
    administrator runs `idp users unlock`; then the right password signs the person in."""
    portal = ordering_portal_without_mfa
    person = make_person()
    helpdesk = "de helpdesk van Samen zorgen bestellen, 088 123 45 67"
    cli(provider, "clients", "update", portal.client_id, "--help-contact", helpdesk)
    try:
        click_sign_in_at(page, portal)
        error = page.get_by_role("alert")
        password = page.locator("#password")
        for attempt in range(1, 5):
            enter_password(page, provider, person.email, WRONG, shot=f"lockout-{attempt:02d}-wrong-password")
            expect(password).to_have_value("")  # a new page: the typed password is not sent back
            expect(error).to_have_text(NOT_CORRECT)
            expect(page.get_by_label("E-mailadres of gebruikersnaam")).to_have_value(person.email)
        assert messages(provider.app, to=person.email, template="account_locked") == []

        enter_password(page, provider, person.email, WRONG)
        expect(password).to_have_value("")
        expect(error).to_contain_text(LOCKED)
        expect(error).to_contain_text(f"Voor hulp kunt u contact opnemen met {helpdesk}.")
        screenshot(page, "lockout-05-locked")
        [mail] = messages(provider.app, to=person.email, template="account_locked")
        assert helpdesk in " ".join(mail["body"].split())

        enter_password(page, provider, person.email, PASSWORD)  # the right password does not help now
        expect(password).to_have_value("")
        expect(error).to_contain_text(LOCKED)
        assert page.url.startswith(provider.issuer + "/login/")
        screenshot(page, "lockout-06-right-password-refused")

        result = cli(provider, "users", "unlock", person.email)
        assert f"unlocked {person.email}" in result.output

        enter_password(page, provider, person.email, PASSWORD, shot="lockout-07-after-unlock")
        page.wait_for_url(portal.url + "/**")
        screenshot(page, "lockout-08-portal-signed-in")
        assert person.name in who_is_signed_in(page)
    finally:
        cli(provider, "clients", "update", portal.client_id, "--help-contact", "")
