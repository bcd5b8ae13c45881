"""One sign-in, several portals (the mission): a care professional signs in once and opens the other portal
without a password, is asked only the second factor where a portal needs more, and logging out at one portal
logs the others out through back-channel logout. Real Chromium, real servers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import enter_code, enter_password, screenshot, sms_code
from tests.mfa_helpers import messages

pytestmark = pytest.mark.slow


def portal_session(tab, portal) -> dict:
    """What the portal keeps in its signed session cookie in this browser (to wait for its back-channel logout)."""
    app = portal.app
    name = app.config["SESSION_COOKIE_NAME"]
    value = next(c["value"] for c in tab.context.cookies(portal.url) if c["name"] == name)
    return app.session_interface.get_signing_serializer(app).loads(value)


def log_out(tab, portal) -> None:
    """The portal's Uitloggen button: through the provider's end-session endpoint and back to the portal."""
    tab.get_by_role("button", name="Uitloggen").click()
    tab.wait_for_url(portal.url + "/")


def back_channel_logout_reached(tab, portal) -> None:
    """The other portal's session ends by the provider's POST to its back-channel endpoint, not by the browser."""
    sid = portal_session(tab, portal)["sid"]
    assert portal.app.extensions["ended_sessions"].wait(sid, timeout=15), "no back-channel logout arrived"


def test_patient_portal_then_ordering_portal_without_a_password_then_logout_everywhere(
        page, provider, portal, ordering_portal, make_person):
    """Password + SMS at the GP portal; the ordering portal (seed 000) opens on the same sign-in, with the
    professional's pages (their second factor is already proven); Uitloggen at the GP portal ends both."""
    person = make_person(roles=["professional"], sms=True, name="Karin de Wit")
    page.goto(portal.url + "/")
    page.get_by_role("link", name="Inloggen").first.click()
    enter_password(page, provider, person.email, shot="sso-01-password")
    page.locator("input[autocomplete=one-time-code]").wait_for()  # the page that sent the code is there
    enter_code(page, sms_code(provider, person.phone), shot="sso-02-sms-code")
    page.wait_for_url(portal.url + "/**")
    assert "Karin de Wit" in page.content() and "met wachtwoord en sms-code" in page.content()
    screenshot(page, "sso-03-patient-portal")
    sent = len(messages(provider.app, to=person.phone))

    page.goto(ordering_portal.url + "/")
    page.get_by_role("link", name="Inloggen").first.click()
    page.wait_for_url(ordering_portal.url + "/overzicht")  # straight back: no password, no code
    assert len(messages(provider.app, to=person.phone)) == sent, "no new SMS code"
    assert "(zorgprofessional)" in page.content()
    page.get_by_role("link", name="Bestellingen", exact=True).click()  # only for professionals with mfa
    page.wait_for_url(ordering_portal.url + "/bestellingen")
    screenshot(page, "sso-04-ordering-portal-professional")

    page.goto(portal.url + "/overzicht")
    log_out(page, portal)
    screenshot(page, "sso-05-logged-out-at-patient-portal")
    back_channel_logout_reached(page, ordering_portal)

    page.goto(ordering_portal.url + "/overzicht")
    page.wait_for_url(ordering_portal.url + "/")  # signed out: the welcome page with Inloggen
    assert page.get_by_role("link", name="Inloggen").first.is_visible()
    screenshot(page, "sso-06-ordering-portal-logged-out")


def test_the_professional_pages_ask_only_the_second_factor_then_the_gp_portal_asks_nothing(
        page, provider, portal, ordering_portal_without_mfa, make_person):
    """An ordering portal that asks no second factor of end users: a professional signs in with the password, the
    portal steps them up (acr_values) and the provider asks only the SMS code, not the password again; the GP
    portal (second factor required) then needs nothing more. Uitloggen at the ordering portal ends the GP one."""
    ordering = ordering_portal_without_mfa
    person = make_person(roles=["professional"], sms=True, name="Karin de Wit")
    authorize = []
    page.on("request", lambda req: "/authorize?" in req.url and authorize.append(parse_qs(urlsplit(req.url).query)))
    page.goto(ordering.url + "/")
    page.get_by_role("link", name="Inloggen").first.click()
    enter_password(page, provider, person.email, shot="stepup-01-password")

    page.locator("input[autocomplete=one-time-code]").wait_for()  # the portal's step-up: the code page ...
    assert page.locator("#password").count() == 0  # ... and no password asked again
    assert_accessible(page, "stepup-02-only-the-sms-code")
    assert "acr_values" not in authorize[0] and authorize[1]["acr_values"] == ["urn:idp:acr:mfa"], authorize
    enter_code(page, sms_code(provider, person.phone), shot="stepup-02-only-the-sms-code")
    page.wait_for_url(ordering.url + "/overzicht")
    assert "(zorgprofessional)" in page.content() and "met wachtwoord en sms-code" in page.content()
    screenshot(page, "stepup-03-ordering-portal-professional")

    sent = len(messages(provider.app, to=person.phone))
    page.goto(portal.url + "/")
    page.get_by_role("link", name="Inloggen").first.click()
    page.wait_for_url(portal.url + "/overzicht")
    assert len(messages(provider.app, to=person.phone)) == sent
    assert "Karin de Wit" in page.content()
    screenshot(page, "stepup-04-patient-portal-single-sign-on")

    page.goto(ordering.url + "/overzicht")
    log_out(page, ordering)
    back_channel_logout_reached(page, portal)
    page.goto(portal.url + "/overzicht")
    page.wait_for_url(portal.url + "/")
    screenshot(page, "stepup-05-patient-portal-logged-out")
