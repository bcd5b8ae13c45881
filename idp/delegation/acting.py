"""Acting under a delegation once signed in (issue 15 part 4): what a code or token issued under one may carry,
and whether it still may be used. The sign-in's "for whom?" page asks `principals_of`; every later use of
what it bought (a token refresh, userinfo, introspection) asks `still_usable` with the time of that use."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from idp.audit import EventTag, record
from idp.delegation.grants import refusal
from idp.models import Delegation


def allowed_scopes(delegation: Delegation, scopes: Iterable[str]) -> list[str]:
    """The asked scopes the delegation covers, in the order asked: a delegate never gets more than the grant
    names (none named: whatever the portal may have). `openid` is always implied."""
    covered = set(delegation.scopes or [])
    return [s for s in scopes if not covered or s == "openid" or s in covered]


def still_usable(delegation: Delegation, client_id: str, scopes: Iterable[str], now: datetime) -> bool:
    """May a code or token issued under this delegation still be used, here, with these scopes, now? The check
    `usable_for` makes, on the delegation the grant was issued under: revoked, expired, ended, the principal's
    16th birthday (whatever the expiry job did), another portal or a scope outside the grant all say no."""
    return refusal(delegation, now, client_id=client_id, scopes=list(scopes)) is None


def record_acting(tag: EventTag, acting_for: Delegation, client_id: str, **details: Any) -> None:
    """An audit row of something done under a delegation: the principal is the subject, the delegate the actor
    (NEN 7513: on whose behalf), both named in the details."""
    delegate = acting_for.delegate
    record(tag, user_id=acting_for.principal_id, client_id=client_id, actor=f"user:{delegate.sub}",
           actor_user_id=delegate.id, delegation_id=acting_for.id, delegate=delegate.sub, delegate_id=delegate.id,
           principal=acting_for.principal.sub, principal_id=acting_for.principal_id, **details)
