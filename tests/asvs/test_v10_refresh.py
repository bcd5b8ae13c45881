"""OWASP ASVS 5.0 10.4.8: refresh tokens have an absolute end, even though each rotation gives a fresh
`tokens.refresh_token_days` (issue 18)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from idp.extensions import db
from idp.models import Token
from tests.helpers import tomorrow_at

PASSWORD = "correct horse battery"


def test_a_family_rotated_every_twenty_days_still_ends_at_its_sign_in_plus_the_maximum(rp, user, settings):
    signed_in = tomorrow_at(9)
    with time_machine.travel(signed_in, tick=False):
        refresh_token = rp.tokens(user.email, PASSWORD)["refresh_token"]
    days = settings.tokens.refresh_token_days
    maximum = timedelta(days=settings.tokens.refresh_token_max_days)
    assert (days, maximum.days) == (30, 90)

    day = 0
    while day + 20 < maximum.days:  # in use every 20 days: each rotation alone would live for ever
        day += 20
        with time_machine.travel(signed_in + timedelta(days=day), tick=False):
            response = rp.refresh(refresh_token)
            assert response.status_code == 200, response.get_json()
            refresh_token = response.get_json()["refresh_token"]

    family = db.session.scalars(select(Token).where(Token.refresh_token_hash.is_not(None))
                                .order_by(Token.issued_at)).all()
    assert len(family) == 5 and len({row.family for row in family}) == 1
    assert family[-1].refresh_expires_at == signed_in + maximum  # day 80's token: not day 80 + 30
    assert family[-2].refresh_expires_at == signed_in + timedelta(days=60 + days)  # far from the end: 30 days

    with time_machine.travel(signed_in + maximum - timedelta(seconds=1), tick=False):
        assert rp.introspect(refresh_token).get_json()["active"] is True
    with time_machine.travel(signed_in + maximum + timedelta(seconds=1), tick=False):
        refused = rp.refresh(refresh_token)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
