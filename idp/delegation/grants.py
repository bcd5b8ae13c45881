"""Delegations: grant, consent, revoke, and the one question later code asks (may this person act for that one,
here, now?).

Every rule takes `now` from its caller and reads the principal's date of birth at every use: a parental
delegation ends on the 16th birthday (setting delegation.adult_from) whatever its status column says, so a job
that did not run never extends access. Nothing is committed here; every change is audited with both people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select

from idp import sessions, tokens
from idp.audit import EventTag, record
from idp.delegation.ages import ONLY_OWN_CONSENT, PARENT_ALONE, AgeRules, age_on
from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.models import Delegation, User
from idp.models import delegation as d
from idp.models.user import new_sub
from idp.portals import profile, registry

_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")
# Why a delegation cannot be used (what `refusal` returns); None: it can.
REVOKED, EXPIRED, NOT_YET, ENDED, AT_ADULT_AGE, CONSENT_NEEDED, NO_BIRTH_DATE, PENDING = (
    "revoked", "expired", "not_yet", "ended", "at_adult_age", "child_consent_needed", "no_date_of_birth", "pending")
PORTAL, PORTAL_WITHOUT_DELEGATION, SCOPE, DELEGATE_UNUSABLE, PRINCIPAL_DISABLED = (
    "portal", "portal_without_delegation", "scope", "delegate_unusable", "principal_disabled")
# The address of an account without a login of its own: never deliverable (RFC 2606), never typed (a
# special-use domain the address check refuses), unique by the account's sub.
NO_LOGIN_DOMAIN = "no-login.invalid"


# --- the one question -------------------------------------------------------------------------------------

def refusal(delegation: Delegation, now: datetime, *, client_id: str | None = None,
            scopes: Iterable[str] | None = None, rules: AgeRules | None = None) -> str | None:
    """Why this delegation cannot be used at `now` (at this portal, with these scopes, when given); None if it can."""
    rules = rules or AgeRules.from_settings()
    if delegation.status == d.REVOKED:
        return REVOKED
    if delegation.status == d.EXPIRED:
        return EXPIRED
    if now < delegation.valid_from:
        return NOT_YET
    if delegation.valid_until is not None and now >= delegation.valid_until:
        return ENDED
    delegate, principal = delegation.delegate, delegation.principal
    if delegate.disabled_at is not None or delegate.no_login:
        return DELEGATE_UNUSABLE
    if principal.disabled_at is not None:
        return PRINCIPAL_DISABLED
    if delegation.basis in d.YOUNGER_RULES:
        born = principal.date_of_birth
        if born is None:
            return NO_BIRTH_DATE  # the age rules cannot be applied: no access
        stage = rules.stage(born, now)
        if stage == ONLY_OWN_CONSENT:
            return AT_ADULT_AGE
        if stage != PARENT_ALONE and delegation.child_consent_at is None:
            return CONSENT_NEEDED
    if delegation.status == d.PENDING:
        return PENDING
    if client_id is not None:
        if delegation.portals and client_id not in delegation.portals:
            return PORTAL
        if not allows_delegation(client_id):
            return PORTAL_WITHOUT_DELEGATION
    if scopes is not None and delegation.scopes and not set(scopes) - {"openid"} <= set(delegation.scopes):
        return SCOPE
    return None


def usable_for(delegate: User, principal: User, client_id: str, scopes: Iterable[str],
               now: datetime) -> Delegation | None:
    """The delegation under which `delegate` may act for `principal` at this portal with these scopes now, or
    None. Ask it at every sign-in, token refresh and userinfo call."""
    wanted = list(scopes)
    for delegation in _live(delegate_id=delegate.id, principal_id=principal.id):
        if refusal(delegation, now, client_id=client_id, scopes=wanted) is None:
            return delegation
    return None


def principals_of(delegate: User, client_id: str, now: datetime) -> list[Delegation]:
    """Whom this person may act for at this portal now: one usable delegation per principal, by name."""
    found: dict[int, Delegation] = {}
    for delegation in _live(delegate_id=delegate.id):
        if delegation.principal_id not in found and refusal(delegation, now, client_id=client_id) is None:
            found[delegation.principal_id] = delegation
    return sorted(found.values(), key=lambda x: ((x.principal.name or "").casefold(), x.principal_id))


def delegates_of(principal: User, client_id: str, now: datetime) -> list[Delegation]:
    """Who may act for this person at this portal now (the reverse of `principals_of`): one usable delegation
    per delegate, by name. The same `refusal` decides, so revoked, ended, expired and the 16th birthday hold."""
    found: dict[int, Delegation] = {}
    for delegation in _live(principal_id=principal.id):
        if delegation.delegate_id not in found and refusal(delegation, now, client_id=client_id) is None:
            found[delegation.delegate_id] = delegation
    return sorted(found.values(), key=lambda x: ((x.delegate.name or "").casefold(), x.delegate_id))


def allows_delegation(client_id: str) -> bool:
    client = registry.find(client_id)
    return client is not None and profile.of(client).delegation


def ends_at(delegation: Delegation, rules: AgeRules | None = None) -> datetime | None:
    """When it ends by its dates: its valid_until, or for the younger rules the start of the principal's 16th
    birthday, whichever comes first (None: open-ended)."""
    rules = rules or AgeRules.from_settings()
    ends = [delegation.valid_until] if delegation.valid_until is not None else []
    if delegation.basis in d.YOUNGER_RULES and delegation.principal.date_of_birth is not None:
        ends.append(rules.parental_end(delegation.principal.date_of_birth))
    return min(ends) if ends else None


def _live(**where: int) -> list[Delegation]:
    query = select(Delegation).where(Delegation.status.in_((d.PENDING, d.ACTIVE)))
    for column, value in where.items():
        query = query.where(getattr(Delegation, column) == value)
    return list(db.session.scalars(query.order_by(Delegation.id)))


def get(delegation_id: int) -> Delegation:
    found = db.session.get(Delegation, delegation_id)
    if found is None:
        raise NotFound(f"no delegation {delegation_id}")
    return found


def of_person(user: User) -> list[Delegation]:
    """Every delegation in which this person acts or is acted for, newest first (the account pages, the CLI)."""
    query = select(Delegation).where((Delegation.delegate_id == user.id) | (Delegation.principal_id == user.id))
    return list(db.session.scalars(query.order_by(Delegation.id.desc())))


# --- a person without a login of their own ---------------------------------------------------------------

def create_principal(name: str, date_of_birth: date, created_by: str, now: datetime, *,
                     given_name: str | None = None, family_name: str | None = None,
                     locale: str | None = None) -> User:
    """An account for someone others act for (a young child, a client who does not use the portals): identified
    by name and date of birth, without e-mail, password or phone, and it can never sign in (`no_login`)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise InvalidInput("a person without a login needs a name (at most 200 characters)")
    if not date(1900, 1, 1) <= date_of_birth <= now.date():
        raise InvalidInput(f"not a date of birth: {date_of_birth.isoformat()} (a date in the past)")
    if locale is not None and locale not in {"nl", "en"}:
        raise InvalidInput("locale must be nl or en")
    sub = new_sub()
    user = User(sub=sub, email=f"{sub}@{NO_LOGIN_DOMAIN}", email_verified=False, name=name, given_name=given_name,
                family_name=family_name, date_of_birth=date_of_birth, locale=locale, roles=[], no_login=True,
                created_at=now, updated_at=now)
    db.session.add(user)
    db.session.flush()
    record(EventTag.USER_CREATED, user_id=user.id, no_login=True, by=_text(created_by, "created_by"))
    return user


def has_address(user: User) -> bool:
    """Can this person be mailed (a login of their own, not disabled)?"""
    return not user.no_login and user.disabled_at is None and bool(user.email)


# --- grants ------------------------------------------------------------------------------------------------

def grant_parental(admin: str, parent: User, child: User, portals: Iterable[str], scopes: Iterable[str],
                   identity_checked_how: str, now: datetime, *, valid_until: datetime | None = None,
                   reason: str | None = None) -> Delegation:
    """Link a parent or guardian to a child, by an admin after an identity check (the parental rule). Under 12 it
    is active at once; from 12 it waits for the child's consent (`record_child_consent`); from 16 it is refused:
    only the person's written consent (`grant_written_consent`). Ends on the 16th birthday in any case."""
    rules = AgeRules.from_settings()
    admin = _text(admin, "the admin")
    evidence = _text(identity_checked_how, "how the identity was checked")
    _check_people(parent, child)
    born = _born(child)
    if rules.stage(born, now) == ONLY_OWN_CONSENT:
        raise InvalidInput(f"{_who(child)} is {age_on(born, rules.today(now))}: from {rules.adult_from} only their "
                           "own written consent can give someone access (delegations add --basis written_consent)")
    status = d.ACTIVE if rules.stage(born, now) == PARENT_ALONE else d.PENDING
    return _grant(parent, child, portals, scopes, now, basis=d.PARENTAL, how=d.PARENTAL_RULE, admin=admin,
                  evidence=evidence, status=status, valid_until=valid_until, reason=reason)


def grant_written_consent(admin: str, delegate: User, principal: User, portals: Iterable[str],
                          scopes: Iterable[str], consent_how: str, now: datetime, *,
                          valid_until: datetime | None = None, reason: str | None = None) -> Delegation:
    """Record the explicit written consent of a principal of 16 or older that `delegate` may act for them."""
    rules = AgeRules.from_settings()
    admin = _text(admin, "the admin")
    evidence = _text(consent_how, "how the written consent was given")
    _check_people(delegate, principal)
    born = _born(principal)
    if rules.stage(born, now) != ONLY_OWN_CONSENT:
        raise InvalidInput(f"{_who(principal)} is {age_on(born, rules.today(now))}: written consent is for "
                           f"{rules.adult_from} and older; a parent is linked by the parental rule")
    return _grant(delegate, principal, portals, scopes, now, basis=d.WRITTEN_CONSENT, how=d.ADMIN_CONSENT,
                  admin=admin, evidence=evidence, status=d.ACTIVE, valid_until=valid_until, reason=reason)


def record_child_consent(delegation: Delegation, now: datetime, *, by_child: User | None = None,
                         admin: str | None = None, form: str | None = None) -> Delegation:
    """The child's own consent to a parent's access (from 12 until 16): given by the child signed in with their
    own account (`by_child`), or recorded by an admin from a signed form (`admin`, `form`: which form)."""
    rules = AgeRules.from_settings()
    if (by_child is None) == (admin is None):
        raise InvalidInput("consent is given by the child signed in, or recorded by an admin from a signed form")
    if delegation.basis not in d.YOUNGER_RULES:
        raise InvalidInput(f"delegation {delegation.id} is not a parental one: it needs no child's consent")
    if delegation.status not in (d.PENDING, d.ACTIVE):
        raise InvalidInput(f"delegation {delegation.id} is {delegation.status}: grant a new one")
    if delegation.child_consent_at is not None:
        raise InvalidInput(f"delegation {delegation.id} already has the child's consent")
    child = delegation.principal
    born = _born(child)
    if not rules.may_consent(born, now):
        raise InvalidInput(f"{_who(child)} is {age_on(born, rules.today(now))}: a child's consent is given from "
                           f"{rules.consent_from} until {rules.adult_from}")
    if by_child is not None:
        if by_child.id != child.id:
            raise InvalidInput("only the child can give their own consent")
        how, recorded_by = d.SIGNED_IN, None
    else:
        recorded_by = _text(admin, "the admin")
        _text(form, "which signed form")
        how = d.SIGNED_FORM
    delegation.child_consent_at = now
    delegation.child_consent_how = how
    delegation.child_consent_recorded_by = recorded_by
    delegation.status = d.ACTIVE
    delegation.updated_at = now
    audit_both(EventTag.DELEGATION_CONSENTED, delegation, how=how, admin=recorded_by, form=form)
    return delegation


def revoke(delegation: Delegation, by: User | str, reason: str | None, now: datetime) -> Delegation:
    """End a delegation now: by either person (the principal withdraws, the delegate gives it up) or an admin."""
    if delegation.status in (d.REVOKED, d.EXPIRED):
        raise InvalidInput(f"delegation {delegation.id} is already {delegation.status}")
    if isinstance(by, User):
        if by.id not in (delegation.delegate_id, delegation.principal_id):
            raise InvalidInput("only the two people of a delegation or an admin can revoke it")
        delegation.revoked_by_user_id, admin = by.id, None
    else:
        admin = delegation.revoked_by_admin = _text(by, "the admin")
    delegation.status = d.REVOKED
    delegation.revoked_at = delegation.updated_at = now
    delegation.reason = _optional(reason, "reason") or delegation.reason
    audit_both(EventTag.DELEGATION_REVOKED, delegation, admin=admin,
           by_user=by.sub if isinstance(by, User) else None, reason=reason)
    end_use(delegation, d.REVOKED)
    return delegation


def end_use(delegation: Delegation, why: str) -> None:
    """A delegation was revoked or ended (`why`): what it bought stops now, not at its next use. Each portal
    session acting under it is logged out on the back channel and forgotten (a next visit asks "for whom?"
    again), and its access and refresh tokens are revoked; the delegate's own session and their parts as
    themselves stay. Every door (account page, CLI, expiry job) comes here through `revoke` or `expire`."""
    for left in sessions.leave_delegation(delegation.id):
        audit_both(EventTag.DELEGATION_PORTAL_LOGGED_OUT, delegation, client_id=left.client_id, sid=left.sid,
                   backchannel=left.told, why=why)
    revoked = tokens.revoke_under_delegation(delegation.id)
    if revoked:
        audit_both(EventTag.TOKEN_REVOKED, delegation, tokens=revoked, why=why)


def _grant(delegate: User, principal: User, portals: Iterable[str], scopes: Iterable[str], now: datetime, *,
           basis: str, how: str, admin: str, evidence: str, status: str, valid_until: datetime | None,
           reason: str | None) -> Delegation:
    portal_ids = _portals(portals)
    scope_list = _scopes(scopes)
    if valid_until is not None and valid_until <= now:
        raise InvalidInput("valid until must lie in the future")
    for earlier in _live(delegate_id=delegate.id, principal_id=principal.id):
        if earlier.basis == basis and refusal(earlier, now) in (None, CONSENT_NEEDED, PENDING):
            raise InvalidInput(f"{_who(delegate)} already has delegation {earlier.id} for {_who(principal)}: "
                               "revoke it first")
    delegation = Delegation(delegate_id=delegate.id, principal_id=principal.id, delegate=delegate,
                            principal=principal, portals=portal_ids, scopes=scope_list, valid_from=now,
                            valid_until=valid_until, basis=basis, granted_how=how, granted_by_admin=admin,
                            evidence=evidence, status=status, reason=_optional(reason, "reason"),
                            created_at=now, updated_at=now)
    db.session.add(delegation)
    db.session.flush()
    audit_both(EventTag.DELEGATION_GRANTED, delegation, admin=admin, basis=basis, how=how, evidence=evidence,
           portals=portal_ids, scopes=scope_list, pending=status == d.PENDING or None)
    return delegation


def audit_both(tag: EventTag, delegation: Delegation, **details) -> None:
    """One audit row about the principal, naming both people (NEN 7513: on whose behalf)."""
    record(tag, user_id=delegation.principal_id, actor_user_id=delegation.delegate_id, delegation_id=delegation.id,
           delegate=delegation.delegate.sub, delegate_id=delegation.delegate_id,
           principal=delegation.principal.sub, principal_id=delegation.principal_id, **details)


def _check_people(delegate: User, principal: User) -> None:
    if delegate.id == principal.id:
        raise InvalidInput("a person does not need a delegation to act for themselves")
    if delegate.no_login:
        raise InvalidInput(f"{_who(delegate)} has no login of their own and cannot act for anyone")
    for person in (delegate, principal):
        if person.disabled_at is not None:
            raise InvalidInput(f"{_who(person)} is disabled")


def _born(principal: User) -> date:
    if principal.date_of_birth is None:
        raise InvalidInput(f"{_who(principal)} has no date of birth: the age rules need one")
    return principal.date_of_birth


def _portals(portals: Iterable[str]) -> list[str]:
    found = []
    for client_id in dict.fromkeys(p.strip() for p in portals if p.strip()):
        client = registry.find(client_id)
        if client is None:
            raise InvalidInput(f"no portal {client_id!r}")
        if not profile.of(client).delegation:
            raise InvalidInput(f"portal {client_id} does not offer delegation (its profile: delegation=false)")
        found.append(client_id)
    return found


def _scopes(scopes: Iterable[str]) -> list[str]:
    found = sorted({s.strip() for s in scopes if s.strip()} - {"openid"})
    bad = [s for s in found if not _SCOPE.fullmatch(s)]
    if bad:
        raise InvalidInput(f"not a scope: {bad[0]!r}")
    return found


def _text(value: str | None, what: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > 200:
        raise InvalidInput(f"{what}: at most 200 characters")
    return text


def _optional(value: str | None, what: str) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > 500:
        raise InvalidInput(f"{what}: at most 500 characters")
    return text or None


def _who(user: User) -> str:
    return user.name or (user.email if not user.no_login else user.sub)
