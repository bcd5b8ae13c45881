"""Recovery codes: ten single-use codes, stored hashed, burned on use, replaced when regenerated."""

from __future__ import annotations

import math
import re

from sqlalchemy import text

from idp.extensions import db
from idp.security import recovery


def fresh(user) -> list[str]:
    codes = recovery.generate(user)
    db.session.commit()
    return codes


def test_ten_unique_codes_in_an_unambiguous_alphabet(user):
    codes = fresh(user)
    assert len(codes) == recovery.COUNT == 10 and len(set(codes)) == 10
    for code in codes:
        assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{2}", code)
    assert recovery.remaining(user) == 10


def test_each_code_carries_at_least_50_bits():
    assert recovery.LENGTH * math.log2(len(set(recovery.ALPHABET))) >= 50
    assert not set("ilou") & set(recovery.ALPHABET)


def test_only_keyed_hashes_are_stored(user):
    codes = fresh(user)
    rows = db.session.execute(text("SELECT * FROM recovery_code")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored


def test_a_code_works_once(user):
    codes = fresh(user)
    assert recovery.use(user, codes[3])
    db.session.commit()
    assert recovery.remaining(user) == 9
    assert not recovery.use(user, codes[3])
    assert recovery.use(user, codes[4])


def test_typing_is_forgiving(user):
    codes = fresh(user)
    assert recovery.use(user, "  " + codes[0].upper() + " ")
    assert recovery.use(user, codes[1].replace("-", " "))
    assert recovery.use(user, codes[2].replace("-", ""))
    looks_alike = codes[3].replace("0", "o").replace("1", "l")
    assert recovery.use(user, looks_alike)


def test_wrong_or_over_long_input_is_refused(user):
    codes = fresh(user)
    assert not recovery.use(user, "0000-0000-00" if "0000-0000-00" not in codes else "zzzz-zzzz-zz")
    assert not recovery.use(user, codes[0] + " " * 40)
    assert not recovery.use(user, codes[0][:-1])
    assert not recovery.use(user, "")
    assert recovery.remaining(user) == 10


def test_another_users_code_does_not_work(user, make_user):
    codes = fresh(user)
    other = make_user("bob@example.org")
    fresh(other)
    assert not recovery.use(other, codes[0])
    assert recovery.use(user, codes[0])


def test_regenerating_invalidates_the_old_codes(user):
    old = fresh(user)
    recovery.use(user, old[0])
    new = fresh(user)
    assert not set(old) & set(new)
    assert not any(recovery.use(user, code) for code in old)
    assert recovery.remaining(user) == 10
    assert recovery.use(user, new[0])


def test_a_user_without_codes_has_none_remaining(user):
    assert recovery.remaining(user) == 0
    assert not recovery.use(user, "abcd-efgh-jk")
