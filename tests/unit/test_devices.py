"""Trusted devices: a cookie token bound to one user, expiring, revocable, honoured as a portal allows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from idp.audit import EventTag
from idp.extensions import db
from idp.models import AuditEvent, TrustedDevice
from idp.sessions import devices
from tests.helpers import tomorrow_at

START = tomorrow_at(9)
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36")


@pytest.fixture
def english(app):
    """Messages are checked in English, whatever the catalogs say in Dutch (the default)."""
    with force_locale("en"):
        yield


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def trusted(user, days=7, user_agent=CHROME_WINDOWS):
    device, token = devices.trust(user, days=days, user_agent=user_agent, ip="192.0.2.7")
    db.session.commit()
    return device, token


def audit(tag: EventTag) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.tag == str(tag)).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def test_cookie_names():
    assert devices.cookie_name(https=True) == "__Host-idp_device"
    assert devices.cookie_name(https=False) == "idp_device"


def test_trusted_device_is_found_by_its_cookie(user):
    device, token = trusted(user)
    assert len(token) >= 43
    assert devices.find(user, token, user_agent=CHROME_WINDOWS) == device
    assert device.expires_at == START + timedelta(days=7)
    assert device.last_used_at == device.created_at == START
    assert device.token_hash != token and token not in device.token_hash
    [event] = audit(EventTag.DEVICE_TRUSTED)
    assert event.subject_user_id == user.id and event.details["days"] == 7


def test_device_expires(user, frozen):
    _, token = trusted(user, days=7)
    frozen.shift(timedelta(days=7) - timedelta(seconds=1))
    assert devices.find(user, token, user_agent=CHROME_WINDOWS) is not None
    frozen.shift(timedelta(seconds=1))
    assert devices.find(user, token, user_agent=CHROME_WINDOWS) is None


def test_revoked_device_is_not_found(user):
    device, token = trusted(user)
    devices.revoke(device, reason="user")
    db.session.commit()
    assert devices.find(user, token, user_agent=CHROME_WINDOWS) is None
    [event] = audit(EventTag.DEVICE_REVOKED)
    assert event.details["reason"] == "user" and event.subject_user_id == user.id


def test_another_users_token_does_not_count(user, make_user):
    _, token = trusted(user)
    other = make_user("bob@example.org")
    assert devices.find(other, token, user_agent=CHROME_WINDOWS) is None


@pytest.mark.parametrize("garbage", [None, "", "nonsense", "x" * 101])
def test_garbage_finds_nothing(user, garbage):
    trusted(user)
    assert devices.find(user, garbage, user_agent=CHROME_WINDOWS) is None


def test_over_long_cookie_is_refused_even_when_it_starts_right(user):
    _, token = trusted(user)
    assert devices.find(user, token + "A" * 100, user_agent=CHROME_WINDOWS) is None


def test_portal_with_zero_days_never_honours_a_device(user):
    device, _ = trusted(user)
    assert not devices.honoured(device, 0)


def test_strictest_portal_wins(user, frozen):
    device, _ = trusted(user, days=30)
    frozen.shift(timedelta(days=5))
    assert not devices.honoured(device, 3)
    assert devices.honoured(device, 7)
    assert devices.honoured(device, 5)


def test_touch_records_the_last_use(user, frozen):
    device, _ = trusted(user)
    frozen.shift(timedelta(days=2))
    devices.touch(device)
    db.session.commit()
    assert db.session.get(TrustedDevice, device.id).last_used_at == START + timedelta(days=2)


def test_revoke_all_stops_every_device_of_the_user_only(user, make_user, frozen):
    tokens = [trusted(user)[1] for _ in range(3)]
    other = make_user("bob@example.org")
    _, others_token = trusted(other)
    devices.revoke(devices.find(user, tokens[0], user_agent=CHROME_WINDOWS), reason="user")
    assert devices.revoke_all(user, reason="password_changed") == 2
    db.session.commit()
    assert all(devices.find(user, token, user_agent=CHROME_WINDOWS) is None for token in tokens)
    assert devices.find(other, others_token, user_agent=CHROME_WINDOWS) is not None
    events = audit(EventTag.DEVICE_REVOKED)
    assert [e.details["count"] for e in events] == [1, 2]
    assert events[-1].details["reason"] == "password_changed"
    assert devices.revoke_all(user, reason="admin") == 0


def test_list_shows_live_devices_most_recently_used_first(user, frozen):
    first, _ = trusted(user)
    second, _ = trusted(user)
    gone, _ = trusted(user)
    devices.revoke(gone, reason="user")
    _short, _ = trusted(user, days=1)
    frozen.shift(timedelta(days=2))
    devices.touch(first)
    db.session.commit()
    assert devices.list_for(user) == [first, second]


def test_trust_needs_at_least_a_day(user):
    with pytest.raises(ValueError):
        devices.trust(user, days=0, user_agent=None, ip=None)


def test_long_user_agents_are_cut_to_fit(user):
    device, _ = trusted(user, user_agent="Mozilla/5.0 " + "x" * 500)
    assert len(device.user_agent) == 300


@pytest.mark.parametrize(("user_agent", "label"), [
    (CHROME_WINDOWS, "Chrome on Windows"),
    (("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Mobile/15E148 Safari/604.1"), "Safari on iPhone"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox on Linux"),
    (("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
     "Safari/605.1.15"), "Safari on macOS"),
    (("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36 Edg/124.0.2478.51"), "Edge on Windows"),
    (("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Mobile Safari/537.36"), "Chrome on Android"),
    (("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"), "Chrome on iPhone"),
    (None, "Unknown browser"),
    ("curl/8.5.0", "Unknown browser"),
])
def test_describe_gives_a_short_label(english, user_agent, label):
    assert devices.describe(user_agent) == label
