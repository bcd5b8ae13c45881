"""`idp delegations expire` (daily): mark delegations that have ended as expired, and tell both people shortly
before (setting delegation.notice_days) and afterwards, each once.

Invitations of contact persons not accepted in time are marked expired too (nobody is told: they were never
used). Whether a delegation can be used is decided from its dates at every use (grants.refusal), so a day on
which the job did not run extends nothing; what the job adds is that the portal sessions and tokens still acting
under one that ended are ended at once (grants.end_use), as a revocation does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from idp.audit import EventTag
from idp.delegation.ages import AgeRules
from idp.delegation.grants import audit_both, end_use, ends_at, has_address, refusal
from idp.delegation.invitations import expires_at as invitation_ends
from idp.extensions import db
from idp.messaging import send
from idp.models import Delegation, User
from idp.models import delegation as d
from idp.runtime import settings


def expire(now: datetime) -> dict[str, int]:
    """Expire what ended and send the notices that are due (not committed). Returns counts."""
    rules = AgeRules.from_settings()
    notice = timedelta(days=settings().delegation.notice_days)
    counts = {"expired": 0, "ending_notices": 0, "ended_notices": 0}
    live = select(Delegation).where(Delegation.status.in_((d.PENDING, d.ACTIVE))).order_by(Delegation.id)
    for delegation in db.session.scalars(live):
        if delegation.basis == d.INVITATION and delegation.status == d.PENDING:
            if now >= invitation_ends(delegation):  # never accepted: it can no longer be (no notices)
                delegation.status, delegation.updated_at = d.EXPIRED, now
                audit_both(EventTag.DELEGATION_EXPIRED, delegation, invitation=True)
                counts["expired"] += 1
            continue
        end = ends_at(delegation, rules)
        if end is None:
            continue
        if end <= now:
            # Told only when it could be used up to its end (not one that waited for consent to the last).
            was_usable = refusal(delegation, end - timedelta(seconds=1), rules=rules) is None
            delegation.status = d.EXPIRED
            delegation.updated_at = now
            audit_both(EventTag.DELEGATION_EXPIRED, delegation, ended_at=end.isoformat())
            end_use(delegation, d.EXPIRED)
            counts["expired"] += 1
            if was_usable and delegation.ended_notice_at is None:
                counts["ended_notices"] += _tell(delegation, "delegation_ended", end, rules, now)
        elif notice and end - notice <= now and delegation.ending_notice_at is None \
                and refusal(delegation, now, rules=rules) is None:
            counts["ending_notices"] += _tell(delegation, "delegation_ending", end, rules, now)
    return counts


def _tell(delegation: Delegation, template: str, end: datetime, rules: AgeRules, now: datetime) -> int:
    """Mail both people who have an address of their own; mark the notice as sent (also when nobody could be
    mailed: it is never tried twice). Returns the number of mails queued."""
    delegate, principal = delegation.delegate, delegation.principal
    at_age = delegation.basis in d.YOUNGER_RULES and principal.date_of_birth is not None \
        and end == rules.parental_end(principal.date_of_birth)
    day = rules.today(end).isoformat()
    sent = 0
    for person, other, role in ((delegate, principal, "delegate"), (principal, delegate, "principal")):
        if has_address(person):
            send("email", person.email, template, user=person, role=role, other=_name(other), end_date=day,
                 at_age=at_age, adult_from=rules.adult_from)
            sent += 1
    if template == "delegation_ended":
        delegation.ended_notice_at = now
    else:
        delegation.ending_notice_at = now
    delegation.updated_at = now
    audit_both(EventTag.DELEGATION_NOTICE_SENT, delegation, notice=template, mails=sent, end_date=day)
    return sent


def _name(user: User) -> str:
    return user.name or user.given_name or (user.email if not user.no_login else "")

