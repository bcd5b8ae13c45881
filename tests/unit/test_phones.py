"""Mobile numbers: any common notation becomes E.164; landlines and garbage get a clear message; masks."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from idp.errors import InvalidInput
from idp.security.phones import InvalidPhone, mask_phone, normalise_phone


@pytest.fixture
def english(app):
    """Messages are checked in English, whatever the catalogs say in Dutch (the default)."""
    with force_locale("en"):
        yield


@pytest.mark.parametrize("typed", [
    "06-12345678", "0612345678", "06 12 34 56 78", "+31 6 1234 5678", "+31612345678", "0031612345678",
    "(06) 1234 5678", "+31 (0)6 12345678", " 06-1234 5678 ",
])
def test_dutch_mobile_in_any_notation_becomes_e164(typed):
    assert normalise_phone(typed) == "+31612345678"


def test_foreign_mobiles_keep_their_country():
    assert normalise_phone("+32 470 12 34 56") == "+32470123456"
    assert normalise_phone("0032 470 12 34 56") == "+32470123456"
    assert normalise_phone("+44 7400 123456") == "+447400123456"


def test_region_decides_numbers_without_country_code():
    assert normalise_phone("0470 12 34 56", region="BE") == "+32470123456"


@pytest.mark.parametrize("landline", ["020-5551234", "+31 20 555 1234", "0800-1234", "+32 2 555 12 34"])
def test_landlines_and_service_numbers_are_refused(english, landline):
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone(landline)
    assert "not a mobile number" in caught.value.message


@pytest.mark.parametrize("garbage", [
    "", "hello", "06-1234", "+316123456789", "12", "06-abcdefgh", "+999 12345678"])
def test_garbage_is_refused_with_an_example(english, garbage):
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone(garbage)
    assert "such as 06 12345678" in str(caught.value)


def test_over_long_input_is_refused_before_parsing():
    with pytest.raises(InvalidPhone):
        normalise_phone("06" + " " * 40 + "12345678")


def test_invalid_phone_is_invalid_input():
    assert issubclass(InvalidPhone, InvalidInput)


def test_dutch_mobile_is_masked_like_the_design():
    assert mask_phone("+31612345678") == "+31 6 ••• ••• 78"


def test_foreign_mobile_shows_country_first_digit_and_last_two():
    assert mask_phone("+32470123456") == "+32 4•• ••• •56"
    assert mask_phone("+447400123456") == "+44 7 ••• ••• •56"


@pytest.mark.parametrize("e164", ["+31612345678", "+32470123456", "+447400123456", "+4915123456789"])
def test_mask_never_reveals_more_than_three_digits_of_the_number(e164):
    masked = mask_phone(e164)
    country = {"+31": "31", "+32": "32", "+44": "44", "+49": "49"}[e164[:3]]
    shown = "".join(c for c in masked.removeprefix("+" + country) if c.isdigit())
    assert shown == e164[len(country) + 1] + e164[-2:]


def test_mask_of_something_unparseable_shows_at_most_two_digits():
    assert mask_phone("12") == "••• 12"
    assert "345" not in mask_phone("+0012345")
