"""ui_locales and claims_locales (OIDC Core §3.1.2.1): Dutch by default, English on request."""

import pytest

from idp.models import AuthorizationCode
from tests.helpers import html_lang

PASSWORD = "correct horse battery"


def _login_page(rp, **extra):
    return rp.client.get(rp.login_url(**extra))


def test_sign_in_page_is_dutch_by_default(rp, user):
    assert html_lang(_login_page(rp).get_data(as_text=True)) == "nl"


@pytest.mark.parametrize(("ui_locales", "lang"), [
    ("en", "en"), ("en-GB", "en"), ("fr en", "en"), ("nl", "nl"), ("fr de", "nl"),
])
def test_ui_locales_picks_the_first_supported_language(rp, user, ui_locales, lang):
    assert html_lang(_login_page(rp, ui_locales=ui_locales).get_data(as_text=True)) == lang


def test_ui_locales_wins_over_the_browser_language(rp, user):
    login_url = rp.login_url(ui_locales="nl")
    page = rp.client.get(login_url, headers={"Accept-Language": "en"})
    assert html_lang(page.get_data(as_text=True)) == "nl"


def test_language_stays_english_after_a_wrong_password(rp, user):
    response = rp.submit_password(rp.login_url(ui_locales="en"), user.email, "wrong password!")
    assert response.status_code == 200
    assert html_lang(response.get_data(as_text=True)) == "en"


def test_error_page_of_the_authorization_endpoint_follows_ui_locales(rp, user):
    response = rp.authorize(client_id="no-such-portal", ui_locales="en")
    assert response.status_code == 400
    assert html_lang(response.get_data(as_text=True)) == "en"


def test_claims_locales_is_accepted_and_kept_with_the_code(rp, user):
    callback = rp.sign_in(user.email, PASSWORD, claims_locales="nl en")
    assert callback["code"]
    assert AuthorizationCode.query.one().claims_locales == "nl en"
    assert rp.exchange(callback["code"]).status_code == 200
