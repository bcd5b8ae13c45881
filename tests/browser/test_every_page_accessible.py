"""Issue 14 part 6: every page a person sees in a portal's sign-in, activation, reset and code flows passes
axe-core (WCAG 2.0/2.1 A and AA, and axe's best practices) in Debian's Chromium, at two portals with opposite
profiles: the branded one (organisation, accent colour, logo, help page, SMS prefix, username sign-in, reset
asks the username and sets the phone again) and a plain one (self-registration, consent, e-mail or username).
Dutch at the branded portal, English at the plain one; the pages are reached the way a person reaches them.
Portals that differ in one more way (an SMS-only one signing in by e-mail address, one that wants an app, one for
work addresses) are registered without a server of their own: their sign-in starts at /authorize."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from flask import Response
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import cli, link_in_mail, sms_code
from tests.clients.conftest import PASSWORD, RunningPortal
from tests.conformance.live import ServerThread
from tests.mfa_helpers import latest_code, messages

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Blauwe fiets 42 lente"
CODE_FIELD = "input[autocomplete=one-time-code]"
LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" width="40" height="40">'
        '<circle cx="20" cy="20" r="18" fill="#7a1f5c"/></svg>')


def _serve(provider, name: str, create_app, cookie: str, **register) -> tuple[RunningPortal, ServerThread]:
    """Register a portal with these settings and serve it (with a logo of its own) on a free loopback port."""
    from idp.extensions import db
    from idp.portals.registry import register as register_portal

    server = ServerThread()
    url = f"http://127.0.0.1:{server.port}"
    with provider.app.app_context():
        registered = register_portal(name, [url + "/callback"], post_logout_redirect_uris=[url + "/"], **register)
        db.session.commit()
        client_id = registered.client.client_id
        db.session.remove()
    app = create_app({"PORTAL_ISSUER": provider.issuer, "PORTAL_CLIENT_ID": client_id,
                      "PORTAL_CLIENT_SECRET": registered.secret, "PORTAL_BASE_URL": url,
                      "PORTAL_SECRET_KEY": f"portal-test-secret-{client_id}", "TESTING": True,
                      "SESSION_COOKIE_NAME": cookie})
    app.add_url_rule("/logo.svg", "logo", lambda: Response(LOGO, mimetype="image/svg+xml"))
    server.serve(app)
    return RunningPortal(url, app, client_id), server


@pytest.fixture(scope="module")
def branded(provider):
    """Seed 002's kind of portal: its organisation, colour, logo and help page; a 4-digit prefix before the SMS
    code; sign-in by username; "forgot password" asks the username too and sets the phone again."""
    from clients.patient import create_app

    running, server = _serve(provider, "Clientportaal De Linde", create_app, "portal_axe_branded",
                             first_party=True, mfa="required")
    cli(provider, "clients", "update", running.client_id, "--help-contact", "uw EVV'er of teamleider",
        "--profile", "organisation=Thuiszorg De Linde", "--profile", "accent_colour=#7a1f5c",
        "--profile", f"logo_url={running.url}/logo.svg", "--profile", f"support_url={running.url}/hulp",
        "--profile", "sms_prefix=true", "--profile", "sign_in_with=username",
        "--profile", "reset_asks_username=true", "--profile", "reset_phone=true",
        "--profile", f"sign_in_url={running.url}/login")
    yield running
    server.stop()


@pytest.fixture(scope="module")
def plain(provider):
    """A portal with our own look: self-registration, consent (not first-party), a second factor optional."""
    from clients.ordering import create_app

    running, server = _serve(provider, "Samen zorgen bestellen (axe)", create_app, "portal_axe_plain",
                             first_party=False, mfa="optional", registration=True)
    yield running
    server.stop()


@pytest.fixture
def english(chromium):
    """A browser that asks for English (Accept-Language); like `page`, no console errors allowed."""
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda message: message.type == "error" and tab.console_errors.append(
        f"{tab.url}: {message.text}"))
    tab.on("pageerror", lambda error: tab.console_errors.append(f"{tab.url}: {error}"))
    yield tab
    context.close()
    assert tab.console_errors == [], "the browser console logged errors"


@dataclass
class Person:
    email: str
    phone: str
    username: str | None
    recovery_codes: list[str]


def person(provider, *, username: bool = False, factors_: tuple[str, ...] = (), recovery_codes: bool = False
           ) -> Person:
    """A new account (password PASSWORD, a number of its own) with these confirmed factors."""
    from idp.accounts import factors
    from idp.accounts.users import create_user
    from idp.extensions import db
    from idp.security import recovery

    tag = secrets.token_hex(4)
    email, phone = f"axe-{tag}@example.org", f"+316{50000000 + secrets.randbelow(10_000_000)}"
    login = f"anna{tag}" if username else None
    with provider.app.app_context():
        user = create_user(email, PASSWORD, name="Anna de Vries", phone=phone, username=login)
        for kind in factors_:
            factors.add_confirmed(user, kind, phone_number=phone if kind == "sms" else None)
        made = recovery.generate(user) if recovery_codes else []
        db.session.commit()
        db.session.remove()
    return Person(email, phone, login, made)


def open_error_page(tab, url: str, status: int) -> None:
    """Open a page that answers with an error status: the browser logs that status as a console error, which
    is expected here (and only here)."""
    response = tab.goto(url)
    assert response.status == status, f"{url}: {response.status}"
    tab.console_errors[:] = [e for e in tab.console_errors
                             if not (f"status of {status}" in e and e.startswith(tab.url))]


def press(tab, name: str | re.Pattern) -> None:
    """Press the button of this name and wait for the page it leads to."""
    with tab.expect_navigation():
        tab.get_by_role("button", name=name, exact=True).click()


def to_sign_in(tab, portal, provider) -> None:
    tab.goto(portal.url + "/")
    tab.get_by_role("link", name=re.compile("^(Inloggen|Sign in)$")).first.click()
    tab.wait_for_url(provider.issuer + "/login/**")


def unserved_portal(provider, name: str, *options: str) -> str:
    """Register a portal that is never served (its pages are the provider's only); returns its client_id."""
    client_id = "axe-" + secrets.token_hex(4)
    cli(provider, "clients", "add", "--name", name, "--client-id", client_id, "--first-party",
        "--redirect-uri", "http://127.0.0.1:9/callback", *options)
    return client_id


def authorize(tab, provider, client_id: str) -> None:
    """Open the provider's sign-in as this portal's "Inloggen" would (a PKCE authorization request)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    tab.goto(provider.issuer + "/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": "http://127.0.0.1:9/callback", "response_type": "code",
        "scope": "openid", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    tab.wait_for_url(provider.issuer + "/login/**")


def prefix_is_read_out(tab) -> None:
    """The SMS's prefix stands before the code box, visible, and is the box's description (read out with it)."""
    prefix = tab.locator(".code .prefix")
    expect(prefix).to_be_visible()
    expect(prefix).to_have_text(re.compile(r"^\d{4}-$"))
    expect(tab.locator(CODE_FIELD)).to_have_accessible_description(
        re.compile(re.escape(prefix.inner_text().strip())))


def sign_in_with(tab, login: str, password: str, button: str = "Inloggen") -> None:
    tab.locator("#username").fill(login)
    tab.locator("#password").fill(password)
    press(tab, button)


# --- the branded portal, in Dutch ----------------------------------------------------------------------------

def test_sign_in_and_every_second_factor_page_at_the_branded_portal(page, provider, branded):
    """Sign-in by username (in both languages), a wrong password, each second factor and the trust question,
    the account pages on the same session, and logging out at the provider."""
    anna = person(provider, username=True, factors_=("sms", "email", "totp"), recovery_codes=True)
    to_sign_in(page, branded, provider)
    expect(page.get_by_label("Gebruikersnaam")).to_be_visible()
    expect(page.locator("header img.logo")).to_be_visible()
    assert_accessible(page, "the sign-in page asking a username (branded, nl)")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Username")).to_be_visible()
    assert_accessible(page, "the sign-in page asking a username (branded, en)")
    page.get_by_role("link", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")

    sign_in_with(page, anna.username, "Verkeerd-wachtwoord-1")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the sign-in page after a wrong password (branded, nl)")

    sign_in_with(page, anna.username, PASSWORD)

    # None used yet, so the portal's first way comes first (the app); the others are one press away.
    expect(page.get_by_text("Open uw authenticator-app")).to_be_visible()
    expect(page.get_by_role("heading", name="Een andere manier gebruiken")).to_be_visible()
    expect(page.get_by_label(re.compile("Deze computer"))).to_be_visible()  # the trusted-device question
    page.locator(CODE_FIELD).fill("000000")
    press(page, "Bevestigen")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the authenticator-app code page after a wrong code, with the trust question "
                            "and the other ways (branded, nl)")

    # The SMS code page: the prefix is shown before the box and read out with it.
    press(page, "Een code per sms")
    prefix_is_read_out(page)
    assert_accessible(page, "the SMS code page with its prefix (branded, nl)")
    press(page, "Stuur een nieuwe code")
    assert_accessible(page, "the SMS code page after \"Stuur een nieuwe code\" (branded, nl)")

    press(page, "Een code per e-mail")
    expect(page.get_by_text("We hebben een code per e-mail gestuurd")).to_be_visible()
    assert_accessible(page, "the e-mail code page (branded, nl)")

    press(page, "Een herstelcode")
    assert_accessible(page, "the recovery-code page (branded, nl)")

    press(page, "Een code per sms")
    page.locator(CODE_FIELD).fill(sms_code(provider, anna.phone))
    page.locator("input[name=trust]").check()
    press(page, "Bevestigen")
    page.wait_for_url(branded.url + "/**")

    # The account pages, on the same sign-in.
    page.goto(provider.issuer + "/account")
    expect(page.get_by_role("heading", name="Beveiliging van uw account")).to_be_visible()
    assert_accessible(page, "the account page (nl)")
    page.get_by_role("link", name="Wijzig uw wachtwoord").click()
    page.get_by_label("Nieuw wachtwoord", exact=True).fill("kort")
    expect(page.locator("#password-rules li.unmet").first).to_be_visible()
    assert_accessible(page, "the account's password page with the live rules (nl)")
    page.goto(provider.issuer + "/account")
    press(page, "Nieuwe herstelcodes maken")
    expect(page.get_by_role("heading", name="Bevestig uw wachtwoord")).to_be_visible()
    assert_accessible(page, "the password confirmation before a change (nl)")
    page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD)
    press(page, "Bevestigen en doorgaan")
    expect(page.get_by_role("heading", name="Uw herstelcodes")).to_be_visible()
    assert_accessible(page, "the account's new recovery codes (nl)")

    # The activity page: the wrong password, the sign-in with its code, the trusted browser, the new codes.
    page.goto(provider.issuer + "/account")
    page.get_by_role("link", name="Bekijk wanneer u bent ingelogd en wat er op uw account is veranderd").click()
    expect(page.get_by_role("heading", name="Recente activiteit")).to_be_visible()
    expect(page.get_by_text("Met uw wachtwoord en een code per sms").first).to_be_visible()
    assert_accessible(page, "the account's recent activity (nl)")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()
    expect(page.get_by_text("Someone tried to sign in to your account with a wrong password")).to_be_visible()
    assert_accessible(page, "the account's recent activity (en)")
    page.get_by_role("link", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")

    # Logging out at the provider without a portal's ID token asks first.
    page.goto(provider.issuer + "/logout")
    expect(page.get_by_role("heading", name="Wilt u uitloggen?")).to_be_visible()
    assert_accessible(page, "the logout confirmation (nl)")
    press(page, "Uitloggen")
    assert_accessible(page, "the logged-out page (nl)")


def test_enrolment_pages_at_the_branded_portal(page, provider, branded):
    """A person without a second factor sets one up at sign-in (each way looked at), then adds more on the
    account page."""
    bert = person(provider, username=True)
    to_sign_in(page, branded, provider)
    sign_in_with(page, bert.username, PASSWORD)
    expect(page.get_by_role("heading", name="Stel een tweede stap in")).to_be_visible()
    assert_accessible(page, "the choice of a second step (branded, nl)")

    press(page, "Met een authenticator-app")
    expect(page.get_by_role("img", name="QR-code voor uw authenticator-app")).to_be_visible()
    assert_accessible(page, "the authenticator-app set-up with its QR code (branded, nl)")
    press(page, "Kies een andere manier")

    press(page, "Per sms op mijn mobiele telefoon")
    page.get_by_label("Mobiel telefoonnummer").fill("12")
    press(page, "Stuur een code")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the SMS set-up after a wrong number (branded, nl)")
    page.get_by_label("Mobiel telefoonnummer").fill("0" + bert.phone[3:])
    press(page, "Stuur een code")
    prefix_is_read_out(page)
    assert_accessible(page, "the SMS set-up's code page with its prefix (branded, nl)")
    press(page, "Kies een andere manier")

    press(page, "Per e-mail")
    expect(page.locator(CODE_FIELD)).to_be_visible()
    assert_accessible(page, "the e-mail set-up's code page (branded, nl)")
    page.locator(CODE_FIELD).fill(latest_code(provider.app, bert.email))
    press(page, "Bevestigen")
    expect(page.get_by_role("heading", name="Uw herstelcodes")).to_be_visible()
    assert_accessible(page, "the recovery codes after the set-up (branded, nl)")
    press(page, "Ik heb deze codes bewaard")
    page.wait_for_url(branded.url + "/**")

    # The account page adds the other ways (after the password once more).
    page.goto(provider.issuer + "/account")
    press(page, "Sms-codes toevoegen")
    page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD)
    press(page, "Bevestigen en doorgaan")
    expect(page.get_by_label("Mobiel telefoonnummer")).to_be_visible()
    assert_accessible(page, "the account: adding SMS codes, the number (nl)")
    page.get_by_label("Mobiel telefoonnummer").fill("0" + bert.phone[3:])
    press(page, "Stuur een code")
    expect(page.locator(CODE_FIELD)).to_be_visible()
    assert_accessible(page, "the account: adding SMS codes, the code (nl)")
    page.goto(provider.issuer + "/account")
    press(page, "Authenticator-app toevoegen")
    expect(page.get_by_label("De code van 6 cijfers die de app toont")).to_be_visible()
    assert_accessible(page, "the account: adding an authenticator app (nl)")


def test_forgot_password_reset_link_and_phone_again_at_the_branded_portal(page, provider, branded):
    """Forgot password asking address and username, the neutral answer, the link's new password with the live
    rules, the phone set again with its code (prefix), the recovery codes, and the link once used."""
    carla = person(provider, username=True, factors_=("sms",))
    to_sign_in(page, branded, provider)
    page.get_by_role("link", name="Wachtwoord vergeten?").click()
    expect(page.get_by_label("Gebruikersnaam")).to_be_visible()  # this portal asks the username too
    assert_accessible(page, "forgot password, asking address and username (branded, nl)")
    page.get_by_label("E-mailadres").fill(carla.email)
    page.get_by_label("Gebruikersnaam").fill(carla.username)
    press(page, "Stuur mij een link")
    expect(page.get_by_role("heading", name="Kijk in uw e-mail")).to_be_visible()
    assert_accessible(page, "the neutral answer to forgot password (branded, nl)")

    link = link_in_mail(provider, carla.email, "reset_link")
    page.goto(link)
    page.get_by_label("Nieuw wachtwoord", exact=True).fill("kort")
    expect(page.locator("#password-rules li.unmet").first).to_be_visible()
    assert_accessible(page, "the reset link's new password with the live rules (branded, nl)")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nieuw wachtwoord herhalen").fill(NEW_PASSWORD)
    press(page, "Nieuw wachtwoord opslaan")

    expect(page.get_by_label("Mobiel telefoonnummer")).to_be_visible()  # this portal sets the phone again
    assert_accessible(page, "the phone number after a reset (branded, nl)")
    page.get_by_label("Mobiel telefoonnummer").fill("0" + carla.phone[3:])
    press(page, "Stuur een code")
    prefix_is_read_out(page)
    assert_accessible(page, "the phone's code page after a reset, with its prefix (branded, nl)")
    page.locator(CODE_FIELD).fill(sms_code(provider, carla.phone))
    press(page, "Bevestigen")
    assert_accessible(page, "the recovery codes after a reset (branded, nl)")

    open_error_page(page, link, 400)
    expect(page.get_by_role("heading", name="Deze link werkt niet meer")).to_be_visible()
    assert_accessible(page, "a used reset link (branded, nl)")


def test_activation_pages_password_first(page, english, provider, branded):
    """Date of birth (wrong, then right), password with the live rules, the mobile number, going on in another
    browser, the SMS code with its prefix, the ready page, and the link once used."""
    email = f"nieuw-{secrets.token_hex(4)}@example.org"
    mobile = f"06 {42000000 + secrets.randbelow(1_000_000)}"
    e164 = "+31" + mobile.replace(" ", "")[1:]
    cli(provider, "users", "add", "--email", email, "--name", "Nieuwe Cliënt", "--activate",
        "--birth-date", "1950-03-14", "--organisation", "Thuiszorg De Linde", "--portal", branded.client_id)
    link = link_in_mail(provider, email, "activation")
    page.goto(link)
    expect(page.get_by_label("Geboortedatum")).to_be_visible()
    assert_accessible(page, "activation: the date of birth (branded, nl)")
    page.get_by_label("Geboortedatum").fill("14-03-1951")
    press(page, "Volgende")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "activation: a wrong date of birth (branded, nl)")
    page.get_by_label("Geboortedatum").fill("14-03-1950")
    press(page, "Volgende")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill("kort")
    expect(page.locator("#password-rules li.unmet").first).to_be_visible()
    assert_accessible(page, "activation: the password with the live rules (branded, nl)")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nieuw wachtwoord herhalen").fill(NEW_PASSWORD)
    press(page, "Wachtwoord opslaan")
    expect(page.get_by_label("Mobiel telefoonnummer")).to_be_visible()
    assert_accessible(page, "activation: the mobile number (branded, nl)")

    # The same link in another browser, before the phone is confirmed: the password chosen goes on.
    english.goto(link)
    english.get_by_label("Date of birth").fill("14-03-1950")
    press(english, "Next")
    expect(english.get_by_role("heading", name="Activate your account")).to_be_visible()
    expect(english.get_by_label("Password", exact=True)).to_be_visible()
    assert_accessible(english, "activation: going on where it stopped (branded, en)")

    page.get_by_label("Mobiel telefoonnummer").fill(mobile)
    press(page, "Stuur een code")
    prefix_is_read_out(page)
    assert_accessible(page, "activation: the SMS code with its prefix (branded, nl)")
    page.locator(CODE_FIELD).fill(sms_code(provider, e164))
    press(page, "Bevestigen")
    expect(page.get_by_role("heading", name="Uw account is klaar")).to_be_visible()
    assert_accessible(page, "activation: the ready page with recovery codes (branded, nl)")
    open_error_page(page, link, 400)
    assert_accessible(page, "a used activation link (branded, nl)")


def test_activation_phone_first_in_english(english, provider):
    """Seed 003's order (profile activation_order=phone_first): link, SMS code to the number on record,
    password, ready."""
    portal_id = "axe-phone-first-" + secrets.token_hex(3)
    cli(provider, "clients", "add", "--name", "Zorgportaal Telefoon Eerst", "--client-id", portal_id,
        "--redirect-uri", "https://portal.example.org/callback", "--first-party",
        "--profile", "activation_order=phone_first", "--profile", "activation_phone=true")
    email = f"first-{secrets.token_hex(4)}@example.org"
    e164 = f"+316{43000000 + secrets.randbelow(1_000_000)}"
    cli(provider, "users", "add", "--email", email, "--name", "Piet Eerst", "--activate", "--phone", e164,
        "--portal", portal_id)
    english.goto(link_in_mail(provider, email, "activation"))
    expect(english.get_by_role("button", name="Send the code")).to_be_visible()
    assert_accessible(english, "phone-first activation: the number on record (en)")
    press(english, "Send the code")
    expect(english.locator(CODE_FIELD)).to_be_visible()
    assert_accessible(english, "phone-first activation: the SMS code (en)")
    english.locator(CODE_FIELD).fill(sms_code(provider, e164))
    press(english, "Confirm")
    english.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    expect(english.locator("#password-rules li.met").first).to_be_visible()
    assert_accessible(english, "phone-first activation: the password (en)")
    english.get_by_label("New password again").fill(NEW_PASSWORD)
    press(english, "Save the password")
    expect(english.get_by_role("heading", name="Your account is ready")).to_be_visible()
    assert_accessible(english, "phone-first activation: the ready page (en)")


def test_sms_only_portal_by_e_mail_address_recovery_code_to_a_new_phone_and_other_factor_portals(page, provider):
    """Seed 001's kind of portal (sign-in by e-mail address, an SMS at every sign-in, no trust question): a
    recovery code leads to a new mobile number; a portal that wants an app asks a person with only SMS to prove
    that first; a portal for work addresses turns another account away."""
    business = unserved_portal(provider, "Zakelijk portaal (axe)", "--mfa", "every", "--mfa-factor", "sms",
                               "--trusted-device-days", "0", "--profile", "sign_in_with=email",
                               "--profile", "sms_prefix=true")
    dirk = person(provider, factors_=("sms",), recovery_codes=True)
    authorize(page, provider, business)
    expect(page.get_by_label("E-mailadres", exact=True)).to_be_visible()
    assert_accessible(page, "the sign-in page asking an e-mail address (nl)")
    sign_in_with(page, dirk.email, PASSWORD)
    prefix_is_read_out(page)
    expect(page.locator("input[name=trust]")).to_have_count(0)
    press(page, "Een herstelcode")
    page.locator(CODE_FIELD).fill(dirk.recovery_codes[0])
    press(page, "Bevestigen")
    expect(page.get_by_role("heading", name="Uw nieuwe mobiele nummer")).to_be_visible()
    assert_accessible(page, "a new mobile number after a recovery code (nl)")
    new_phone = f"+316{44000000 + secrets.randbelow(1_000_000)}"
    page.get_by_label("Mobiel telefoonnummer").fill("0" + new_phone[3:])
    press(page, "Stuur een code")
    prefix_is_read_out(page)
    assert_accessible(page, "the new mobile number's code (nl)")

    app_only = unserved_portal(provider, "Portaal met app (axe)", "--mfa", "required", "--mfa-factor", "totp")
    eva = person(provider, factors_=("sms",))
    page.context.clear_cookies()
    authorize(page, provider, app_only)
    sign_in_with(page, eva.email, PASSWORD)
    expect(page.get_by_text("Bevestig eerst dat u het bent", exact=False)).to_be_visible()
    assert_accessible(page, "proving the factor one has before setting up another (nl)")

    work_only = unserved_portal(provider, "Portaal voor medewerkers (axe)", "--email-domain", "zorg.example")
    page.context.clear_cookies()
    authorize(page, provider, work_only)
    sign_in_with(page, eva.email, PASSWORD)
    expect(page.get_by_role("button", name="Inloggen met een ander account")).to_be_visible()
    assert_accessible(page, "another account needed for a work-only portal (nl)")


# --- the plain portal, in English --------------------------------------------------------------------------

def test_temporary_password_consent_and_registration_at_the_plain_portal(english, page, provider, plain):
    """The forced change of a temporary password, consent, and registration (the link opened elsewhere)."""
    email = f"temp-{secrets.token_hex(4)}@example.org"
    cli(provider, "users", "add", "--email", email, "--name", "Tom Temporary", "--temporary")
    body = messages(provider.app, to=email, template="temporary_password")[0]["body"]
    temporary = re.search(r"^([A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4})$", body, re.MULTILINE).group(1)

    to_sign_in(english, plain, provider)
    expect(english.get_by_label("E-mail address or username")).to_be_visible()
    assert_accessible(english, "the sign-in page asking an address or username (plain, en)")
    english.set_viewport_size({"width": 360, "height": 740})  # a phone: the card fills the screen
    english.get_by_role("button", name="Show password").click()
    expect(english.locator("#password")).to_have_attribute("type", "text")
    assert_accessible(english, "the sign-in page on a phone, password shown (plain, en)")
    english.get_by_role("button", name="Show password").click()
    english.set_viewport_size({"width": 1280, "height": 720})
    sign_in_with(english, email, temporary, button="Sign in")
    expect(english.get_by_role("heading", name="Choose a new password")).to_be_visible()
    english.get_by_label("New password", exact=True).fill("welkom1")
    expect(english.locator("#password-rules li.unmet").first).to_be_visible()
    assert_accessible(english, "the forced change of a temporary password (plain, en)")
    english.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    english.get_by_label("New password again").fill(NEW_PASSWORD)
    press(english, "Save the new password")
    expect(english.get_by_role("button", name="Allow")).to_be_visible()
    assert_accessible(english, "the consent page (plain, en)")
    press(english, "Allow")
    english.wait_for_url(plain.url + "/**")

    # Registration, from a browser without a session.
    english.context.clear_cookies()
    to_sign_in(english, plain, provider)
    english.get_by_role("link", name="Create an account").click()
    assert_accessible(english, "registration: the address (plain, en)")
    new = f"new-{secrets.token_hex(4)}@example.org"
    english.get_by_label("E-mail address").fill(new)
    press(english, "Send me the link")
    expect(english.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert_accessible(english, "registration: check your e-mail (plain, en)")
    # The link opened in another browser: the account is made, and the page leads back to the portal.
    page.goto(link_in_mail(provider, new, "registration_link"))
    page.locator("#new_password").fill(NEW_PASSWORD)
    expect(page.locator("#password-rules li.met").first).to_be_visible()
    assert_accessible(page, "registration: the password (plain)")
    page.locator("#confirm_password").fill(NEW_PASSWORD)
    press(page, re.compile("^(Create my account|Mijn account aanmaken)$"))
    ready = re.compile("^(Your account is ready|Uw account is klaar)$")
    expect(page.get_by_role("heading", name=ready)).to_be_visible()
    assert_accessible(page, "registration: the ready page in another browser (plain)")


def test_lockout_code_limit_and_forgot_password_at_the_plain_portal(english, page, provider, plain):
    """The lockout, the page when too many codes were asked, forgot password by address, and the reset finished
    in another browser."""
    from idp import clock
    from idp.extensions import db
    from idp.models import User
    from idp.runtime import settings
    from idp.security import codes

    locked = person(provider)
    to_sign_in(english, plain, provider)
    for _ in range(5):
        sign_in_with(english, locked.email, "Wrong-password-1", button="Sign in")
    expect(english.get_by_role("alert")).to_contain_text("locked")
    assert_accessible(english, "the lockout (plain, en)")

    # A person whose codes were asked too often this hour: the page says until when, and what else to do.
    capped = person(provider, factors_=("email",))
    with provider.app.app_context():
        user = db.session.query(User).filter_by(email=capped.email).one()
        now = clock.now()
        for n in range(settings().codes.per_user_per_hour):
            codes.issue(user, channel="email", purpose="sign_in:email", destination=capped.email,
                        flow_uid=f"earlier-{n}", now=now - timedelta(minutes=50 - n))
        db.session.commit()
        db.session.remove()
    english.context.clear_cookies()
    to_sign_in(english, plain, provider)
    sign_in_with(english, capped.email, PASSWORD, button="Sign in")
    expect(english.get_by_role("alert")).to_contain_text("Too many codes")
    assert_accessible(english, "the code limit reached (plain, en)")

    # Forgot password with the address only, and its neutral answer.
    english.goto(provider.issuer + "/reset")
    expect(english.get_by_label("Username")).to_have_count(0)
    assert_accessible(english, "forgot password, asking the address (en)")
    forgetful = person(provider)
    english.get_by_label("E-mail address").fill(forgetful.email)
    press(english, "Send me a link")
    assert_accessible(english, "the neutral answer to forgot password (en)")

    # The link opened in another browser (a Dutch one): the new password, then the page that says it is done.
    page.goto(link_in_mail(provider, forgetful.email, "reset_link"))
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nieuw wachtwoord herhalen").fill(NEW_PASSWORD)
    expect(page.locator("#password-rules li.unmet")).to_have_count(0)
    assert_accessible(page, "the reset link's new password, every rule met (nl)")
    press(page, "Nieuw wachtwoord opslaan")
    expect(page.get_by_role("heading", name="Uw wachtwoord is gewijzigd")).to_be_visible()
    assert_accessible(page, "the reset done in another browser (nl)")


def test_error_pages(english, page, provider):
    """What a person sees when something cannot go on, in Dutch and English; and the home page."""
    open_error_page(english, provider.issuer + "/login/no-such-sign-in", 400)
    assert_accessible(english, "an expired sign-in (en)")
    open_error_page(page, provider.issuer + "/login/no-such-sign-in", 400)
    assert_accessible(page, "an expired sign-in (nl)")
    open_error_page(page, provider.issuer + "/reset/no-such-link", 400)
    assert_accessible(page, "a dead reset link (nl)")
    open_error_page(page, provider.issuer + "/register/no-such-link", 400)
    assert_accessible(page, "a dead registration link (nl)")
    open_error_page(english, provider.issuer + "/activate/no-such-link", 400)
    assert_accessible(english, "a dead activation link (en)")
    open_error_page(english, provider.issuer + "/no-such-page", 404)
    assert_accessible(english, "page not found (en)")
    open_error_page(page, provider.issuer + "/authorize?client_id=nobody&response_type=code", 400)
    assert_accessible(page, "a portal's malformed request (nl)")
    open_error_page(english, provider.issuer + "/logout?post_logout_redirect_uri=https://elders.example/", 400)
    assert_accessible(english, "a log-out request that cannot be checked (en)")
    open_error_page(page, provider.issuer + "/account/callback?state=unknown", 400)
    assert_accessible(page, "the account page's sign-in that did not work (nl)")
    page.goto(provider.issuer + "/")
    assert_accessible(page, "the home page (nl)")

    # A form sent after its session was gone (cookies cleared): the page that says it was open too long.
    page.goto(provider.issuer + "/reset")
    page.context.clear_cookies()
    page.get_by_label("E-mailadres").fill("iemand@example.org")
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Stuur mij een link").click()
    assert sent.value.status == 400
    page.console_errors[:] = [e for e in page.console_errors if "status of 400" not in e]
    expect(page.get_by_role("heading", name="Deze pagina stond te lang open")).to_be_visible()
    assert_accessible(page, "a form sent too late (nl)")


def test_a_violation_fails_with_a_list_a_person_can_act_on(page):
    """The check itself: an unlabelled box and grey-on-white text fail, naming the page, rule, element and fix;
    with every request refused, axe-core still runs (its script comes from the installed package)."""
    fetched = []
    page.context.route("**/*", lambda route: (fetched.append(route.request.url), route.abort()))
    page.set_content('<!doctype html><html lang="nl"><head><title>Proef</title></head><body><main><h1>Proef</h1>'
                     '<input id="box"><p style="color:#aaa">Licht grijs</p></main></body></html>')
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page, "a page made to fail")
    report = str(failed.value)
    assert "on a page made to fail" in report
    assert "- label (critical): Form elements must have labels" in report and "at #box" in report
    assert "- color-contrast (serious)" in report and "    at p\n" in report
    assert "insufficient color contrast of 2.32" in report
    assert fetched == []


def test_the_account_pages_for_details_sessions_portals_and_data(page, provider, branded):
    """Issue 16 part 4: the details page (name, e-mail by link, mobile number by SMS), where you are signed in,
    connected portals, your data, and deleting the account (the portal allows it here)."""
    from idp import clock, sessions
    from idp.extensions import db
    from idp.models import User

    anna = person(provider, username=True, factors_=("sms",))
    cli(provider, "clients", "update", branded.client_id, "--profile", "self_delete=true")
    to_sign_in(page, branded, provider)
    sign_in_with(page, anna.username, PASSWORD)
    page.locator(CODE_FIELD).fill(sms_code(provider, anna.phone))
    press(page, "Bevestigen")
    page.wait_for_url(branded.url + "/**")
    with provider.app.app_context():  # the same person in another browser
        user = db.session.scalar(db.select(User).where(User.email == anna.email))
        sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now(), ip="192.0.2.7",
                       user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0")
        db.session.commit()
        db.session.remove()

    page.goto(provider.issuer + "/account")
    page.get_by_role("link", name="Uw naam, e-mailadres en mobiele nummer").click()
    expect(page.get_by_role("heading", name="Uw gegevens")).to_be_visible()
    assert_accessible(page, "the account's details (nl)")
    page.get_by_label("Uw naam").fill("")
    press(page, "Uw naam opslaan")
    expect(page.get_by_role("heading", name="Bevestig uw wachtwoord")).to_be_visible()
    page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD)
    press(page, "Bevestigen en doorgaan")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the account's details after an empty name (nl)")
    page.get_by_label("Nieuw e-mailadres").fill("geen adres")
    press(page, "Stuur de link")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the account's details after a wrong e-mail address (nl)")
    new_address = "nieuw-" + anna.email
    page.get_by_label("Nieuw e-mailadres").fill(new_address)
    press(page, "Stuur de link")
    expect(page.get_by_role("heading", name="Kijk in uw e-mail")).to_be_visible()
    assert_accessible(page, "the account: the link to the new address is on its way (nl)")
    link = link_in_mail(provider, new_address, "email_change_link")
    page.goto(link)
    expect(page.get_by_role("heading", name="Uw nieuwe e-mailadres bevestigen")).to_be_visible()
    assert_accessible(page, "the account: confirming the new e-mail address (nl)")
    press(page, "Ja, gebruik dit adres")
    expect(page.get_by_role("heading", name="Uw e-mailadres is gewijzigd")).to_be_visible()
    assert_accessible(page, "the account: the e-mail address changed (nl)")
    open_error_page(page, link, 400)
    expect(page.get_by_role("heading", name="Deze link werkt niet meer")).to_be_visible()
    assert_accessible(page, "the account: an e-mail change link that no longer works (nl)")

    page.goto(provider.issuer + "/account/profile")
    press(page, "Uw mobiele nummer wijzigen")
    expect(page.get_by_label("Mobiel telefoonnummer")).to_be_visible()
    assert_accessible(page, "the account: a new mobile number (nl)")
    new_phone = "+316" + str(int(anna.phone[4:]) + 1).zfill(8)
    page.get_by_label("Mobiel telefoonnummer").fill("0" + new_phone[3:])
    press(page, "Stuur een code")
    expect(page.locator(CODE_FIELD)).to_be_visible()
    assert_accessible(page, "the account: the code for the new mobile number (nl)")
    page.locator(CODE_FIELD).fill(sms_code(provider, new_phone))
    press(page, "Bevestigen")
    expect(page.get_by_role("status")).to_be_visible()
    assert_accessible(page, "the account's details after the new number (nl)")

    page.goto(provider.issuer + "/account")
    page.get_by_role("link", name="Waar u bent ingelogd").click()
    expect(page.get_by_role("button", name="Firefox op Windows uitloggen")).to_be_visible()
    assert_accessible(page, "the account: where you are signed in (nl)")
    press(page, "Overal anders uitloggen")
    expect(page.get_by_role("status")).to_be_visible()
    assert_accessible(page, "the account: signed out everywhere else (nl)")
    page.goto(provider.issuer + "/account/portals")
    expect(page.get_by_text("Clientportaal De Linde", exact=True)).to_be_visible()
    assert_accessible(page, "the account: connected portals (nl)")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Connected portals")).to_be_visible()
    assert_accessible(page, "the account: connected portals (en)")
    page.get_by_role("link", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")

    page.goto(provider.issuer + "/account/data")
    expect(page.get_by_role("heading", name="Uw gegevens", exact=True)).to_be_visible()
    assert_accessible(page, "the account: your data (nl)")
    press(page, "Uw account verwijderen")
    expect(page.get_by_role("button", name="Ja, verwijder mijn account")).to_be_visible()
    assert_accessible(page, "the account: deleting the account, the last step (nl)")
    press(page, "Ja, verwijder mijn account")
    expect(page.get_by_role("heading", name="Uw account is verwijderd")).to_be_visible()
    assert_accessible(page, "the account: the account deleted (nl)")
    cli(provider, "clients", "update", branded.client_id, "--profile", "self_delete=false")


# --- the admin console (issue 16 part 2) ----------------------------------------------------------------------

def test_the_admin_console_pages(page, english, provider):
    """A helpdesk person signs in at /admin (password and SMS code), finds a locked professional, opens their
    page, confirms the unlock and sees it done; in Dutch and English. Someone without an admin role gets the
    403 page."""
    from idp.extensions import db
    from idp.models import User
    from idp.security import lockout

    helper = person(provider, factors_=("sms",))
    piet = person(provider)
    nobody = person(provider)
    cli(provider, "admins", "grant", helper.email, "helpdesk")
    with provider.app.app_context():
        for _ in range(5):
            lockout.record_failure(piet.email, lockout.begin_attempt(piet.email),
                                   db.session.query(User).filter_by(email=piet.email).one())
        db.session.commit()
        db.session.remove()

    page.goto(provider.issuer + "/admin")
    sign_in_with(page, helper.email, PASSWORD, button="Inloggen")
    page.locator(CODE_FIELD).fill(sms_code(provider, helper.phone))
    press(page, "Bevestigen")
    expect(page.get_by_role("heading", name="Zoek een persoon")).to_be_visible()
    assert_accessible(page, "the console's search page (nl)")
    page.get_by_label("Naam, e-mailadres, gebruikersnaam of organisatie").fill(piet.email)
    press(page, "Zoek")
    assert_accessible(page, "the console's search results (nl)")
    page.get_by_role("link", name="Anna de Vries").click()
    expect(page.get_by_text("vergrendeld sinds", exact=False)).to_be_visible()
    assert_accessible(page, "a person's page in the console (nl)")
    page.get_by_role("link", name="Ontgrendel het account").click()
    assert_accessible(page, "the console's confirmation of an unlock (nl)")
    press(page, "Ja, ontgrendel")
    expect(page.get_by_role("status")).to_be_visible()
    assert_accessible(page, "a person's page after the unlock (nl)")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Recent audit trail")).to_be_visible()
    assert_accessible(page, "a person's page in the console (en)")

    english.goto(provider.issuer + "/account")
    sign_in_with(english, nobody.email, PASSWORD, button="Sign in")
    english.wait_for_url(provider.issuer + "/account")
    open_error_page(english, provider.issuer + "/admin/people", 403)
    expect(english.get_by_role("heading", name="No access")).to_be_visible()
    assert_accessible(english, "the console's page for someone without an admin role (en)")


def test_the_admin_audit_and_messages_pages(page, english, provider):
    """A deployment admin signs in at /admin/audit (password and SMS code), filters the audit (a bad date gets its
    message beside the field), opens the messages not delivered, and sends one again and then all; in Dutch and
    English. Someone without an admin role gets the 403 page on both."""
    from idp.extensions import db
    from idp.messaging import send
    from idp.models import User

    admin = person(provider, factors_=("sms",))
    piet = person(provider)
    nobody = person(provider)
    cli(provider, "admins", "grant", admin.email, "deployment")
    with provider.app.app_context():
        for n in range(2):
            message = send("sms", piet.phone, "login_code", user=db.session.query(User).filter_by(
                email=piet.email).one(), code=f"90817{n}", minutes=5, portal="Huisartsportaal")
            message.status, message.attempts, message.last_error = "dead", 8, "HTTP 503"
        db.session.commit()
        db.session.remove()

    page.goto(provider.issuer + "/admin/audit")
    sign_in_with(page, admin.email, PASSWORD, button="Inloggen")
    page.locator(CODE_FIELD).fill(sms_code(provider, admin.phone))
    press(page, "Bevestigen")
    expect(page.get_by_role("heading", name="Audittrail")).to_be_visible()
    assert_accessible(page, "the console's audit trail (nl)")
    page.get_by_label("Persoon (e-mailadres of sub)", exact=True).fill(admin.email)
    page.get_by_label("Gebeurtenis", exact=True).select_option("group:sign-in")
    press(page, "Toon")
    expect(page.locator("ol.items li").first).to_be_visible()
    assert_accessible(page, "the console's audit trail, filtered (nl)")
    page.goto(provider.issuer + "/admin/audit?since=gisteren&person=" + piet.email)
    expect(page.locator("#since-error")).to_be_visible()
    assert_accessible(page, "the console's audit trail with a date it cannot read (nl)")

    page.goto(provider.issuer + "/admin/messages")
    expect(page.get_by_role("heading", name="Niet afgeleverde berichten")).to_be_visible()
    assert_accessible(page, "the console's messages not delivered (nl)")
    page.get_by_role("link", name=re.compile(r"^Verstuur bericht \d+ opnieuw$")).first.click()
    expect(page.get_by_role("button", name="Ja, verstuur opnieuw")).to_be_visible()
    assert_accessible(page, "the console's confirmation of sending a message again (nl)")
    press(page, "Ja, verstuur opnieuw")
    expect(page.get_by_role("status")).to_be_visible()
    assert_accessible(page, "the console's messages after sending one again (nl)")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Messages not delivered")).to_be_visible()
    assert_accessible(page, "the console's messages not delivered (en)")
    page.get_by_role("link", name="Send all again").click()
    expect(page.get_by_role("button", name="Yes, send again")).to_be_visible()
    assert_accessible(page, "the console's confirmation of sending all again (en)")
    press(page, "Yes, send again")
    expect(page.get_by_text("Every message has been delivered or is still being tried.")).to_be_visible()
    assert_accessible(page, "the console's messages with none left (en)")
    page.goto(provider.issuer + "/admin/audit?event=group:messages")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    assert_accessible(page, "the console's audit trail (en)")

    english.goto(provider.issuer + "/account")
    sign_in_with(english, nobody.email, PASSWORD, button="Sign in")
    english.wait_for_url(provider.issuer + "/account")
    for url in ("/admin/audit", "/admin/messages"):
        open_error_page(english, provider.issuer + url, 403)
        expect(english.get_by_role("heading", name="No access")).to_be_visible()


def test_the_admin_console_portal_pages(english, provider):
    """A deployment admin registers a portal in the console (first with a wildcard address: the error beside the
    field), sees its secret once, changes it, gives it a new secret and disables it; every page in English, the
    list and the form in Dutch too."""
    dora = person(provider, factors_=("sms",))
    cli(provider, "admins", "grant", dora.email, "deployment")
    tab = english

    tab.goto(provider.issuer + "/admin/portals")
    sign_in_with(tab, dora.email, PASSWORD, button="Sign in")
    tab.locator(CODE_FIELD).fill(sms_code(provider, dora.phone))
    press(tab, "Confirm")
    expect(tab.get_by_role("heading", name="Portals", exact=True)).to_be_visible()
    assert_accessible(tab, "the console's portals (en)")
    tab.get_by_role("link", name="Register a portal").click()
    expect(tab.get_by_role("heading", name="Register a portal")).to_be_visible()
    assert_accessible(tab, "the console's form to register a portal (en)")
    tab.get_by_label("Name", exact=True).fill("Axe-portaal")
    tab.get_by_label("Redirect URIs", exact=True).fill("https://*.example.org/callback")
    tab.get_by_label("Accent colour (#rrggbb)").fill("#eeeeee")
    press(tab, "Register the portal")
    expect(tab.locator("#redirect_uris-error")).to_be_visible()
    assert_accessible(tab, "the console's portal form with errors beside the fields (en)")
    tab.get_by_label("Redirect URIs", exact=True).fill("http://127.0.0.1:9999/callback")
    tab.get_by_label("Accent colour (#rrggbb)").fill("#1d5c8a")
    press(tab, "Register the portal")
    expect(tab.locator("#client-secret")).to_be_visible()
    assert_accessible(tab, "the console's new portal with its secret, shown once (en)")
    tab.get_by_role("link", name="Go to the portal").click()
    expect(tab.get_by_role("heading", name="Axe-portaal")).to_be_visible()
    assert_accessible(tab, "a portal's page in the console (en)")
    tab.get_by_role("link", name="Change the portal").click()
    assert_accessible(tab, "the console's form to change a portal (en)")
    tab.get_by_label("Organisation name on the sign-in pages").fill("Zorggroep Axe")
    press(tab, "Save the portal")
    expect(tab.get_by_role("status")).to_be_visible()
    tab.get_by_role("link", name="Give the portal a new secret").click()
    assert_accessible(tab, "the console's confirmation of a new secret (en)")
    press(tab, "Yes, make a new secret")
    expect(tab.locator("#client-secret")).to_be_visible()
    assert_accessible(tab, "the console's new secret, shown once (en)")
    tab.get_by_role("link", name="Go to the portal").click()
    tab.get_by_role("link", name="Disable the portal").click()
    assert_accessible(tab, "the console's confirmation of disabling a portal (en)")
    press(tab, "Yes, disable")
    expect(tab.get_by_role("status")).to_be_visible()
    assert_accessible(tab, "a disabled portal's page in the console (en)")

    tab.get_by_role("link", name="Nederlands").click()
    expect(tab.get_by_role("heading", name="Axe-portaal")).to_be_visible()
    assert_accessible(tab, "a portal's page in the console (nl)")
    tab.goto(provider.issuer + "/admin/portals")
    expect(tab.get_by_role("heading", name="Portalen", exact=True)).to_be_visible()
    assert_accessible(tab, "the console's portals (nl)")
    tab.get_by_role("link", name="Registreer een portaal").click()
    assert_accessible(tab, "the console's form to register a portal (nl)")


def test_the_admin_console_people_and_organisations_pages(page, english, provider):
    """A deployment admin walks the console's other pages (issue 16 part 2): a new person (empty and with errors
    beside the fields), changing a person, the admin role, erasing (with a wrong confirmation), the organisations
    list and its form (with an error); in Dutch, and a few in English."""
    admin = person(provider, factors_=("sms",))
    piet = person(provider)
    cli(provider, "admins", "grant", admin.email, "deployment")

    page.goto(provider.issuer + "/admin/people/new")
    sign_in_with(page, admin.email, PASSWORD, button="Inloggen")
    page.locator(CODE_FIELD).fill(sms_code(provider, admin.phone))
    press(page, "Bevestigen")
    expect(page.get_by_role("heading", name="Nieuwe gebruiker")).to_be_visible()
    assert_accessible(page, "the console's new person page (nl)")
    page.get_by_label("E-mailadres", exact=True).fill("geen adres")
    page.get_by_label("Geboortedatum (niet verplicht)").fill("31-02-1970")
    press(page, "Account aanmaken")
    expect(page.locator("#portal-error")).to_be_visible()
    expect(page.locator("#email-error")).to_be_visible()
    assert_accessible(page, "the console's new person page with errors beside the fields (nl)")

    with provider.app.app_context():
        from idp.models import User

        sub = User.query.filter_by(email=piet.email).one().sub
    people = provider.issuer + f"/admin/people/{sub}"
    page.goto(people + "/edit")
    expect(page.get_by_role("heading", name="Anna de Vries wijzigen")).to_be_visible()
    assert_accessible(page, "the console's page changing a person (nl)")
    page.get_by_label("E-mailadres", exact=True).fill("ook geen adres")
    press(page, "Wijzigingen opslaan")
    expect(page.locator("#email-error")).to_be_visible()
    assert_accessible(page, "the console's page changing a person, with an error (nl)")
    page.goto(people + "/admin-role")
    assert_accessible(page, "the console's admin role page (nl)")
    page.goto(people + "/erase")
    assert_accessible(page, "the console's erase page (nl)")
    page.get_by_label("Typ het e-mailadres van de persoon om te bevestigen").fill("iemand anders")
    press(page, "Definitief wissen")
    expect(page.locator("#email-error")).to_be_visible()
    assert_accessible(page, "the console's erase page with a wrong confirmation (nl)")

    page.goto(provider.issuer + "/admin/organisations/new")
    assert_accessible(page, "the console's new organisation page (nl)")
    page.get_by_label("Naam", exact=True).fill("Thuiszorg Axe")
    page.get_by_label("E-maildomeinen (niet verplicht)").fill("geen domein")
    press(page, "Opslaan")
    expect(page.locator("#email_domains-error")).to_be_visible()
    assert_accessible(page, "the console's new organisation page with errors (nl)")
    page.get_by_label("E-maildomeinen (niet verplicht)").fill("thuiszorg-axe.example")
    page.get_by_label("Soort").select_option("care_provider")
    press(page, "Opslaan")
    expect(page.get_by_role("heading", name="Organisaties")).to_be_visible()
    assert_accessible(page, "the console's organisations list (nl)")
    page.get_by_role("link", name="Thuiszorg Axe").click()
    assert_accessible(page, "the console's page changing an organisation (nl)")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_accessible(page, "the console's page changing an organisation (en)")
    page.goto(provider.issuer + "/admin/people/new")
    expect(page.get_by_role("heading", name="New person")).to_be_visible()
    assert_accessible(page, "the console's new person page (en)")
