"""The sign-in pages as a person on a tablet meets them: labels, autocomplete, the eye button, no JS."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.flows.page import Page, text
from tests.helpers import browser as isolated_client
from tests.helpers import csrf_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(app):
    return isolated_client(app)


def open_sign_in(rp, client, **params):
    started = rp.authorize(**params)
    assert started.status_code == 302 and started.location.startswith("/login/")
    page = client.get(started.location, headers=params.pop("headers", {}))
    assert page.status_code == 200
    return started.location, page


def test_the_home_page_says_in_dutch_what_this_is(client):
    page = client.get("/")
    assert page.status_code == 200
    words = text(page.get_data(as_text=True))
    assert "Inlogdienst voor zorgportalen" in words
    assert "Met deze dienst logt u in bij de online portalen van uw zorgverleners" in words
    assert "Geef uw wachtwoord nooit aan een ander." in words


def test_every_field_of_the_sign_in_form_has_a_label_and_autocomplete(client, rp):
    _, response = open_sign_in(rp, client)
    page = Page(response.get_data(as_text=True))
    inputs = {i.attrs["name"]: i for i in page.visible_inputs()}
    assert set(inputs) == {"username", "password"}
    assert inputs["username"].attrs["autocomplete"] == "username"
    assert inputs["password"].attrs["autocomplete"] == "current-password"
    assert inputs["password"].attrs["type"] == "password"
    assert page.label_for(inputs["username"].attrs["id"]) == "E-mailadres of gebruikersnaam"
    assert page.label_for(inputs["password"].attrs["id"]) == "Wachtwoord"
    # A shown password must not be auto-capitalised or "corrected" by a tablet keyboard.
    for field in inputs.values():
        assert field.attrs["autocapitalize"] == "none" and field.attrs["spellcheck"] == "false"


def test_the_show_password_button_is_labelled_and_waits_for_javascript(client, rp):
    _, response = open_sign_in(rp, client)
    page = Page(response.get_data(as_text=True))
    button = page.one("button", **{"data-reveal": "password"})
    assert button.attrs["type"] == "button"  # never submits the form
    assert button.attrs["aria-label"] == "Wachtwoord tonen"
    assert button.attrs["aria-pressed"] == "false"
    assert button.attrs["aria-controls"] == "password"
    assert "hidden" in button.attrs  # without JavaScript it could not work, so it is not shown
    assert [svg.attrs.get("aria-hidden") for svg in page.all("svg")] == ["true", "true"]


def test_the_show_password_button_speaks_english_too(client, rp):
    _, response = open_sign_in(rp, client, ui_locales="en")
    button = Page(response.get_data(as_text=True)).one("button", **{"data-reveal": "password"})
    assert button.attrs["aria-label"] == "Show password"


def test_the_form_posts_without_javascript(client, rp, user):
    login_url, response = open_sign_in(rp, client)
    page = Page(response.get_data(as_text=True))
    form = page.one("form")
    assert form.attrs["method"] == "post" and form.attrs["action"] == login_url
    done = client.post(login_url, data={
        "csrf_token": csrf_token(response.get_data(as_text=True)), "stage": "password",
        "username": "anna@example.org", "password": "correct horse battery"})
    assert done.status_code == 302 and done.location.startswith(rp.redirect_uri)


def test_a_wrong_password_is_announced_and_the_password_not_repeated(client, rp, user):
    login_url, response = open_sign_in(rp, client)
    again = client.post(login_url, data={
        "csrf_token": csrf_token(response.get_data(as_text=True)), "stage": "password",
        "username": "anna@example.org", "password": "Wrong-Horse-42"})
    html = again.get_data(as_text=True)
    page = Page(html)
    alert = page.one("p", role="alert")
    assert " ".join(alert.text.split()) == "Het e-mailadres of wachtwoord is niet juist."
    for field in page.visible_inputs():
        assert field.attrs["aria-invalid"] == "true"
        assert "form-error" in field.attrs["aria-describedby"].split()
    assert page.one("input", name="username").attrs["value"] == "anna@example.org"  # no retyping
    assert "autofocus" in page.one("input", name="password").attrs
    assert "Wrong-Horse-42" not in html
    assert again.headers["Cache-Control"] == "no-store"


def test_the_caps_lock_hint_is_ready_for_the_script(client, rp):
    _, response = open_sign_in(rp, client)
    page = Page(response.get_data(as_text=True))
    hint = page.one("p", **{"data-caps-for": "password"})
    assert hint.attrs["data-message"] == "Caps Lock staat aan."
    assert hint.attrs["aria-live"] == "polite"
    assert hint.attrs["id"] in page.one("input", name="password").attrs["aria-describedby"].split()


def test_the_style_sheet_is_large_calm_and_shows_focus(client):
    css = client.get("/static/idp.css").get_data(as_text=True)
    assert re.search(r"body\s*{[^}]*font:\s*18px", css)
    assert re.search(r":focus-visible\s*{[^}]*outline:\s*3px solid", css)
    assert re.search(r"\[hidden\]\s*{\s*display:\s*none !important", css)  # the eye stays hidden without JS
    assert re.search(r"\.reveal\s*{[^}]*width:\s*48px;[^}]*height:\s*48px", css)  # a finger-sized target
    # links that lead on ("Go to the portal") are buttons to the eye and the finger too
    assert re.search(r"button\.primary, button\.secondary, a\.button\s*{[^}]*min-height:\s*52px", css)
    assert re.search(r"input\s*{[^}]*min-height:\s*52px", css)


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_no_template_has_inline_script_or_style(template):
    source = template.read_text(encoding="utf-8")
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", source, re.DOTALL | re.IGNORECASE):
        assert "src=" in match.group(1) and match.group(2).strip() == "", match.group(0)
    assert re.findall(r"<[^>]*\son[a-z]+\s*=", source, re.IGNORECASE) == []
    assert re.findall(r"<[^>]*\sstyle\s*=", source, re.IGNORECASE) == []
    assert re.findall(r"<style\b", source, re.IGNORECASE) == []
    assert "javascript:" not in source.lower()


# The eye button's behaviour, run in Node against a tiny document: the script only needs a few DOM calls.
NODE_HARNESS = r"""
const listeners = {};
function el(attrs) {
  return Object.assign({
    attrs: Object.assign({}, attrs), hidden: !!attrs.hidden, own: {},
    getAttribute(n) { return n in this.attrs ? this.attrs[n] : null; },
    setAttribute(n, v) { this.attrs[n] = String(v); },
    addEventListener(t, f) { this.own[t] = f; },
  }, attrs.props || {});
}
const form = el({});
const input = el({props: {type: "password", form: form}});
const button = el({"data-reveal": "password", "aria-pressed": "false", hidden: true});
global.document = {
  getElementById: (id) => (id === "password" ? input : null),
  querySelectorAll: (sel) => (sel === "button[data-reveal]" ? [button] : []),
  addEventListener: (t, f) => { listeners[t] = f; },
};
require(process.argv[2]);
const seen = [];
const look = () => seen.push(
  {hidden: button.hidden, type: input.type, pressed: button.attrs["aria-pressed"]});
look();
listeners.DOMContentLoaded(); look();
button.own.click(); look();
button.own.click(); look();
button.own.click(); form.own.submit(); look();
console.log(JSON.stringify(seen));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run idp.js")
def test_the_eye_button_shows_and_hides_the_password(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS)
    out = subprocess.run(["node", str(harness), str(ROOT / "idp" / "static" / "idp.js")],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == [
        {"hidden": True, "type": "password", "pressed": "false"},   # before the script runs
        {"hidden": False, "type": "password", "pressed": "false"},  # the script reveals the button
        {"hidden": False, "type": "text", "pressed": "true"},       # tap: password shown
        {"hidden": False, "type": "password", "pressed": "false"},  # tap again: hidden
        {"hidden": False, "type": "password", "pressed": "false"},  # never sent as visible text
    ]
