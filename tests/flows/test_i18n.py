"""Dutch by default, English complete: the catalogs, and how a page's language is chosen."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from idp import i18n
from tests.flows.page import Page, text
from tests.helpers import browser as isolated_client

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "idp" / "translations"


def catalog(lang: str):
    with (CATALOGS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def messages(lang: str) -> dict[str, object]:
    return {m.id: m for m in catalog(lang) if m.id}


def extracted_ids(tmp_path: Path) -> set:
    """Run the real extraction over the code and templates, as a developer would."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


@pytest.fixture
def client(app):
    return isolated_client(app)


# --- the catalogs ---------------------------------------------------------------------------------

def test_every_dutch_message_has_a_real_translation():
    nl = catalog("nl")
    untranslated = [m.id for m in nl if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []
    assert not nl.fuzzy


def test_dutch_translations_keep_their_placeholders():
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog("nl").check()]
    assert problems == []


def test_english_catalog_is_complete_and_says_what_the_code_says():
    en = messages("en")
    assert en.keys() == messages("nl").keys()
    assert [m.id for m in en.values() if m.string != m.id or m.fuzzy] == []


def test_extraction_finds_no_message_missing_from_the_catalogs(tmp_path):
    found = extracted_ids(tmp_path)
    assert "Sign in" in found and "Show password" in found  # the extraction really read the templates
    assert sorted(found - messages("nl").keys(), key=str) == []
    assert sorted(found - messages("en").keys(), key=str) == []


# --- the informal Dutch catalog (issue 14: a portal may say je instead of u) ------------------------

ADDRESSES_THE_READER_FORMALLY = re.compile(r"\b(?:u|uw)\b", re.IGNORECASE)
ADDRESSES_THE_READER_INFORMALLY = re.compile(r"\b(?:je|jij|jouw|jou)\b", re.IGNORECASE)


def strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, list | tuple) else [message.string]


def test_every_dutch_message_that_says_u_has_a_je_form():
    informal = messages("nl@informal")
    formal = [m for m in catalog("nl") if m.id and any(ADDRESSES_THE_READER_FORMALLY.search(s) for s in strings(m))]
    assert len(formal) > 150  # the test really found the messages that speak to the reader
    missing = [m.id for m in formal if m.id not in informal or not all(strings(informal[m.id]))
               or informal[m.id].fuzzy]
    assert missing == []


def test_the_je_forms_say_je_and_never_u():
    informal = [m for m in catalog("nl@informal") if m.id and any(strings(m))]  # empty: the nl text is used
    assert [m.id for m in informal if any(ADDRESSES_THE_READER_FORMALLY.search(s) for s in strings(m))] == []
    assert [m.id for m in informal if not any(ADDRESSES_THE_READER_INFORMALLY.search(s) for s in strings(m))] == []


def test_the_je_forms_keep_their_placeholders_and_belong_to_known_messages():
    informal = catalog("nl@informal")
    assert [(m.id, [str(e) for e in errors]) for m, errors in informal.check()] == []
    assert sorted(messages("nl@informal").keys() - messages("nl").keys(), key=str) == []


def test_a_changed_catalog_is_compiled_again_at_start(tmp_path):
    shutil.copytree(CATALOGS, tmp_path / "translations", ignore=shutil.ignore_patterns("*.mo"))
    directory = tmp_path / "translations"
    mo = directory / "nl" / "LC_MESSAGES" / "messages.mo"

    assert sorted(p.parent.parent.name for p in i18n.ensure_compiled(directory)) == ["en", "nl", "nl@informal"]
    assert i18n.ensure_compiled(directory) == []  # nothing newer: nothing to do

    po = mo.with_suffix(".po")
    po.write_text(po.read_text(encoding="utf-8").replace(
        'msgstr "Wachtwoord tonen"', 'msgstr "Laat wachtwoord zien"'), encoding="utf-8")
    later = mo.stat().st_mtime + 10
    import os

    os.utime(po, (later, later))
    assert i18n.ensure_compiled(directory) == [mo]
    with mo.open("rb") as fh:
        assert read_mo(fh).get("Show password").string == "Laat wachtwoord zien"


def test_the_app_starts_with_compiled_catalogs(app):
    for lang in ("nl", "en", "nl@informal"):
        po = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime


# --- which language a page speaks -----------------------------------------------------------------

def lang_of(response) -> str:
    return Page(response.get_data(as_text=True)).one("html").attrs["lang"]


def login_page(rp, client, **params):
    started = rp.authorize(**params)
    assert started.status_code == 302 and started.location.startswith("/login/"), started.location
    return client.get(started.location, headers=params.get("headers", {}))


def test_a_page_is_dutch_by_default(client, rp):
    page = login_page(rp, client)
    assert page.status_code == 200
    assert lang_of(page) == "nl"
    words = text(page.get_data(as_text=True))
    for dutch in ("Inloggen", "E-mailadres of gebruikersnaam", "Wachtwoord",
                  "om verder te gaan naar Huisartsportaal"):
        assert dutch in words
    assert "Sign in" not in words


def test_the_browser_language_picks_english(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,nl;q=0.5"})
    assert lang_of(page) == "en"
    assert "Sign-in service for care portals" in text(page.get_data(as_text=True))


def test_a_language_we_do_not_have_falls_back_to_dutch(client):
    page = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9,fr;q=0.5"})
    assert lang_of(page) == "nl"
    assert "Inlogdienst voor zorgportalen" in text(page.get_data(as_text=True))


def test_the_portal_asks_for_english_with_ui_locales(client, rp):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl-NL,nl;q=0.9"
    page = login_page(rp, client, ui_locales="en-US nl")
    assert lang_of(page) == "en"
    assert "E-mail address or username" in text(page.get_data(as_text=True))
    assert 'aria-label="Show password"' in page.get_data(as_text=True)


def test_ui_locales_comes_before_an_earlier_choice_of_the_person(client, rp):
    client.get("/lang/nl?next=/")
    page = login_page(rp, client, ui_locales="en")
    assert lang_of(page) == "en"


def test_an_error_page_for_a_broken_request_follows_ui_locales(client):
    page = client.get("/authorize?client_id=nobody&response_type=code&ui_locales=en")
    assert page.status_code == 400
    assert lang_of(page) == "en"
    assert "Something is wrong with this link" in text(page.get_data(as_text=True))


def test_the_language_switch_on_the_sign_in_page_works(client, rp):
    page = login_page(rp, client, ui_locales="en")
    switch = Page(page.get_data(as_text=True)).one("a", hreflang="nl").attrs["href"]
    back = client.get(switch)
    assert back.status_code == 302
    assert back.location == page.request.path  # straight back to the same sign-in page
    again = client.get(back.location)
    assert lang_of(again) == "nl"
    assert "Wachtwoord tonen" in again.get_data(as_text=True)


def test_the_chosen_language_is_remembered(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    assert client.get("/lang/en?next=/").location == "/"
    assert lang_of(client.get("/")) == "en"
    assert lang_of(client.get("/no-such-page")) == "en"


def test_an_unknown_language_changes_nothing(client):
    response = client.get("/lang/fr?next=/")
    assert response.status_code == 302 and response.location == "/"
    assert lang_of(client.get("/")) == "nl"


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "javascript:alert(1)", "http:/evil.example", "evil.example",
])
def test_the_language_switch_is_not_an_open_redirect(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.location == "/"


def test_the_language_switch_returns_to_a_local_page_with_its_query(client):
    response = client.get("/lang/en", query_string={"next": "/login/abc?x=1"})
    assert response.location == "/login/abc?x=1"
