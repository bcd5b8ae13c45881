"""idp.security.logins: one normal form of a typed login name (NFKC, stripped) and one keyed hash per name
whatever its case or Unicode form (issue 13: no lockout or throttling bypass by another spelling)."""

from __future__ import annotations

import hashlib

import pytest

from idp.runtime import crypto
from idp.security.logins import MAX_LOGIN, login_key, normalise_login


@pytest.mark.parametrize(("typed", "normal"), [
    ("anna@example.org", "anna@example.org"),
    ("\uff41\uff4e\uff4e\uff41@example.org", "anna@example.org"),  # fullwidth letters
    ("\u00a0anna@example.org\u00a0", "anna@example.org"),  # NBSP padding
    ("\u3000anna\u2003", "anna"),  # ideographic and em space
    (" \tanna\n", "anna"),
    ("\ufb01ona@example.org", "fiona@example.org"),  # the ligature fi
    ("\u212aees", "Kees"),  # KELVIN SIGN is a K
    ("Anna", "Anna"),  # case is kept here; the key folds it
    ("", ""),
    (None, ""),
    ("\u00a0\u3000 ", ""),
])
def test_normalise_login_is_nfkc_and_stripped(typed, normal):
    assert normalise_login(typed) == normal


def test_normalise_login_never_cuts_a_long_name():
    long = "a" * (MAX_LOGIN + 10) + "@example.org"
    assert normalise_login(" " + long + " ") == long


@pytest.mark.parametrize("form", [
    "anna@example.org", "ANNA@EXAMPLE.ORG", "Anna@Example.org", "\uff41\uff4e\uff4e\uff41@example.org",
    "\uff21\uff2e\uff2e\uff21@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.\uff4f\uff52\uff47",
    "\u00a0anna@example.org\u00a0", "\u3000ANNA@example.org\u3000",
])
def test_login_key_is_one_key_for_every_case_and_nfkc_form(app, form):
    assert login_key(form) == login_key("anna@example.org")


@pytest.mark.parametrize(("one", "other"), [("\u212aees", "kees"), ("\ufb01ona", "FIONA"), ("STRASSE", "stra\u00dfe"),
                                            ("\uff41\uff4e\uff4e\uff41", "ANNA")])
def test_login_key_folds_case_after_nfkc(app, one, other):
    assert login_key(one) == login_key(other)


def test_login_key_tells_different_names_apart_and_is_keyed(app):
    key = login_key("anna@example.org")
    assert key != login_key("anne@example.org")
    assert key != login_key("anna@example.org.")
    assert "anna" not in key
    assert key == crypto().keyed_hash("anna@example.org")
    assert key != hashlib.sha256(b"anna@example.org").hexdigest()
