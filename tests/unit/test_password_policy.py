"""Password policies: the seeds' three policies, common and personal passwords, history, age, feedback."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import pytest
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import PasswordHistory
from idp.runtime import settings
from idp.security import policy
from idp.security.passwords import hash_password
from idp.settings import PasswordPolicy
from tests.helpers import tomorrow_at

START = tomorrow_at(9)

# Seed 002: at least 5 characters, capitals and small letters and characters that are not letters.
CARE = PasswordPolicy(min_length=5, min_upper=1, min_lower=1, min_non_letters=1)
# Seed 003: at least 10 characters, 1 capital, 1 small letter, 2 digits.
HOSPITAL = PasswordPolicy(min_length=10, min_upper=1, min_lower=1, min_digits=2)
# Seed 004: at least 12 characters, 1 of ! % & @ # $ ^ * ? _ ~.
MENTAL_HEALTH = PasswordPolicy(min_length=12, min_special=1, special_characters="!%&@#$^*?_~")


@pytest.fixture
def english(app):
    with force_locale("en"):
        yield


def failed(password: str, rules: PasswordPolicy, **personal) -> set[str]:
    return {result.id for result in policy.failures(password, rules, **personal)}


@pytest.mark.parametrize(("password", "broken"), [
    ("Abc1!", set()),
    ("abcde", {"upper", "non_letters"}),
    ("ABCD1", {"lower"}),
    ("Abcde", {"non_letters"}),
    ("Ab1!", {"min_length"}),
])
def test_care_policy_min_5_upper_lower_non_letter(app, password, broken):
    assert failed(password, CARE) == broken


@pytest.mark.parametrize(("password", "broken"), [
    ("Zomer2026ok", set()),
    ("Zomerdag12", set()),
    ("zomer2026x", {"upper"}),
    ("Zomerdag1x", {"digits"}),
    ("ZOMERDAG12", {"lower"}),
    ("Zomer12", {"min_length"}),
])
def test_hospital_policy_min_10_upper_lower_two_digits(app, password, broken):
    assert failed(password, HOSPITAL) == broken


@pytest.mark.parametrize(("password", "broken"), [
    ("Lente-bloem!2", set()),
    ("lentebloem~~", set()),
    ("Lentebloem12", {"special"}),
    ("Lente-bloem12", {"special"}),  # "-" is not one of the allowed special characters
    ("Bloem!2", {"min_length"}),
])
def test_mental_health_policy_min_12_one_special_from_the_set(app, password, broken):
    assert failed(password, MENTAL_HEALTH) == broken


def test_counting_is_by_unicode_category(app):
    rules = PasswordPolicy(min_length=4, min_upper=1, min_lower=2, min_digits=1, min_non_letters=2)
    assert failed("Éçø٣", rules) == {"non_letters"}  # the Arabic-Indic three is a digit, not a letter
    assert failed("Éçø٣ ", rules) == set()


def test_too_long_is_refused(app):
    assert failed("Aa1!" * 40, PasswordPolicy(max_length=128)) == {"max_length"}


def test_the_list_ships_at_least_10000_common_passwords():
    text = resources.files("idp.security").joinpath("data/common-passwords.txt").read_text("utf-8")
    first, *entries = text.splitlines()
    assert first.startswith("#") and "zxcvbn" in first and "MIT" in first
    assert len(entries) >= 10_000
    assert len(set(entries)) == len(entries)
    assert all(entry == entry.lower() and entry.strip() == entry and entry for entry in entries)
    assert policy.common_passwords() == frozenset(entries)


COMMON = ["Password123", "password1", "Qwerty123", "Welkom01", "Sunshine2026!", "MONKEY"]


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_refused(app, password):
    # Each is in the list as typed (any case) or once its trailing digits and punctuation are stripped.
    assert "common" in failed(password, PasswordPolicy(min_length=4))


def test_common_rule_can_be_switched_off(app):
    assert failed("Password123", PasswordPolicy(min_length=4, not_common=False)) == set()
    assert "common" not in {rule.id for rule in policy.rules(PasswordPolicy(not_common=False))}


def test_uncommon_passwords_pass(app):
    assert failed("Lente-bloem!2", MENTAL_HEALTH) == set()
    assert not policy.is_common("Zomerdag12ok")


ANNA = {"email": "anna.devries@example.org", "name": "Anna de Vries", "username": "avries"}


@pytest.mark.parametrize("password", [
    "ANNA.devries!2026",          # the e-mail's local part, any case
    "anna.devries@example.org1",  # the whole address
    "Lente!avries12",             # the username
    "Vries-lente!12",             # a part of the name
    "Zomer@anna1234",             # the given name
])
def test_personal_passwords_are_refused(app, password):
    assert "personal" in failed(password, MENTAL_HEALTH, **ANNA)


def test_short_name_parts_do_not_count(app):
    # "de" is part of the name, but refusing every password containing it would refuse "Ode!aan!vreugde".
    assert failed("Ode!aan!vreugde", MENTAL_HEALTH, **ANNA) == set()
    assert failed("Ab!c1", CARE, email="ab@example.org") == set()


def test_personal_rule_passes_when_nothing_is_known(app):
    assert failed("Anna.devries!1", MENTAL_HEALTH) == set()


STRICT = {"password_policies": {"strict": {"min_length": 12, "history": 3}}}


@pytest.mark.parametrize("settings_overrides", [STRICT])
def test_earlier_passwords_are_refused(app, make_user, time_machine):
    time_machine.move_to(START, tick=False)
    anna = make_user("anna@example.org", "Eerste-wachtwoord!1")
    rules = settings().password_policies["strict"]
    rounds = settings().passwords.bcrypt_rounds
    for n, new in enumerate(["Tweede-wachtwoord!2", "Derde-wachtwoord!3", "Vierde-wachtwoord!4"], start=1):
        time_machine.move_to(START + timedelta(days=n), tick=False)
        policy.remember(anna, anna.password_hash)
        anna.password_hash = hash_password(new, rounds)
    db.session.commit()

    history = policy.history_of(anna, rules)
    assert len(history) == 3 and history[0] == anna.password_hash
    for earlier in ["Vierde-wachtwoord!4", "Derde-wachtwoord!3", "Tweede-wachtwoord!2"]:
        assert failed(earlier, rules, history=history) == {"history"}
    # Four passwords back is beyond "the last 3".
    assert failed("Eerste-wachtwoord!1", rules, history=history) == set()
    assert failed("Vijfde-wachtwoord!5", rules, history=history) == set()
    assert policy.history_of(anna, PasswordPolicy(history=0)) == []


@pytest.mark.parametrize("settings_overrides", [{"password_policies": {"strict": {"history": 2}}}])
def test_history_keeps_only_what_the_longest_policy_needs(app, user):
    for n in range(5):
        policy.remember(user, f"$2b$04${n:053d}", now=START + timedelta(days=n))
    db.session.commit()
    rows = db.session.scalars(select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
                              .order_by(PasswordHistory.created_at)).all()
    assert rows == [f"$2b$04${n:053d}" for n in (3, 4)]


def test_no_history_is_kept_when_no_policy_looks_back(app, user):
    policy.remember(user, user.password_hash)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PasswordHistory)) == 0


def test_password_expires_after_max_age(app, make_user, time_machine):
    time_machine.move_to(START, tick=False)
    anna = make_user("anna@example.org")
    rules = PasswordPolicy(max_age_days=90)
    time_machine.move_to(START + timedelta(days=89, hours=23), tick=False)
    assert not policy.expired(anna, rules)
    time_machine.move_to(START + timedelta(days=90), tick=False)
    assert policy.expired(anna, rules)
    assert not policy.expired(anna, PasswordPolicy(max_age_days=0))
    # A change restarts the clock.
    anna.password_changed_at = START + timedelta(days=80)
    db.session.commit()
    db.session.expire_all()
    assert not policy.expired(anna, rules)
    assert policy.expired(anna, rules, now=START + timedelta(days=170))


@pytest.mark.parametrize("settings_overrides", [{
    "passwords": {"floor_min_length": 5},
    "password_policies": {"care": {"min_length": 5, "min_upper": 1, "min_lower": 1, "min_non_letters": 1}},
}])
def test_a_portal_names_its_policy_else_the_default_applies(app, make_portal):
    care = make_portal("Thuiszorg")
    care.password_policy = "care"
    assert policy.policy_for(care) == ("care", CARE)
    assert policy.policy_for(None) == ("standard", PasswordPolicy())
    care.password_policy = "gone"  # removed from the settings since: fall back rather than fail
    assert policy.policy_for(care)[0] == "standard"


def test_rules_read_as_sentences(english):
    texts = [rule.text for rule in policy.rules(MENTAL_HEALTH)]
    assert texts == ["At least 12 characters", "At least 1 of these characters: ! % & @ # $ ^ * ? _ ~",
                     "Not your e-mail address or name", "Not a commonly used password",
                     "At most 128 characters"]
    texts = {rule.id: rule.text for rule in policy.rules(
        PasswordPolicy(min_length=1, min_upper=1, min_lower=2, min_digits=2, min_non_letters=1, history=5))}
    assert texts["min_length"] == "At least 1 character"
    assert texts["upper"] == "At least 1 capital letter"
    assert texts["lower"] == "At least 2 lowercase letters"
    assert texts["digits"] == "At least 2 digits"
    assert texts["non_letters"] == "At least 1 character that is not a letter"
    assert texts["history"] == "Not one of your last 5 passwords"


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_rules_render_in_every_language(app, locale):
    every = PasswordPolicy(min_length=3, min_upper=2, min_lower=1, min_digits=1, min_special=2,
                           min_non_letters=1,
                           history=1, max_age_days=30)
    with force_locale(locale):
        for rules in (every, CARE, HOSPITAL, MENTAL_HEALTH):
            assert all(rule.text and "%(" not in rule.text for rule in policy.rules(rules))


def test_feedback_json_lists_every_rule_and_the_verdict(english):
    answer = policy.feedback_json(policy.evaluate("Lentebloem12", MENTAL_HEALTH))
    assert answer["ok"] is False
    ids = [rule["id"] for rule in answer["rules"]]
    assert ids == ["min_length", "special", "personal", "common", "max_length"]
    assert answer["rules"][1] == {"id": "special", "ok": False,
                                  "text": "At least 1 of these characters: ! % & @ # $ ^ * ? _ ~"}
    assert policy.feedback_json(policy.evaluate("Lente-bloem!2", MENTAL_HEALTH))["ok"] is True


def test_rules_macro_marks_met_and_unmet_without_javascript(app, english):
    page = ('{% from "_password_rules.html" import password_rules %}'
            "{{ password_rules(rules, results, url) }}")
    with app.test_request_context():
        html = render_template_string(page, rules=policy.rules(MENTAL_HEALTH),
                                      results=policy.evaluate("Lentebloem12", MENTAL_HEALTH), url="/rules")
        plain = render_template_string(page, rules=policy.rules(MENTAL_HEALTH), results=None, url=None)
    assert 'data-rules-url="/rules"' in html and 'aria-live="polite"' in html
    assert '<li data-rule="min_length" class="met">' in html and "✓" in html
    assert '<li data-rule="special" class="unmet">' in html and "✗" in html and "(not met)" in html
    assert "data-rules-url" not in plain and 'class="met"' not in plain and "✓" not in plain
    assert plain.count("<li data-rule=") == 5


def test_the_readme_example_of_the_seed_policies_is_a_valid_config(app, tmp_path):
    """README's [password_policies.*] example loads, and each policy there accepts and refuses as its seed says."""
    import re
    from pathlib import Path

    from idp.settings import load

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    config = tmp_path / "config.toml"
    config.write_text(re.search(r"```toml\n(\[passwords\].*?)```", readme, re.S).group(1))
    policies = load(config, environ={"IDP_SERVER_DEV_MODE": "1",
                                     "IDP_SERVER_INSTANCE_PATH": str(tmp_path)}).password_policies
    ok = {"elderly_care": "Kwal1", "gp_practice": "Zomerdag12", "mental_health": "Lente-bloem!2"}
    bad = {"elderly_care": "kwal1", "gp_practice": "Zomerdag1x", "mental_health": "Lentebloem12"}
    for name, password in ok.items():
        assert not policy.failures(password, policies[name]), name
    for name, password in bad.items():
        assert policy.failures(password, policies[name]), name
