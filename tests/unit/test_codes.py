"""One-time codes by SMS and e-mail: hashed, expiring, single use, five tries, cooldown, hourly caps."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale, format_time
from sqlalchemy import select, text

from idp.extensions import db
from idp.models import OneTimeCode
from idp.security import codes
from idp.security.codes import (
    CodeCapReached,
    CodeCooldown,
    CodeError,
    CodeExhausted,
    CodeExpired,
    CodeInvalid,
    NoCode,
)
from tests.helpers import tomorrow_at

START = tomorrow_at(9)
PHONE = "+31612345678"


@pytest.fixture
def english(app):
    """Messages are checked in English, whatever the catalogs say in Dutch (the default)."""
    with force_locale("en"):
        yield


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def send_sms(user, flow_uid="flow-1", purpose="login", destination=PHONE):
    issued = codes.issue(user, channel="sms", purpose=purpose, destination=destination, flow_uid=flow_uid)
    db.session.commit()
    return issued


def send_email(user, flow_uid="flow-1", purpose="login"):
    issued = codes.issue(user, channel="email", purpose=purpose, destination=user.email, flow_uid=flow_uid)
    db.session.commit()
    return issued


def check(user, submitted, flow_uid="flow-1", purpose="login"):
    """Verify like a view does: commit whatever happened, also on failure."""
    try:
        return codes.verify(user, purpose=purpose, flow_uid=flow_uid, submitted=submitted)
    finally:
        db.session.commit()


def wrong(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2") if code.isdigit() else code[:-1] + (
        "A" if code[-1] != "A" else "C")


def test_sms_code_is_six_digits_by_default(user):
    issued = send_sms(user)
    assert re.fullmatch(r"\d{6}", issued.code)
    assert issued.prefix is None and issued.message_text == issued.code


def test_email_code_is_six_capitals_without_look_alikes(user):
    seen = "".join(send_email(user, flow_uid=f"f{i}").code for i in range(5))
    assert re.fullmatch(r"[ACDEFGHJKLMNPQRTUVWXY]{30}", seen)


def test_right_code_is_accepted_once(user):
    issued = send_sms(user)
    row = check(user, issued.code)
    assert row.id == issued.row.id and row.used_at is not None
    with pytest.raises(NoCode):
        check(user, issued.code)


def test_code_is_accepted_with_spaces_and_dashes(user):
    issued = send_sms(user)
    check(user, f" {issued.code[:3]} - {issued.code[3:]} ")


def test_email_code_is_case_insensitive(user):
    issued = send_email(user)
    check(user, issued.code.lower()[:3] + " " + issued.code.lower()[3:])


def test_only_keyed_hashes_are_stored(user):
    issued = send_sms(user)
    stored = db.session.execute(text("SELECT * FROM one_time_code")).mappings().one()
    assert issued.code not in " ".join(str(value) for value in stored.values())
    assert PHONE not in " ".join(str(value) for value in stored.values())
    assert len(stored["code_hash"]) == 64


def test_code_expires_after_the_ttl(user, frozen):
    issued = send_sms(user)
    frozen.shift(timedelta(seconds=300))
    with pytest.raises(CodeExpired):
        check(user, issued.code)
    assert codes.current(user, purpose="login", flow_uid="flow-1") is None


def test_code_still_works_just_before_expiry(user, frozen):
    issued = send_sms(user)
    frozen.shift(timedelta(seconds=299))
    check(user, issued.code)


def test_five_wrong_tries_kill_the_code_even_for_the_right_one(user):
    issued = send_sms(user)
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeInvalid) as caught:
            check(user, wrong(issued.code))
        assert caught.value.attempts_left == left
    with pytest.raises(CodeExhausted):
        check(user, wrong(issued.code))
    with pytest.raises(CodeExhausted):
        check(user, issued.code)
    assert db.session.scalar(select(OneTimeCode.attempts)) == 5
    assert codes.current(user, purpose="login", flow_uid="flow-1") is None


def test_wrong_tries_are_counted_in_the_database(user):
    issued = send_sms(user)
    with pytest.raises(CodeInvalid):
        check(user, "000000" if issued.code != "000000" else "111111")
    db.session.expire_all()
    assert db.session.get(OneTimeCode, issued.row.id).attempts == 1


def test_over_long_input_is_refused_without_counting(user):
    issued = send_sms(user)
    with pytest.raises(CodeInvalid) as caught:
        check(user, issued.code + " " * 40)
    assert caught.value.attempts_left == -1
    db.session.expire_all()
    assert db.session.get(OneTimeCode, issued.row.id).attempts == 0


def test_another_sign_in_or_purpose_has_no_code(user):
    issued = send_sms(user)
    with pytest.raises(NoCode):
        check(user, issued.code, flow_uid="flow-2")
    with pytest.raises(NoCode):
        check(user, issued.code, purpose="enrol")
    with pytest.raises(NoCode):
        check(user, issued.code, flow_uid=None)


def test_another_user_cannot_use_the_code(user, make_user):
    issued = send_sms(user)
    other = make_user("bob@example.org")
    with pytest.raises(NoCode):
        check(other, issued.code)


def test_codes_without_a_sign_in_are_kept_apart(user):
    issued = send_sms(user, flow_uid=None, purpose="enrol")
    with pytest.raises(NoCode):
        check(user, issued.code, flow_uid="flow-1", purpose="enrol")
    check(user, issued.code, flow_uid=None, purpose="enrol")


def test_resend_waits_for_the_cooldown(user, frozen):
    send_sms(user)
    frozen.shift(timedelta(seconds=10))
    assert codes.cooldown_left(user, purpose="login", flow_uid="flow-1") == 20
    with pytest.raises(CodeCooldown) as caught:
        send_sms(user)
    assert caught.value.seconds_left == 20
    assert codes.cooldown_left(user, purpose="login", flow_uid="flow-2") == 0
    frozen.shift(timedelta(seconds=20))
    assert codes.cooldown_left(user, purpose="login", flow_uid="flow-1") == 0
    send_sms(user)


def test_resend_invalidates_the_old_code(user, frozen):
    first = send_email(user)
    frozen.shift(timedelta(seconds=30))
    second = send_email(user)
    assert first.code != second.code  # 21^6 possibilities: a repeat would be a broken generator
    with pytest.raises(CodeInvalid):
        check(user, first.code)
    assert codes.current(user, purpose="login", flow_uid="flow-1").id == second.row.id
    check(user, second.code)
    assert db.session.get(OneTimeCode, first.row.id).invalidated_at is not None


def test_cap_per_user_per_hour_over_all_channels(user, frozen):
    for i in range(5):
        send_sms(user, flow_uid=f"sms-{i}")
        send_email(user, flow_uid=f"mail-{i}")
    with pytest.raises(CodeCapReached):
        send_email(user, flow_uid="one-more")
    frozen.shift(timedelta(minutes=59))
    with pytest.raises(CodeCapReached):
        send_email(user, flow_uid="one-more")
    frozen.shift(timedelta(minutes=1, seconds=1))
    send_email(user, flow_uid="one-more")


def test_cap_per_phone_number_counts_every_user(make_user, frozen):
    users = [make_user() for _ in range(6)]
    for each in users[:5]:
        send_sms(each, destination="06-12345678" if each is users[0] else PHONE)
    with pytest.raises(CodeCapReached):
        send_sms(users[5])
    send_sms(users[5], destination="+31687654321")  # another number is fine
    send_email(users[5], flow_uid="mail")  # and e-mail does not count against the phone
    frozen.shift(timedelta(hours=1))
    send_sms(users[5], flow_uid="later")


def test_current_returns_the_live_code_until_used(user):
    assert codes.current(user, purpose="login", flow_uid="flow-1") is None
    issued = send_sms(user)
    assert codes.current(user, purpose="login", flow_uid="flow-1").id == issued.row.id
    check(user, issued.code)
    assert codes.current(user, purpose="login", flow_uid="flow-1") is None


def test_errors_carry_a_sentence_for_the_user(english):
    assert "3" in CodeInvalid(3).message
    assert "1 more time." in str(CodeInvalid(1))
    assert "12 seconds" in CodeCooldown(12).message
    for error in (CodeExpired(), CodeExhausted(), NoCode(), CodeCapReached(), CodeInvalid(-1)):
        assert isinstance(error, CodeError) and error.message.endswith(".")
    assert CodeError("This recovery code was used before.").message == "This recovery code was used before."
    assert str(CodeError()) == "That code cannot be used."


PREFIXED = {"codes": {"sms_prefix": True, "sms_length": 8}}


@pytest.mark.parametrize("settings_overrides", [PREFIXED])
def test_prefix_is_shown_and_sent_with_the_code(user):
    issued = send_sms(user)
    assert re.fullmatch(r"\d{4}", issued.prefix) and re.fullmatch(r"\d{8}", issued.code)
    assert issued.message_text == f"{issued.prefix}-{issued.code}"
    assert codes.current(user, purpose="login", flow_uid="flow-1").prefix == issued.prefix


@pytest.mark.parametrize("settings_overrides", [PREFIXED])
@pytest.mark.parametrize("typed", ["{code}", "{prefix}-{code}", "{prefix} - {code}", "{prefix}{code}"])
def test_prefixed_code_is_accepted_with_or_without_the_prefix(user, typed):
    issued = send_sms(user)
    check(user, typed.format(prefix=issued.prefix, code=issued.code))


@pytest.mark.parametrize("settings_overrides", [PREFIXED])
def test_code_under_another_prefix_is_refused(user):
    issued = send_sms(user)
    other = "0000" if issued.prefix != "0000" else "1111"
    with pytest.raises(CodeInvalid):
        check(user, f"{other}-{issued.code}")


def test_e_mail_codes_have_no_prefix_even_when_sms_has(user):
    assert send_email(user).prefix is None


def test_two_requests_racing_with_the_right_code_only_one_wins(app, user):
    import threading

    from sqlalchemy.exc import OperationalError

    issued = send_sms(user)
    user_id = user.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt():
        with app.app_context():
            from idp.models import User

            someone = db.session.get(User, user_id)
            barrier.wait()
            try:
                codes.verify(someone, purpose="login", flow_uid="flow-1", submitted=issued.code)
                db.session.commit()
                outcomes.append("accepted")
            except NoCode:
                db.session.commit()
                outcomes.append("refused")
            except OperationalError:  # SQLite refuses the second writer outright: also a refusal
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["accepted", "refused"]


def test_codes_that_finished_their_step_do_not_count_towards_the_caps(user):
    """Issue 14 part 4: a code at every sign-in must not cap a person who signs in often; what counts is codes
    sent and never used (SMS pumping never finishes a step)."""
    for i in range(8):  # more than per_phone_per_hour (5), each one typed in
        issued = send_sms(user, flow_uid=f"sign-in-{i}")
        check(user, issued.code, flow_uid=f"sign-in-{i}")
    send_sms(user, flow_uid="one-more")  # still allowed


def test_unused_codes_still_cap_and_the_error_says_from_when(user, frozen, english):
    for i in range(5):
        send_sms(user, flow_uid=f"pump-{i}")
        frozen.shift(timedelta(minutes=1))
    with pytest.raises(CodeCapReached) as capped:
        send_sms(user, flow_uid="pump-6")
    assert capped.value.until == START + timedelta(hours=1)
    assert capped.value.message.endswith(f"from {format_time(START + timedelta(hours=1), 'HH:mm')}.")
