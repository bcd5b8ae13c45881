"""Fixtures for second factors: a portal that requires one, users with a factor set up in one line."""

from __future__ import annotations

import pytest

PHONE = "+31612345678"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def add_factor(app):
    from idp.accounts import factors
    from idp.extensions import db

    def add(user, kind: str, phone: str = PHONE, secret: str = TOTP_SECRET):
        factor = factors.add_confirmed(user, kind, phone_number=phone, secret=secret)
        db.session.commit()
        return factor

    return add


@pytest.fixture
def strict_portal(make_portal):
    """A portal that requires a second factor of any kind, trusting a browser for 7 days."""
    return make_portal("Huisarts", mfa="required")


@pytest.fixture
def strict_rp(client, strict_portal):
    from tests.helpers import RelyingParty

    return RelyingParty(client, strict_portal)


@pytest.fixture
def distinct_codes(monkeypatch):
    """Codes drawn in turn instead of at random, so two codes in a row always differ: a test about the older
    code must not pass or fail by the one-in-a-million chance that the newer one equals it."""
    import itertools
    import types

    from idp.security import codes

    counter = itertools.count()
    monkeypatch.setattr(codes, "secrets", types.SimpleNamespace(choice=lambda seq: seq[next(counter) % len(seq)]))
