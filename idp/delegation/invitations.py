"""Contact persons (issue 15 part 3, seed 002): a client invites a family member or contact person by e-mail.

The client (the principal, an adult by the age rules) invites from the account pages; an EVV'er can do it for
them with `idp delegations invite`. The invitation is a pending delegation (basis `invitation`). A person
without an account gets one to activate (their own password, their own phone as the portal's profile asks),
and activating it accepts the invitation; a person with an account is told by e-mail and accepts on the
account pages after signing in. An invitation not accepted within delegation.invitation_days can never be
accepted. Toward the inviting client both cases look the same: nothing says whether the address had an account.
Nothing is committed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from idp.accounts import activation, links, users
from idp.audit import EventTag, record
from idp.delegation.ages import ONLY_OWN_CONSENT, AgeRules
from idp.delegation.grants import (
    NO_LOGIN_DOMAIN,
    _grant,
    _optional,
    _text,
    _who,
    allows_delegation,
    audit_both,
    has_address,
    revoke,
)
from idp.errors import InvalidInput
from idp.extensions import db
from idp.messaging import send
from idp.models import Delegation, User
from idp.models import delegation as d
from idp.portals import profile, registry
from idp.runtime import settings

FAMILY, CONTACT_PERSON = "family", "contact person"
RELATIONS = (FAMILY, CONTACT_PERSON)


def expires_at(delegation: Delegation) -> datetime:
    """Until when an invitation can be accepted."""
    return delegation.created_at + timedelta(days=settings().delegation.invitation_days)


def is_invitation(delegation: Delegation) -> bool:
    return delegation.basis == d.INVITATION and delegation.status == d.PENDING


def acceptable(delegation: Delegation, now: datetime) -> bool:
    return is_invitation(delegation) and now < expires_at(delegation)


def invited_name(delegation: Delegation) -> str:
    """The name the client typed for the person they invited (shown to the client; never the account's name
    before the person accepted, which would tell whether the address had an account)."""
    return delegation.evidence or ""


def shown_name(delegation: Delegation) -> str:
    """The delegate's name as the principal sees it: for an invitation the name they typed themselves."""
    if delegation.basis == d.INVITATION:
        return invited_name(delegation) or delegation.delegate.email
    return delegation.delegate.name or delegation.delegate.email


def relation_of(delegation: Delegation) -> str | None:
    """The relation the client recorded when inviting (FAMILY or CONTACT_PERSON); None for other bases."""
    if delegation.basis == d.INVITATION and delegation.reason in RELATIONS:
        return delegation.reason
    return None


def open_for(principal: User, client_id: str, now: datetime) -> list[Delegation]:
    """The client's invitations still to be accepted that, once accepted, could be used at this portal (a portal
    the invitation names, or none named; the portal offers delegation), by the name the client typed."""
    if not allows_delegation(client_id):
        return []
    found = db.session.scalars(select(Delegation).where(
        Delegation.principal_id == principal.id, Delegation.basis == d.INVITATION,
        Delegation.status == d.PENDING).order_by(Delegation.id)).all()
    usable_here = [x for x in found if acceptable(x, now) and (not x.portals or client_id in x.portals)
                   and x.delegate.disabled_at is None]
    return sorted(usable_here, key=lambda x: (invited_name(x).casefold(), x.id))


def may_invite(principal: User, now: datetime) -> bool:
    """An adult by the age rules (delegation.adult_from) with a login of their own; a child cannot invite."""
    rules = AgeRules.from_settings()
    return (not principal.no_login and principal.disabled_at is None and principal.date_of_birth is not None
            and rules.stage(principal.date_of_birth, now) == ONLY_OWN_CONSENT)


def invite(principal: User, email: str, name: str, portals: Iterable[str], scopes: Iterable[str], relation: str,
           now: datetime, *, admin: str | None = None) -> Delegation | None:
    """The principal (or an admin for them: `admin`) invites someone to act for them. Returns the pending
    delegation, or None when the address belongs to an account that cannot be invited (disabled, or the
    principal's own); the caller shows the same either way. Raises InvalidInput for a child, a bad address,
    name, relation or portal."""
    if not may_invite(principal, now):
        raise InvalidInput(f"{_who(principal)} cannot invite anyone: only an adult "
                           f"({AgeRules.from_settings().adult_from} or older, by the date of birth on record) "
                           "with an account of their own decides who may act for them")
    address = users.normalise_email(email)
    if address.rpartition("@")[2].lower() == NO_LOGIN_DOMAIN:
        raise InvalidInput(f"not a valid e-mail address: {email!r}")
    name = _text(name, "the name of the person invited")
    if relation not in RELATIONS:
        raise InvalidInput(f"relation must be one of: {', '.join(RELATIONS)}")
    portal_ids = list(dict.fromkeys(p.strip() for p in portals if p.strip()))
    portal = registry.find(portal_ids[0]) if portal_ids else None
    existing = users.find_by_login(address, by="email")
    if existing is not None and (existing.id == principal.id or existing.disabled_at is not None
                                 or existing.no_login):
        record(EventTag.DELEGATION_INVITED, outcome="failure", user_id=principal.id, admin=admin,
               reason="address not invitable")
        return None
    new = existing is None
    delegate = existing or users.create_user(address, None, name=name, email_verified=False,
                                             locale=principal.locale)
    if new:
        delegate.activation_pending = True
    for earlier in db.session.scalars(select(Delegation).where(
            Delegation.delegate_id == delegate.id, Delegation.principal_id == principal.id,
            Delegation.basis == d.INVITATION, Delegation.status == d.PENDING)):
        earlier.status, earlier.updated_at = d.EXPIRED, now  # a new invitation replaces one not yet accepted
        audit_both(EventTag.DELEGATION_EXPIRED, earlier, replaced=True)
    admin = _optional(admin, "the admin")
    delegation = _grant(delegate, principal, portal_ids, scopes, now, basis=d.INVITATION,
                        how=d.ADMIN_CONSENT if admin else d.ACCOUNT_PAGE, admin=admin, evidence=name,
                        status=d.PENDING, valid_until=None, reason=relation)
    if admin is None:  # the client in their account pages is the person who granted it
        delegation.granted_by_user_id = principal.id
    audit_both(EventTag.DELEGATION_INVITED, delegation, new_account=new, relation=relation, admin=admin,
               expires_at=expires_at(delegation).isoformat())
    inviter = _who(principal)
    if new:
        activation.send_link(delegate, client=portal, invited_by=inviter)
    else:
        send("email", delegate.email, "delegation_invited", user=delegate, name=inviter,
             portal=portal.display_name if portal else None, accept_url=settings().issuer + "/account/delegations",
             days=settings().delegation.invitation_days, sender=profile.sender(portal))
    return delegation


def accept(delegation: Delegation, delegate: User, now: datetime) -> Delegation:
    """The invited person accepts (signed in as themselves, or by activating the account made for them)."""
    if delegation.delegate_id != delegate.id:
        raise InvalidInput("only the person invited can accept an invitation")
    if not is_invitation(delegation):
        raise InvalidInput(f"delegation {delegation.id} is no open invitation (it is {delegation.status})")
    if not acceptable(delegation, now):
        raise InvalidInput(f"invitation {delegation.id} has expired: ask {_who(delegation.principal)} to invite "
                           "you again")
    if delegation.principal.disabled_at is not None:
        raise InvalidInput(f"{_who(delegation.principal)} is disabled")
    delegation.status = d.ACTIVE
    delegation.valid_from = delegation.updated_at = now
    audit_both(EventTag.DELEGATION_ACCEPTED, delegation)
    return delegation


def accept_on_activation(delegate: User, now: datetime) -> list[Delegation]:
    """Activating the account an invitation made accepts the open invitations to that address: the link in
    the mail proved the address. Expired ones stay pending (the expire job ends them)."""
    open_ones = db.session.scalars(select(Delegation).where(
        Delegation.delegate_id == delegate.id, Delegation.basis == d.INVITATION,
        Delegation.status == d.PENDING).order_by(Delegation.id)).all()
    return [accept(delegation, delegate, now) for delegation in open_ones
            if acceptable(delegation, now) and delegation.principal.disabled_at is None]


def own_as_principal(principal: User, delegation_id: int) -> Delegation | None:
    """One of this person's delegations as the principal that is still pending or active (None: not theirs)."""
    delegation = db.session.get(Delegation, delegation_id)
    if delegation is None or delegation.principal_id != principal.id \
            or delegation.status not in (d.PENDING, d.ACTIVE):
        return None
    return delegation


def own_as_delegate(delegate: User, delegation_id: int) -> Delegation | None:
    """One of this person's delegations as the delegate that is still pending or active (None: not theirs)."""
    delegation = db.session.get(Delegation, delegation_id)
    if delegation is None or delegation.delegate_id != delegate.id \
            or delegation.status not in (d.PENDING, d.ACTIVE):
        return None
    return delegation


def revoke_by_principal(principal: User, delegation_id: int, now: datetime) -> Delegation | None:
    """The principal withdraws one of their own delegations (None: not theirs, or already ended: nothing
    changes). The delegate is told by e-mail."""
    delegation = own_as_principal(principal, delegation_id)
    if delegation is None:
        return None
    was_invitation = is_invitation(delegation)
    revoke(delegation, principal, None, now)
    if was_invitation:
        _close_unused_account(delegation.delegate)
    if has_address(delegation.delegate) and not delegation.delegate.activation_pending:
        send("email", delegation.delegate.email, "delegation_revoked", user=delegation.delegate,
             role="delegate", other=_who(principal))
    return delegation


def _close_unused_account(delegate: User) -> None:
    """An invitation withdrawn before the invited person activated the account it made for them: the
    activation link in their mail stops working, unless another open invitation still needs it (a second
    client invited the same address). The account stays as it was, pending and without a password."""
    if not delegate.activation_pending or delegate.password_hash is not None:
        return
    still_open = db.session.scalar(select(Delegation.id).where(
        Delegation.delegate_id == delegate.id, Delegation.status.in_((d.PENDING, d.ACTIVE))).limit(1))
    if still_open is None and links.invalidate(links.ACTIVATE, delegate):
        record(EventTag.ACTIVATION_WITHDRAWN, user_id=delegate.id, reason="invitation withdrawn")


def stop_acting(delegate: User, delegation_id: int, now: datetime) -> Delegation | None:
    """The delegate gives up acting for someone (None: not theirs, or already ended). The principal is told."""
    delegation = own_as_delegate(delegate, delegation_id)
    if delegation is None:
        return None
    revoke(delegation, delegate, None, now)
    if has_address(delegation.principal):
        send("email", delegation.principal.email, "delegation_revoked", user=delegation.principal,
             role="principal", other=_who(delegate))
    return delegation


def as_principal(user: User) -> list[Delegation]:
    return list(db.session.scalars(select(Delegation).where(Delegation.principal_id == user.id)
                                   .order_by(Delegation.id.desc())))


def as_delegate(user: User) -> list[Delegation]:
    return list(db.session.scalars(select(Delegation).where(Delegation.delegate_id == user.id)
                                   .order_by(Delegation.id.desc())))
