"""Clocks that differ (issue 18 part 5): a phone's authenticator app, and two provider instances on one database.

The instances are two apps in this process (`idp serve` has no clock of its own to shift), one browser and one
portal going to either, as behind a load balancer; time-machine sets the clock of whichever instance answers.

Nothing refuses a time in the future (an iat, a session's start), and every expiry is the writer's clock plus a
lifetime read by the reader's clock: instances may be apart by a good part of the shortest lifetime, an
authorization code's 60 s. Further apart, a code made on the slow instance is already expired on the fast one:
their clocks must be kept in step (NTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from idp import create_app
from idp.audit import EventTag
from idp.extensions import db
from idp.models import Factor
from tests.flows.account_helpers import PASSWORD
from tests.helpers import RelyingParty, audit_events, browser, query
from tests.mfa.conftest import TOTP_SECRET, add_factor, strict_portal, strict_rp  # noqa: F401 (fixtures)
from tests.mfa.test_sign_in_with_a_second_factor import start

INSTANCES_APART = timedelta(seconds=30)  # half the shortest lifetime, tokens.code_seconds (60): see the docstring


def test_an_authenticator_app_half_a_minute_off_is_accepted_a_minute_off_refused(
        app, strict_rp, user, add_factor, frozen):  # noqa: F811 (the fixtures)
    """idp/security/totp.py WINDOW: one 30-second step either side of the provider's clock."""
    factor_id = add_factor(user, "totp").id
    totp = pyotp.TOTP(TOTP_SECRET)
    for phone_off, accepted in ((-60, False), (-30, True), (60, False), (30, True)):  # replay: earlier steps first
        sign_in = start(strict_rp, prompt="login")
        sign_in.password(user.email)
        sign_in.post(code=totp.at(frozen + timedelta(seconds=phone_off)))
        if accepted:
            assert "code" in sign_in.finished(strict_rp.redirect_uri), phone_off
        else:
            assert sign_in.response.status_code == 200 and 'role="alert"' in sign_in.html, phone_off
    assert [e.details["reason"] for e in audit_events(EventTag.MFA_CODE_REJECTED)] == ["TotpInvalid"] * 2
    step = int(frozen.timestamp()) // 30
    assert db.session.get(Factor, factor_id).totp_last_step == step + 1


@pytest.fixture
def fast(settings, app):
    """A second instance on the same database whose clock runs INSTANCES_APART ahead."""
    other = create_app(settings)
    other.config["TESTING"] = True
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_what_a_fast_instance_issues_works_on_the_other_and_back(app, fast, make_portal, user, time_machine):
    slow_now = datetime.now(UTC)
    portal = make_portal(access_token_format="jwt")  # a JWT access token: its iat is checked by the reader
    rp = RelyingParty(browser(app), portal)  # one browser: rp.client goes to either instance

    def at(instance, now: datetime) -> None:
        rp.client.application = instance
        time_machine.move_to(now, tick=True)

    at(fast, slow_now + INSTANCES_APART)
    tokens = rp.exchange(rp.sign_in(user.email, PASSWORD)["code"]).get_json()  # session, code, tokens: fast
    parked = query(rp.authorize().location)["code"]  # a code for the slow one to redeem
    issued_at = rp.decode_id_token(tokens["id_token"])["iat"]

    at(app, slow_now)
    assert issued_at > datetime.now(UTC).timestamp()  # in the future for this instance
    assert rp.userinfo(tokens["access_token"]).get_json()["sub"] == user.sub
    assert rp.introspect(tokens["access_token"]).get_json()["active"] is True
    assert rp.exchange(parked).status_code == 200  # the fast instance's code
    assert "access_token" in rp.refresh(tokens["refresh_token"]).get_json()  # its refresh token
    callback = rp.authorize(prompt="none")  # its SSO session: signed in, no page
    code = query(callback.location)["code"]

    at(fast, slow_now + INSTANCES_APART + timedelta(seconds=1))
    assert rp.exchange(code).status_code == 200  # the slow instance's code, less old than it looks
