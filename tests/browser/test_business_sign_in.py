"""Jan signs in to the insurer's business portal (seed 001) in a real browser: his work address and password,
then an SMS code, and at his next arrival the password and an SMS code again. A code at every sign-in: no
"trust this computer", no single sign-on standing in for it."""

from __future__ import annotations

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import enter_code, enter_password, screenshot, sms_code
from tests.clients.conftest import start_demo_portal
from tests.mfa_helpers import messages

pytestmark = pytest.mark.slow
PASSWORD = "Kantoorpand-2026"
PHONE = "+31649000011"


@pytest.fixture(scope="module")
def zakelijk(provider):
    running, server = start_demo_portal(provider, "demo-business")
    yield running
    server.stop()


@pytest.fixture
def jan(provider, zakelijk) -> str:
    """A colleague at a care provider, with his mobile number confirmed as his second factor."""
    from idp.accounts import factors
    from idp.accounts.users import create_user
    from idp.extensions import db

    with provider.app.app_context():
        user = create_user("jan@business.example.org", PASSWORD, name="Jan de Zorgaanbieder", phone=PHONE)
        factors.add_confirmed(user, "sms", phone_number=PHONE, secret=None)
        db.session.commit()
        db.session.remove()
    return "jan@business.example.org"


def test_an_sms_code_at_every_sign_in_and_never_a_trusted_computer(page, provider, zakelijk, jan):
    for arrival in (1, 2):
        page.goto(zakelijk.url + "/")
        page.get_by_role("link", name="Inloggen").first.click()
        page.wait_for_url(provider.issuer + "/login/**")
        assert "Zorgverzekeraar Zuid" in page.title()
        if arrival == 1:
            assert_accessible(page, "business-01-password")
        enter_password(page, provider, jan, PASSWORD, shot=f"business-0{arrival}-password")

        code = page.locator("input[autocomplete=one-time-code]")
        code.wait_for()
        assert page.locator("input[name=trust]").count() == 0  # nothing to trust: a code every time
        assert page.locator("#code-prefix").count() == 0  # the insurer shows no prefix
        if arrival == 1:
            assert_accessible(page, "business-02-sms-code")
        enter_code(page, sms_code(provider, PHONE), shot=f"business-0{arrival}-sms-code")
        page.wait_for_url(zakelijk.url + "/**")
        assert "Goedendag, Jan de Zorgaanbieder" in page.content()
        screenshot(page, f"business-0{arrival}-signed-in")
        page.get_by_role("button", name="Uitloggen").click()
        page.wait_for_url(zakelijk.url + "/**")

    sent = messages(provider.app, to=PHONE)
    assert len(sent) == 2 and all("Zorgverzekeraar Zuid" in sms["body"] for sms in sent)
