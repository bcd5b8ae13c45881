"""An account's life by e-mail link, in a real browser: activation (date of birth, password with the live
rules, mobile number), the forced change of a temporary password, and a password reset that resumes the
sign-in."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import cli, enter_code, enter_password, link_in_mail, screenshot, sms_code
from tests.clients.conftest import PASSWORD
from tests.mfa_helpers import messages

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Blauwe fiets 42 lente"
WEAK = "welkom1"  # too short, and a commonly used password
TEMPORARY = re.compile(r"^([A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4})$", re.MULTILINE)
WRONG_PASSWORD = "Het e-mailadres of wachtwoord is niet juist."


def new_address(kind: str) -> str:
    """An address of its own per test (the provider, and its outbox, live for the whole session)."""
    return f"{kind}-{secrets.token_hex(4)}@example.org"


def rule_marks(tab) -> dict[str, tuple[str, str, str]]:
    """Each password rule as the page shows it now: (class, sign, hidden word for screen readers)."""
    shown = tab.locator("#password-rules li").evaluate_all(
        """items => items.map(li => [li.dataset.rule, li.className,
                                     li.querySelector('.mark').textContent.trim(),
                                     li.querySelector('.state').textContent.trim()])""")
    return {rule: (css, sign, word) for rule, css, sign, word in shown}


def sign_in_at(tab, provider, portal, email: str, password: str, shot: str) -> None:
    """Go to the portal (signed out), click Inloggen, type the address and password at the provider."""
    tab.goto(portal.url + "/")
    tab.get_by_role("link", name="Inloggen").click()
    enter_password(tab, provider, email, password, shot=shot)


def test_activation_by_link_with_birth_date_live_password_rules_and_phone(page, provider, ordering_portal):
    """Seed flow: an administrator adds an account for activation; the person opens the e-mailed link, proves
    the date of birth (a wrong one first), chooses a password while the rules tick off live, confirms a mobile
    number by SMS, sees the recovery codes once, and then signs in at a portal with that password and an SMS
    code."""
    email = new_address("nieuw")
    mobile = f"06 {41000000 + secrets.randbelow(1_000_000)}"
    e164 = "+31" + mobile.replace(" ", "")[1:]
    cli(provider, "users", "add", "--email", email, "--name", "Nieuwe Collega", "--activate",
        "--birth-date", "1950-03-14", "--organisation", "Thuiszorg De Linde")

    page.goto(link_in_mail(provider, email, "activation"))
    expect(page.get_by_role("heading", name="Account activeren")).to_be_visible()
    expect(page.get_by_text(f"Account voor {email}")).to_be_visible()
    screenshot(page, "activation-01-birth-date")

    birth_date = page.get_by_label("Geboortedatum")
    birth_date.fill("14-03-1951")
    page.get_by_role("button", name="Volgende").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Die geboortedatum komt niet overeen met wat uw organisatie heeft")
    expect(alert).to_contain_text("nog 2 keer")
    expect(birth_date).to_have_attribute("aria-invalid", "true")
    screenshot(page, "activation-02-wrong-birth-date")
    birth_date.fill("14-03-1950")
    page.get_by_role("button", name="Volgende").click()

    # The password: every rule is listed, and ticked off (or crossed) while the person types.
    expect(page.get_by_text("Kies het wachtwoord waarmee u gaat inloggen.")).to_be_visible()
    new = page.get_by_label("Nieuw wachtwoord", exact=True)
    again = page.get_by_label("Nieuw wachtwoord herhalen")
    save = page.get_by_role("button", name="Wachtwoord opslaan")
    expect(page.get_by_role("list", name="Eisen voor uw nieuwe wachtwoord:")).to_be_visible()
    expect(save).to_be_disabled()  # nothing typed yet
    screenshot(page, "activation-03-password-page")

    new.fill(WEAK)
    expect(page.locator("#password-rules li.unmet")).to_have_count(2)
    assert rule_marks(page) == {
        "min_length": ("unmet", "✗", "(niet voldaan)"),
        "personal": ("met", "✓", "(voldaan)"),
        "common": ("unmet", "✗", "(niet voldaan)"),
        "max_length": ("met", "✓", "(voldaan)"),
    }
    again.fill(WEAK)
    expect(save).to_be_disabled()  # the same twice does not help a password that breaks the rules
    screenshot(page, "activation-04-weak-password")

    again.fill("")
    new.fill(NEW_PASSWORD)
    expect(page.locator("#password-rules li.unmet")).to_have_count(0)
    assert set(rule_marks(page).values()) == {("met", "✓", "(voldaan)")}
    expect(save).to_be_disabled()  # every rule met, but not yet typed a second time
    again.fill(NEW_PASSWORD)
    expect(save).to_be_enabled()
    eye = page.get_by_role("button", name="Wachtwoord tonen").first
    assert eye.get_attribute("aria-controls") == "new_password"
    eye.click()  # the person checks what they typed
    expect(new).to_have_attribute("type", "text")
    expect(eye).to_have_attribute("aria-pressed", "true")
    screenshot(page, "activation-05-strong-password-shown")
    eye.click()
    expect(new).to_have_attribute("type", "password")
    save.click()

    # The mobile number (accounts.activation_phone is on by default), confirmed with the code from the SMS.
    phone = page.get_by_label("Mobiel telefoonnummer")
    phone.fill(mobile)
    screenshot(page, "activation-06-phone")
    page.get_by_role("button", name="Stuur een code").click()
    expect(page.get_by_text("We hebben een code per sms gestuurd naar")).to_be_visible()
    enter_code(page, sms_code(provider, e164), shot="activation-07-sms-code")

    expect(page.get_by_role("heading", name="Uw account is klaar")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(f"Uw account {email} is geactiveerd.")
    expect(page.get_by_role("heading", name="Uw herstelcodes")).to_be_visible()
    recovery_codes = page.locator("[data-recovery-codes] li").all_inner_texts()
    assert len(recovery_codes) >= 8 and len(set(recovery_codes)) == len(recovery_codes)
    screenshot(page, "activation-08-ready-with-recovery-codes")

    # The link worked once. (Asked outside the tab: the browser logs the dead-link page's 400 as an error.)
    used = page.request.get(link_in_mail(provider, email, "activation"))
    assert used.status == 400 and "Deze link werkt niet meer" in used.text()

    # The account works: the ordering portal, with the new password and an SMS code to the confirmed number.
    sign_in_at(page, provider, ordering_portal, email, NEW_PASSWORD, shot="activation-09-sign-in")
    page.locator("input[autocomplete=one-time-code]").wait_for()
    enter_code(page, sms_code(provider, e164), shot="activation-10-sign-in-sms-code")
    page.wait_for_url(ordering_portal.url + "/overzicht")
    expect(page.get_by_text("Ingelogd als Nieuwe Collega")).to_be_visible()
    expect(page.get_by_text("met wachtwoord en sms-code")).to_be_visible()
    screenshot(page, "activation-11-portal-signed-in")


def test_a_temporary_password_is_replaced_at_the_first_sign_in(page, provider, ordering_portal):
    """Seed flow: an administrator adds an account with a temporary password (sent by e-mail); at the first
    sign-in the provider makes the person choose their own password, and the temporary one stops working."""
    email = new_address("tijdelijk")
    cli(provider, "users", "add", "--email", email, "--name", "Tineke Tijdelijk", "--temporary")
    [mail] = messages(provider.app, to=email, template="temporary_password")
    temporary = TEMPORARY.search(mail["body"]).group(1)

    sign_in_at(page, provider, ordering_portal, email, temporary, shot="temporary-01-sign-in")
    expect(page.get_by_role("heading", name="Kies een nieuw wachtwoord")).to_be_visible()
    expect(page.get_by_text("U bent ingelogd met een tijdelijk wachtwoord.")).to_be_visible()
    save = page.get_by_role("button", name="Nieuw wachtwoord opslaan")
    expect(save).to_be_disabled()
    screenshot(page, "temporary-02-choose-password")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nieuw wachtwoord herhalen").fill(NEW_PASSWORD)
    expect(page.locator("#password-rules li.met")).to_have_count(len(rule_marks(page)))
    expect(save).to_be_enabled()
    screenshot(page, "temporary-03-new-password")
    save.click()
    page.wait_for_url(ordering_portal.url + "/overzicht")
    expect(page.get_by_text("Ingelogd als Tineke Tijdelijk")).to_be_visible()
    screenshot(page, "temporary-04-portal-signed-in")

    # Another browser (no cookies): the temporary password is refused, the person's own one is not.
    page.context.clear_cookies()
    sign_in_at(page, provider, ordering_portal, email, temporary, shot="temporary-05-temporary-again")
    expect(page.get_by_role("alert")).to_have_text(WRONG_PASSWORD)
    screenshot(page, "temporary-06-refused")
    enter_password(page, provider, email, NEW_PASSWORD)
    page.wait_for_url(ordering_portal.url + "/overzicht")
    expect(page.get_by_text("Ingelogd als Tineke Tijdelijk")).to_be_visible()
    screenshot(page, "temporary-07-own-password-works")


def test_password_reset_by_link_resumes_the_sign_in(page, provider, ordering_portal, make_person):
    """Seed flow: a person who forgot the password asks for a link on the sign-in page (the answer never tells
    whether the address has an account), opens the e-mailed link in the same browser, chooses a new password
    and is signed in at the portal they came from; the old password no longer works."""
    person = make_person(name="Vera Vergeetachtig")
    page.goto(ordering_portal.url + "/")
    page.get_by_role("link", name="Inloggen").click()
    page.wait_for_url(provider.issuer + "/login/**")
    screenshot(page, "reset-01-sign-in-page")
    page.get_by_role("link", name="Wachtwoord vergeten?").click()

    # A typo first: an address without an account gets exactly the answer a real one gets, and no mail.
    expect(page.get_by_role("heading", name="Wachtwoord vergeten?")).to_be_visible()
    unknown = new_address("niemand")
    page.get_by_label("E-mailadres").fill(unknown)
    page.get_by_role("button", name="Stuur mij een link").click()
    expect(page.get_by_role("heading", name="Kijk in uw e-mail")).to_be_visible()
    answer_for_unknown = page.locator("main").inner_text()
    screenshot(page, "reset-02-answer-unknown-address")
    page.get_by_role("link", name="Vraag een nieuwe link aan").click()
    page.get_by_label("E-mailadres").fill(person.email)
    screenshot(page, "reset-03-ask-link")
    page.get_by_role("button", name="Stuur mij een link").click()
    expect(page.get_by_role("status")).to_have_text(
        "Als er een account bestaat voor wat u heeft ingevuld, hebben we een link naar het e-mailadres van "
        "dat account gestuurd.")
    assert page.locator("main").inner_text() == answer_for_unknown
    assert messages(provider.app, to=unknown) == []
    screenshot(page, "reset-04-answer")

    page.goto(link_in_mail(provider, person.email, "reset_link"))
    expect(page.get_by_role("heading", name="Kies een nieuw wachtwoord")).to_be_visible()
    expect(page.get_by_text(f"Voor het account {person.email}")).to_be_visible()
    new = page.get_by_label("Nieuw wachtwoord", exact=True)
    again = page.get_by_label("Nieuw wachtwoord herhalen")
    save = page.get_by_role("button", name="Nieuw wachtwoord opslaan")
    new.fill("kort")
    expect(page.locator("#password-rules li[data-rule=min_length]")).to_have_class("unmet")
    expect(save).to_be_disabled()
    screenshot(page, "reset-05-too-short")
    new.fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD)
    expect(page.locator("#password-rules li.unmet")).to_have_count(0)
    expect(save).to_be_enabled()
    screenshot(page, "reset-06-new-password")
    save.click()

    # The sign-in this browser started goes on: straight into the portal.
    page.wait_for_url(ordering_portal.url + "/overzicht")
    expect(page.get_by_text("Ingelogd als Vera Vergeetachtig")).to_be_visible()
    screenshot(page, "reset-07-portal-signed-in")

    page.context.clear_cookies()
    sign_in_at(page, provider, ordering_portal, person.email, PASSWORD, shot="reset-08-old-password")
    expect(page.get_by_role("alert")).to_have_text(WRONG_PASSWORD)
    screenshot(page, "reset-09-old-password-refused")
    enter_password(page, provider, person.email, NEW_PASSWORD)
    page.wait_for_url(ordering_portal.url + "/overzicht")
    expect(page.get_by_text("Ingelogd als Vera Vergeetachtig")).to_be_visible()
    screenshot(page, "reset-10-new-password-works")
