"""Password policies: every rule of every configured policy (the default and the demo's elderly_care,
gp_practice and mental_health) as its sentence defines it, computed here independently of idp.security.policy;
the personal-data rule; and the bcrypt hashing of passwords (idp.security.passwords)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from idp.runtime import settings
from idp.security import policy
from idp.security.passwords import hash_password, verify_password
from idp.settings import PasswordPolicy

POLICIES = ["standard", "elderly_care", "gp_practice", "mental_health"]

# What people type (ASCII, accented letters, the policies' special characters) and what they rarely do: other
# scripts, combining marks, superscripts, roman numerals, title-case letters, fullwidth forms, emoji.
TYPED = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !%&@#$^*?_~.-+=éëÉßøÅ")
EXOTIC = st.sampled_from("\u0301²③ⅧǅªＡａ１٣αΩЖж漢😀\u00a0\u200b")
PASSWORDS = st.text(st.one_of(TYPED, TYPED, TYPED, EXOTIC, st.characters()), max_size=40)


def expected(password: str, rules: PasswordPolicy) -> dict[str, bool]:
    """Each counting rule as its sentence says, by Unicode general category: "character" a code point (as
    NIST SP 800-63B counts them), "capital letter" Lu, "lowercase letter" Ll, "digit" Nd, "letter" L*."""
    category = [unicodedata.category(c) for c in password]
    return {
        "min_length": len(password) >= rules.min_length,
        "max_length": len(password) <= rules.max_length,
        "upper": category.count("Lu") >= rules.min_upper,
        "lower": category.count("Ll") >= rules.min_lower,
        "digits": category.count("Nd") >= rules.min_digits,
        "special": sum(c in rules.special_characters for c in password) >= rules.min_special,
        "non_letters": sum(not k.startswith("L") for k in category) >= rules.min_non_letters,
    }


def assert_counted_as_defined(password: str, rules: PasswordPolicy) -> None:
    found = {r.id: r.ok for r in policy.evaluate(password, rules)}
    wanted = expected(password, rules)
    counted = set(found) & set(wanted)  # the counting rules this policy lists (a zero minimum is not listed)
    assert {rule: found[rule] for rule in counted} == {rule: wanted[rule] for rule in counted}
    assert {r.id for r in policy.failures(password, rules)} == {rule for rule, ok in found.items() if not ok}


@pytest.mark.parametrize("name", POLICIES)
@given(password=PASSWORDS)
@example(password="Ⅷªªªª")  # found here: a roman numeral counted as a capital, ª as a lowercase letter
@example(password="Abcdefgh²³")  # ... and superscripts as digits
def test_each_counting_rule_is_what_its_sentence_says(pure_app, name, password):
    rules = settings().password_policies[name]
    assert_counted_as_defined(password, rules)


GENERATED_POLICIES = st.builds(
    PasswordPolicy, min_length=st.integers(1, 20), max_length=st.integers(20, 128), min_upper=st.integers(0, 3),
    min_lower=st.integers(0, 3), min_digits=st.integers(0, 3), min_special=st.integers(0, 3),
    min_non_letters=st.integers(0, 3), special_characters=st.sampled_from(["!%&@#$^*?_~", "!?", "#"]),
    not_personal=st.booleans(), not_common=st.booleans())


@given(password=PASSWORDS, rules=GENERATED_POLICIES)
def test_each_counting_rule_of_any_policy_is_what_its_sentence_says(pure_app, password, rules):
    assert_counted_as_defined(password, rules)


@pytest.mark.parametrize("name", POLICIES)
@given(password=PASSWORDS)
def test_the_rules_listed_are_the_rules_the_policy_sets(pure_app, name, password):
    rules = settings().password_policies[name]
    found = [r.id for r in policy.evaluate(password, rules)]
    wanted = {"min_length", "max_length"} | {rule for rule, count in [
        ("upper", rules.min_upper), ("lower", rules.min_lower), ("digits", rules.min_digits),
        ("special", rules.min_special), ("non_letters", rules.min_non_letters), ("personal", rules.not_personal),
        ("common", rules.not_common)] if count}
    assert set(found) == wanted
    assert found == [r.id for r in policy.rules(rules)]


NAMES = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=3, max_size=12).filter(
    lambda s: any(c.isalpha() for c in s))


@st.composite
def spelled(draw, piece: str) -> str:
    """The piece in any mix of upper and lower case."""
    flips = draw(st.lists(st.booleans(), min_size=len(piece), max_size=len(piece)))
    return "".join(c.upper() if flip else c for c, flip in zip(piece, flips, strict=True))


@pytest.mark.parametrize("name", POLICIES)
@given(username=NAMES, local=NAMES, around=st.tuples(PASSWORDS, PASSWORDS), data=st.data())
@example(username="anna", local="anna", around=("Zomer!", "2024"), data=None)
def test_a_password_accepted_never_holds_the_address_or_username(pure_app, name, username, local, around, data):
    rules = settings().password_policies[name]
    assert rules.not_personal
    email = f"{local}@example.org"
    for piece in (username, local, email):
        typed = data.draw(spelled(piece)) if data is not None else piece.upper()
        password = around[0] + typed + around[1]
        assert "personal" in {r.id for r in policy.failures(password, rules, email=email, username=username)}


@pytest.mark.parametrize("name", POLICIES)
@given(password=PASSWORDS, username=NAMES, local=NAMES)
def test_personal_is_refused_exactly_when_a_piece_is_in_it(pure_app, name, password, username, local):
    rules = settings().password_policies[name]
    email = f"{local}@example.org"
    holds = any(piece.casefold() in password.casefold() for piece in (username, local, email))
    refused = "personal" in {r.id for r in policy.failures(password, rules, email=email, username=username)}
    assert refused == holds


ROUNDS = 4  # bcrypt's cheapest cost, as the tests' settings use


@hypothesis_settings(max_examples=30)
@given(password=st.text(max_size=100), other=st.text(max_size=100))
@example(password="a" * 72 + "b", other="a" * 72 + "c")  # past bcrypt's 72 bytes every byte still counts
@example(password="a\x00b", other="a\x00c")  # a NUL byte does not end what counts
@example(password="é", other="e\u0301")  # no normalisation: another spelling is another password
def test_a_hash_verifies_its_password_and_no_other(password, other):
    hashed = hash_password(password, ROUNDS)
    assert verify_password(password, hashed, ROUNDS)
    assume(other != password)
    assert not verify_password(other, hashed, ROUNDS)
