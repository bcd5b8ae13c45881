"""Find a presented token by its keyed hash (revocation, introspection and userinfo all look tokens up)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from idp.extensions import db
from idp.models import Token
from idp.runtime import crypto


def find_token(token_string: str, hint: str | None = None) -> Token | None:
    """The row holding this access or refresh token (the hint only orders the search); sets `matched_kind`."""
    if not token_string or len(token_string) > 512:
        return None
    hashed = crypto().keyed_hash(token_string)
    order = ("refresh_token", "access_token") if hint == "refresh_token" else ("access_token", "refresh_token")
    for kind in order:
        column = Token.access_token_hash if kind == "access_token" else Token.refresh_token_hash
        row: Token | None = db.session.scalar(select(Token).options(joinedload(Token.user)).where(column == hashed))
        if row is not None:
            row.matched_kind = kind  # which half of the pair was presented (per-request object)
            return row
    return None
