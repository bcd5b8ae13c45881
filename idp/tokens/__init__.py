"""Access and refresh tokens: revocation in one place, whoever asks (a replayed code or refresh token, the
revocation endpoint, a new password, a disabled account). Not committed: the caller's change and the
revocation land together."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, update

from idp import clock
from idp.extensions import db, rows_changed
from idp.models import Token


def _revoke(condition: ColumnElement[bool]) -> int:
    """Revoke the live tokens matching `condition`; returns how many (revoking again changes nothing)."""
    return rows_changed(update(Token).where(condition, Token.revoked_at.is_(None)).values(revoked_at=clock.now()))


def revoke_family(family: str) -> int:
    """Every token of one grant: the access tokens and the refresh tokens rotated from one another."""
    return _revoke(Token.family == family)


def revoke_bought_with_code(code_id: int) -> int:
    """Every token of the grants a code was exchanged for (RFC 6749 §4.1.2: a code used twice); returns how
    many grants that was."""
    families = set(db.session.scalars(select(Token.family).where(Token.code_id == code_id)))
    if families:
        _revoke(Token.family.in_(families))
    return len(families)


def revoke_all_for_user(user_id: int) -> int:
    """Every live token of a person (a new password, a disabled account)."""
    return _revoke(Token.user_id == user_id)


def revoke_all_of_people() -> int:
    """Every live token issued for a person, whoever (signing everyone out); clients' own tokens stay."""
    return _revoke(Token.user_id.is_not(None))


def revoke_under_delegation(delegation_id: int) -> int:
    """Every live token issued to someone acting under this delegation (it was revoked or ended)."""
    return _revoke(Token.delegation_id == delegation_id)


def revoke_for_session(session_id: int) -> int:
    """Every live token issued within one SSO session (the person or an admin signed it out)."""
    return _revoke(Token.session_id == session_id)


def revoke_for_user_at(user_id: int, client_id: int) -> int:
    """Every live token of a person at one portal (the person revoked that portal's access)."""
    return _revoke((Token.user_id == user_id) & (Token.client_id == client_id))
