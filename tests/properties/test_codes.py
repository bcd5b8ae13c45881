"""Code checks: one-time codes by SMS and e-mail (idp.security.codes), authenticator-app codes
(idp.security.totp) and recovery codes (idp.security.recovery). A code is accepted only when it is exactly
right, in any spelling its parser allows (an SMS code with or without the prefix its page shows, spaces and
dashes; an e-mail code in any case; a recovery code in any case, with or without dashes and spaces, i/l/o for
1/1/0); any change of one character is refused; a used code is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from idp.extensions import db
from idp.security import codes, recovery, totp
from tests.properties.conftest import DB_EXAMPLES

ANY_CHARACTER = st.one_of(st.sampled_from("0123456789ACDEFGHJKLMNPQRTUVWXYacdefghjk -_.\t٣１"), st.characters())


@pytest.fixture
def settings_overrides():
    # Every example sends a code to the same person and number: no waiting, no hourly cap.
    return {"codes": {"resend_seconds": 0, "per_user_per_hour": 1_000_000, "per_phone_per_hour": 1_000_000}}


def spaced(data, text: str, gaps_typed: str = " -") -> str:
    """The text with spaces (or dashes) between some of its characters, as people type codes."""
    gaps = data.draw(st.lists(st.sampled_from(["", "", *gaps_typed, gaps_typed[0] * 2]), min_size=len(text),
                              max_size=len(text)))
    return "".join(gap + c for gap, c in zip(gaps, text, strict=True)).strip(" -") or text


def changed(data, text: str, means) -> str:
    """The text with one character replaced by one that means something else (`means` is the parser's reading
    of a single character: a case or a look-alike is no change). What is drawn never depends on the text: the
    codes are random, and Hypothesis replays draws."""
    at = data.draw(st.integers(0, len(text) - 1))
    other = data.draw(ANY_CHARACTER)
    if means(other) == means(text[at]):
        other = next(c for c in "0123456789ACDEFGHJKLMNPQRTUVWXY#" if means(c) != means(text[at]))
    return text[:at] + other + text[at + 1:]


@DB_EXAMPLES
@given(channel=st.sampled_from(["sms", "email"]), prefix=st.booleans(), length=st.integers(6, 10), data=st.data())
def test_a_one_time_code_is_accepted_only_when_exactly_right_and_only_once(app, user, channel, prefix, length,
                                                                             data):
    style = codes.Style(sms_prefix=prefix, sms_length=length, email_length=length)
    flow = uuid.uuid4().hex  # each example its own sign-in
    issued = codes.issue(user, channel=channel, purpose="sign_in", destination="+31612345678" if channel == "sms"
                         else user.email, flow_uid=flow, style=style)
    if channel == "email":
        def means(c: str) -> str:
            return c.upper() if c not in " \t\n-" else ""
        typed = "".join(c.lower() if data.draw(st.booleans()) else c for c in issued.code)
    else:
        def means(c: str) -> str:
            return c if c not in " \t\n-" else ""
        # The page shows the prefix: a person may type it with the code, as the SMS shows them together.
        typed = issued.message_text if issued.prefix and data.draw(st.booleans()) else issued.code
    typed = spaced(data, typed)

    wrong = changed(data, typed, means)
    with pytest.raises(codes.CodeInvalid):
        codes.verify(user, purpose="sign_in", flow_uid=flow, submitted=wrong)
    assert codes.verify(user, purpose="sign_in", flow_uid=flow, submitted=typed).id == issued.row.id
    with pytest.raises(codes.NoCode):
        codes.verify(user, purpose="sign_in", flow_uid=flow, submitted=typed)
    db.session.commit()


def reference_totp(secret: str, step: int) -> str:
    """RFC 6238 with HMAC-SHA1 and 6 digits, written out here (RFC 4226 §5.3 dynamic truncation)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


SECRETS = st.binary(min_size=20, max_size=20).map(lambda raw: base64.b32encode(raw).decode().rstrip("="))
INSTANTS = st.integers(1_600_000_000, 4_000_000_000)


@pytest.fixture
def _babel(pure_app):
    """The refusals are translatable sentences."""


@pytest.mark.usefixtures("_babel")
@given(secret=SECRETS, at=INSTANTS, offset=st.integers(-4, 4), last=st.one_of(st.none(), st.integers(-3, 3)),
       data=st.data())
@example(secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", at=1_800_000_000, offset=2, last=None, data=None)
def test_an_app_code_counts_within_one_step_either_side_and_once(secret, at, offset, last, data):
    now = datetime.fromtimestamp(at, UTC)
    current = at // 30
    code = reference_totp(secret, current + offset)
    typed = spaced(data, code, " ") if data is not None else code
    last_step = None if last is None else current + last
    window = [step for step in range(current - 1, current + 2) if reference_totp(secret, step) == code]
    fresh = [step for step in window if last_step is None or step > last_step]
    if fresh:
        assert totp.verify(secret, typed, last_step, now) == max(fresh)
        with pytest.raises(totp.TotpReplayed):
            totp.verify(secret, typed, max(fresh), now)
    else:
        with pytest.raises(totp.TotpReplayed if window else totp.TotpInvalid):
            totp.verify(secret, typed, last_step, now)


@pytest.mark.usefixtures("_babel")
@given(secret=SECRETS, at=INSTANTS, data=st.data())
def test_an_app_code_changed_in_one_character_is_refused(secret, at, data):
    now = datetime.fromtimestamp(at, UTC)
    current = at // 30
    wrong = changed(data, reference_totp(secret, current), lambda c: c if not c.isspace() else "")
    assert wrong not in {reference_totp(secret, step) for step in range(current - 1, current + 2)}
    with pytest.raises(totp.TotpInvalid):
        totp.verify(secret, wrong, None, now)


@pytest.mark.usefixtures("_babel")
@given(secret=SECRETS, typed=st.text(max_size=50))
@example(secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", typed="١٢٣٤٥٦")
def test_anything_typed_is_a_step_or_a_code_error(secret, typed):
    now = datetime.fromtimestamp(1_800_000_000, UTC)
    try:
        step = totp.verify(secret, typed, None, now)
    except codes.CodeError:
        return
    assert reference_totp(secret, step) == "".join(typed[:40].split())


def recovery_means(c: str) -> str:
    """One typed character as the recovery-code parser reads it: any case, i and l for 1, o for 0."""
    if c.isspace() or c == "-":
        return ""
    return {"i": "1", "l": "1", "o": "0"}.get(c.lower(), c.lower())


@DB_EXAMPLES
@given(data=st.data())
def test_a_recovery_code_is_accepted_in_any_spelling_once_and_changed_never(app, user, data):
    shown = recovery.generate(user)
    code = data.draw(st.sampled_from(shown))
    raw = code.replace("-", "")
    spellings = data.draw(st.lists(st.integers(0, 4), min_size=len(raw), max_size=len(raw)))
    lookalike = {"1": "1iIlL", "0": "0oO"}
    typed = "".join(lookalike.get(c, c + c.upper())[n % len(lookalike.get(c, c + c.upper()))]
                    for c, n in zip(raw, spellings, strict=True))
    typed = data.draw(st.sampled_from([code.upper(), typed, spaced(data, typed)]))
    wrong = changed(data, typed, recovery_means)
    assert not recovery.use(user, wrong)
    assert recovery.use(user, typed)
    assert not recovery.use(user, typed)
    assert not recovery.use(user, code)
    assert recovery.remaining(user) == recovery.COUNT - 1
    db.session.commit()
