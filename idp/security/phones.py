"""Mobile phone numbers: any common notation in, E.164 out; masked for display."""

from __future__ import annotations

import phonenumbers
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from idp.errors import InvalidInput, UserFacingError

MAX_INPUT = 40
BULLET = "\u2022"
_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhone(InvalidInput, UserFacingError):
    """A number we cannot send an SMS to; `message` is the sentence to show the user."""

    message = _l("Enter a mobile number, such as 06 12345678 or +32 470 12 34 56.")


def normalise_phone(text: str, region: str = "NL") -> str:
    """E.164 ("+31612345678") from any common notation; InvalidPhone for invalid or non-mobile numbers."""
    if not text or len(text) > MAX_INPUT:
        raise InvalidPhone()
    try:
        number = phonenumbers.parse(text.strip(), region)
    except NumberParseException:
        raise InvalidPhone() from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone()
    if phonenumbers.number_type(number) not in _MOBILE:
        raise InvalidPhone(_l("This is not a mobile number. Enter the number of your mobile phone."))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _groups_from_right(text: str, size: int = 3) -> list[str]:
    groups: list[str] = []
    while text:
        groups.insert(0, text[-size:])
        text = text[:-size]
    return groups


def mask_phone(e164: str) -> str:
    """"+31 6 ••• ••• 78": country code, first national digit and the last two digits, nothing more."""
    try:
        number = phonenumbers.parse(e164, None)
        country, national = str(number.country_code), phonenumbers.national_significant_number(number)
    except NumberParseException:
        country, national = "", ""
    if len(national) < 5:  # too short to show anything safely: only the last two digits
        digits = "".join(c for c in e164 if c.isdigit())
        return f"{BULLET * 3} {digits[-2:]}" if len(digits) >= 2 else BULLET * 3
    hidden = BULLET * (len(national) - 3)
    if country == "31":
        return " ".join(["+31", national[0], *_groups_from_right(hidden), national[-2:]])
    return " ".join([f"+{country}", *_groups_from_right(national[0] + hidden + national[-2:])])
