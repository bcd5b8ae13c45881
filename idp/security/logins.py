"""Login names as typed: one normal form for lookup, throttling, lockout and audit, and its keyed hash."""

from __future__ import annotations

import unicodedata

from idp.runtime import crypto

MAX_LOGIN = 320


def normalise_login(typed: str | None) -> str:
    """What a person typed as e-mail or username, as compared everywhere (lookup, throttling, audit).

    Unicode-normalised (NFKC) and stripped; never cut short, so padding cannot make a second name for the
    same account. Empty when nothing usable was typed; over MAX_LOGIN it names no account.
    """
    return unicodedata.normalize("NFKC", typed or "").strip()


def login_key(typed: str | None) -> str:
    """A keyed hash of the normalised, case-folded login: counts and records without the typed text."""
    return crypto().keyed_hash(normalise_login(typed).casefold())
