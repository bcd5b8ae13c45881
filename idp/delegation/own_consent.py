"""A child's own consent on the account pages (issue 15, seed 003: from 12 until 16 the child decides whether a
parent may see their records and act for them). The rule is grants.record_child_consent; this finds the
delegation waiting for this child's consent. Nothing is committed here."""

from __future__ import annotations

from datetime import datetime

from idp.delegation.grants import CONSENT_NEEDED, record_child_consent, refusal
from idp.delegation.invitations import own_as_principal
from idp.models import Delegation, User


def awaits_consent(delegation: Delegation, now: datetime) -> bool:
    """Does this delegation wait only for its child's consent (a parent's, while the child is 12 to 16)?"""
    return refusal(delegation, now) == CONSENT_NEEDED


def give(child: User, delegation_id: int, now: datetime) -> Delegation | None:
    """The child, signed in as themselves, consents to the parent's access: it is active from now. None: not
    theirs, or not waiting for their consent (nothing changes)."""
    found = own_as_principal(child, delegation_id)
    if found is None or not awaits_consent(found, now):
        return None
    return record_child_consent(found, now, by_child=child)
