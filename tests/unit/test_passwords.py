"""People's passwords: bcrypt at the configured cost, long passwords count in full, unknown users cost the same."""

from __future__ import annotations

import bcrypt
import pytest

from idp.security import passwords
from idp.security.passwords import hash_password, needs_rehash, verify_password

ROUNDS = 4


def test_right_password_verifies_and_wrong_one_does_not():
    hashed = hash_password("correct horse battery", ROUNDS)
    assert hashed.startswith("$2b$04$")
    assert "correct horse battery" not in hashed
    assert verify_password("correct horse battery", hashed, ROUNDS)
    assert not verify_password("correct horse batterY", hashed, ROUNDS)
    assert not verify_password("", hashed, ROUNDS)


def test_same_password_gets_a_different_salt_each_time():
    assert hash_password("correct horse battery", ROUNDS) != hash_password("correct horse battery", ROUNDS)


def test_non_ascii_passwords_work():
    hashed = hash_password("wachtwoord-ëïö-🔑", ROUNDS)
    assert verify_password("wachtwoord-ëïö-🔑", hashed, ROUNDS)
    assert not verify_password("wachtwoord-eio-🔑", hashed, ROUNDS)


def test_every_byte_of_a_long_password_counts():
    # bcrypt itself reads only 72 bytes; two passwords that differ after that must not both verify.
    long = "a" * 72 + "the part that matters"
    hashed = hash_password(long, ROUNDS)
    assert verify_password(long, hashed, ROUNDS)
    assert not verify_password("a" * 72 + "another ending", hashed, ROUNDS)
    assert not verify_password("a" * 72, hashed, ROUNDS)


def test_a_72_byte_password_is_hashed_as_is():
    exact = "b" * 72
    hashed = hash_password(exact, ROUNDS)
    assert bcrypt.checkpw(exact.encode(), hashed.encode())


def test_multibyte_characters_count_as_bytes_for_the_limit():
    # 36 two-byte characters fill bcrypt's 72 bytes; one more must still change the outcome.
    base = "é" * 36
    hashed = hash_password(base + "x", ROUNDS)
    assert verify_password(base + "x", hashed, ROUNDS)
    assert not verify_password(base + "y", hashed, ROUNDS)


def test_needs_rehash_when_the_cost_changes():
    hashed = hash_password("correct horse battery", ROUNDS)
    assert not needs_rehash(hashed, ROUNDS)
    assert needs_rehash(hashed, 5)
    assert needs_rehash("not a bcrypt hash", ROUNDS)


def test_a_damaged_hash_does_not_verify():
    assert not verify_password("correct horse battery", "$2b$04$broken", ROUNDS)


@pytest.fixture
def checked(monkeypatch):
    """Watch what bcrypt is asked to check (a spy: bcrypt still does the real work)."""
    seen: list[bytes] = []
    real = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        seen.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", spy)
    return seen


@pytest.mark.parametrize("rounds", [4, 6])
def test_unknown_user_costs_a_bcrypt_check_at_the_same_cost(checked, rounds):
    known = hash_password("correct horse battery", rounds)
    assert verify_password("correct horse battery", known, rounds)
    assert not verify_password("correct horse battery", None, rounds)
    assert not verify_password("correct horse battery", "", rounds)
    assert len(checked) == 3
    # Same algorithm and cost for the real and the dummy checks: same work, so the same time.
    assert {h[:7] for h in checked} == {f"$2b${rounds:02d}$".encode()}
