"""Normalising what people type: mobile numbers (idp.security.phones) and e-mail addresses
(idp.accounts.users.normalise_email). One normal form, reached again from itself; every spelling of one Dutch
mobile number gives one value; whatever else is typed is refused with the project's error, never a crash."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from idp.accounts.users import normalise_email
from idp.errors import InvalidInput
from idp.security.phones import MAX_INPUT, InvalidPhone, normalise_phone

E164 = re.compile(r"\+[1-9][0-9]{6,14}")

# Digits, separators, plus signs and brackets; other scripts' digits; control characters; anything.
PHONEISH = st.sampled_from("0123456789+ -()./\t\n\x00\u00a0\u200b٠١٢٣٤٥٦٧٨٩０１２６")
TYPED_NUMBERS = st.one_of(st.text(PHONEISH, max_size=45), st.text(max_size=45),
                          st.from_regex(r"\A(\+31|0031|0)6[ -]?[0-9]{8}\Z"))


@pytest.fixture(autouse=True)
def _context(pure_app):
    """Errors are translatable sentences: an app (and its Babel) is around."""


@given(typed=TYPED_NUMBERS)
@example(typed="+31 6 12345678")
@example(typed="06-1234 5678\x00")
@example(typed="٠٦١٢٣٤٥٦٧٨")  # Arabic-Indic digits: phonenumbers reads them as the same number
def test_a_number_is_refused_with_invalid_phone_or_normalised_for_good(typed):
    try:
        normalised = normalise_phone(typed)
    except InvalidPhone:
        return
    assert E164.fullmatch(normalised)
    assert len(typed) <= MAX_INPUT
    assert normalise_phone(normalised) == normalised


@given(digits=st.from_regex(r"\A[1-5][0-9]{7}\Z"), country=st.sampled_from(["+31", "0031", "+31 ", "0031 ", "0",
                                                                           "+31 (0)", "+31(0)"]),
       separators=st.lists(st.sampled_from(["", " ", "-", "  ", " - "]), min_size=8, max_size=8),
       padding=st.tuples(st.sampled_from(["", " ", "\t"]), st.sampled_from(["", " ", "\n"])))
def test_every_spelling_of_a_dutch_mobile_number_is_one_number(digits, country, separators, padding):
    spelled = "6" + "".join(sep + d for sep, d in zip(separators, digits, strict=True))
    typed = padding[0] + country + spelled + padding[1]
    assume(len(typed) <= MAX_INPUT)
    assert normalise_phone(typed) == "+316" + digits


@given(typed=st.text(min_size=MAX_INPUT + 1, max_size=80))
def test_too_long_is_refused_whatever_it_says(typed):
    with pytest.raises(InvalidPhone):
        normalise_phone(typed)


ADDRESSISH = st.sampled_from("abcAZ09.+_-@ \t\x00\n\"()<>[];:,\\éÉßẞİı漢ＡＢ\u200b\u0301.")
TYPED_ADDRESSES = st.one_of(st.emails(), st.text(ADDRESSISH, max_size=40), st.text(max_size=40),
                            st.builds(lambda local, domain: f"{local}@{domain}",
                                      st.text(ADDRESSISH, min_size=1, max_size=12),
                                      st.sampled_from(["EXAMPLE.org", "Example.ORG", "bücher.DE", "straẞe.de",
                                                       "İstanbul.example", "xn--bcher-kva.de", "ＥＸＡＭＰＬＥ.org"])))


@given(typed=TYPED_ADDRESSES)
@example(typed="Anna@Example.ORG")
@example(typed="anna@straẞe.de")
@example(typed="anna@İstanbul.example")
def test_an_address_is_refused_with_invalid_input_or_normalised_for_good(typed):
    try:
        normalised = normalise_email(typed)
    except InvalidInput:
        return
    assert normalise_email(normalised) == normalised
    _local, _, domain = normalised.rpartition("@")
    assert domain == domain.lower()


@given(local=st.from_regex(r"\A[a-zA-Z0-9][a-zA-Z0-9.+_-]{0,10}[a-zA-Z0-9]\Z"),
       domain=st.sampled_from(["example.org", "zorg.example.nl"]), data=st.data())
def test_the_domain_is_case_blind_and_the_local_part_is_kept(local, domain, data):
    assume(".." not in local)
    shouted = "".join(c.upper() if data.draw(st.booleans()) else c for c in domain)
    assert normalise_email(f"  {local}@{shouted} ") == f"{local}@{domain}"
