"""Who may manage whom (issue 16 part 1): one pure rule, `may(admin, action, person)`, and the query filter
`visible_people(admin)` that goes with it; granting and revoking the admin roles themselves.

Three roles, one per person at most (idp.models.AdminRole):
- deployment: everything, on everyone;
- helpdesk: find anyone, unlock, resend an activation link, reset second factors (and read a person's audit
  trail) — no portal changes, no role changes, no other edits;
- organisation: their own organisation's members only: find, create, edit, set portal roles, disable, unlock,
  resend activation, reset second factors, sign out, take out of the organisation.
Only a deployment admin changes an account that holds an admin role (others may find it); a provisioning
client (SCIM, `client_id` set) only finds it, and disables it, even with a deployment role. The CLI runs as a
deployment admin (`operator`): whoever runs it holds the database already; `--as` names them in the audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, select, true

from idp.audit import EventTag, record
from idp.errors import InvalidInput, NotAllowed
from idp.extensions import db
from idp.models import AdminRole, Organisation, User
from idp.models.organisation import ADMIN_ROLES
from idp.runtime import settings

__all__ = ["NotAllowed"]  # raised here, defined with the other domain errors (idp/errors.py)

DEPLOYMENT, HELPDESK, ORGANISATION = ADMIN_ROLES


class Action(StrEnum):
    FIND = "find"  # search people, see a person's page
    VIEW_AUDIT = "view_audit"  # a person's audit trail (person None: the whole audit)
    UNLOCK = "unlock"
    RESEND_ACTIVATION = "resend_activation"
    RESET_FACTORS = "reset_factors"
    CREATE_PERSON = "create_person"  # person: the new, unsaved account (its organisation_id set), or None
    EDIT_PERSON = "edit_person"  # name, e-mail
    SET_ROLES = "set_roles"  # a person's portal roles (professional, admin, ...), not admin roles
    DISABLE = "disable"  # disable and enable
    SIGN_OUT = "sign_out"  # sign out everywhere, revoke tokens
    ERASE = "erase"
    ADD_MEMBER = "add_member"
    REMOVE_MEMBER = "remove_member"
    MANAGE_ORGANISATIONS = "manage_organisations"
    MANAGE_PORTALS = "manage_portals"
    MANAGE_ADMINS = "manage_admins"
    MANAGE_MESSAGES = "manage_messages"


# What each role other than deployment may do at all; on whom is decided in `may`.
ALLOWED: dict[str, frozenset[Action]] = {
    HELPDESK: frozenset({Action.FIND, Action.VIEW_AUDIT, Action.UNLOCK, Action.RESEND_ACTIVATION,
                         Action.RESET_FACTORS}),
    ORGANISATION: frozenset({Action.FIND, Action.VIEW_AUDIT, Action.UNLOCK, Action.RESEND_ACTIVATION,
                             Action.RESET_FACTORS, Action.CREATE_PERSON, Action.EDIT_PERSON, Action.SET_ROLES,
                             Action.DISABLE, Action.SIGN_OUT, Action.REMOVE_MEMBER}),
}
# Asked without a person: may this admin search at all, or create someone (in their own organisation)?
WITHOUT_PERSON: dict[str, frozenset[Action]] = {
    HELPDESK: frozenset({Action.FIND}),
    ORGANISATION: frozenset({Action.FIND, Action.CREATE_PERSON}),
}


# What a provisioning client (SCIM) may do to an account that holds an admin role, whatever its own role: find
# it and disable it (a leaver). Changing its e-mail address or username would hand its sign-in (and a reset link)
# to whoever controls the provisioning system. (Enabling it again is refused by idp.scim.resources: it would undo
# a decision the console may have made.)
PROVISIONING_ON_ADMINS = frozenset({Action.FIND, Action.VIEW_AUDIT, Action.DISABLE})


@dataclass(frozen=True)
class Admin:
    """Someone acting as an admin: their role, how audit rows name them, their organisation (organisation
    admins) and their account (a person signed in at the console; None for an operator at the CLI)."""

    role: str
    name: str  # who: the operator's --as or OS user name, or the person's e-mail address
    organisation_id: int | None = None
    user_id: int | None = None
    sub: str | None = None
    client_id: str | None = None  # a provisioning client at /scim/v2 (idp/scim), acting with this role

    @property
    def actor(self) -> str:
        """The audit row's actor: "user:<sub>" for a person (as delegates are named), "scim:<client_id>" for a
        provisioning client, "cli:<name>" for an operator."""
        if self.sub:
            return f"user:{self.sub}"
        return f"scim:{self.client_id}" if self.client_id else f"cli:{self.name}"


def operator(name: str) -> Admin:
    """The CLI's admin: a deployment admin named by `--as` or the OS user."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("name the acting admin")
    return Admin(role=DEPLOYMENT, name=name[:150])


def provisioning_client(client_id: str, organisation_id: int | None) -> Admin:
    """A SCIM client's admin: an organisation admin of its organisation when it is limited to one, else a
    deployment admin (the client record says which: Client.organisation_id)."""
    if organisation_id is not None:
        return Admin(role=ORGANISATION, name=f"scim:{client_id}", organisation_id=organisation_id,
                     client_id=client_id)
    return Admin(role=DEPLOYMENT, name=f"scim:{client_id}", client_id=client_id)


def role_of(person: User) -> AdminRole | None:
    return db.session.scalar(select(AdminRole).where(AdminRole.user_id == person.id))


def admin_of(person: User) -> Admin | None:
    """The admin a signed-in person is (the console's), or None when they hold no admin role or are disabled."""
    held = role_of(person)
    if held is None or person.disabled_at is not None or person.no_login:
        return None
    return Admin(role=held.role, name=person.email, organisation_id=held.organisation_id, user_id=person.id,
                 sub=person.sub)


def may(admin: Admin | None, action: Action, person: User | None, person_is_admin: bool = False) -> bool:
    """May `admin` do `action` to `person` (None: in general)? Pure: reads only its arguments.
    `person_is_admin`: the person holds an admin role (only a deployment admin changes such an account)."""
    if admin is None:
        return False
    if admin.client_id is not None and person_is_admin and action not in PROVISIONING_ON_ADMINS:
        return False  # a provisioning system never changes an admin's account: their login is the console's
    if admin.role == DEPLOYMENT:
        return True
    if admin.role not in ALLOWED or action not in ALLOWED[admin.role]:
        return False
    if person is None:
        return action in WITHOUT_PERSON[admin.role]
    if person_is_admin and action is not Action.FIND and action is not Action.VIEW_AUDIT:
        return False
    if admin.role == ORGANISATION:
        return admin.organisation_id is not None and person.organisation_id == admin.organisation_id
    return True


def require(admin: Admin, action: Action, person: User | None) -> None:
    """`may`, or NotAllowed; the person's own admin role is looked up."""
    is_admin = person is not None and person.id is not None and role_of(person) is not None
    if not may(admin, action, person, is_admin):
        who = f" for {person.email}" if person is not None else ""
        raise NotAllowed(f"{admin.name} ({admin.role} admin) may not {action.value.replace('_', ' ')}{who}")


def require_roles(admin: Admin, person: User, roles: list[str], protected: frozenset[str] | None = None) -> None:
    """May `admin` give `person` exactly these portal roles? SET_ROLES, and: only a deployment admin takes away a
    role that makes its holders sign in with a second factor (`mfa.required_roles`): taking it lowers how the
    person must sign in, which an organisation admin (or a SCIM client limited to one) may not decide."""
    require(admin, Action.SET_ROLES, person)
    if protected is None:
        protected = frozenset(settings().mfa.required_roles)
    taken = sorted((set(person.roles or []) - set(roles)) & protected)
    if taken and admin.role != DEPLOYMENT:
        raise NotAllowed(f"{admin.name} ({admin.role} admin) may not take the role {taken[0]} from {person.email}: "
                         "it asks a second factor at sign-in")


def visible_people(admin: Admin | None) -> ColumnElement[bool]:
    """The filter for `select(User)` of the people an admin may find: everyone for deployment and helpdesk,
    their own organisation's members for an organisation admin, nobody otherwise."""
    if admin is not None and admin.role in (DEPLOYMENT, HELPDESK):
        return true()
    if admin is not None and admin.role == ORGANISATION and admin.organisation_id is not None:
        return User.organisation_id == admin.organisation_id
    return User.id.is_(None)  # matches no row


def _not_own(admin: Admin, person: User) -> None:
    """An admin does not change their own admin role (no raising it, and no locking the last one out by
    mistake): another admin does."""
    if admin.user_id is not None and admin.user_id == person.id:
        raise NotAllowed(f"{admin.name} may not change their own admin role")


def grant(admin: Admin, person: User, role: str, now: datetime,
          organisation: Organisation | None = None) -> AdminRole:
    """Give a person an admin role (replacing the one they hold: one each). An organisation admin's
    organisation is the one they are a member of (given, it must be that one)."""
    require(admin, Action.MANAGE_ADMINS, person)
    _not_own(admin, person)
    if role not in ADMIN_ROLES:
        raise InvalidInput(f"not an admin role: {role!r} (one of {', '.join(ADMIN_ROLES)})")
    if person.no_login or person.disabled_at is not None:
        raise InvalidInput(f"{person.email} cannot sign in: no admin role")
    organisation_id = None
    if role == ORGANISATION:
        if organisation is None:
            organisation = person.org
        if organisation is None:
            raise InvalidInput(f"{person.email} is not a member of an organisation: an organisation admin manages "
                               "their own")
        if person.organisation_id != organisation.id:
            raise InvalidInput(f"{person.email} is not a member of {organisation.code}")
        organisation_id = organisation.id
    elif organisation is not None:
        raise InvalidInput(f"only an organisation admin has an organisation, not a {role} admin")
    held = role_of(person)
    previous = (held.role, held.organisation.code if held.organisation else None) if held else None
    if held is not None and (held.role, held.organisation_id) == (role, organisation_id):
        return held
    if held is None:
        held = AdminRole(user_id=person.id)
        db.session.add(held)
    held.role, held.organisation_id, held.organisation = role, organisation_id, organisation
    held.granted_by, held.granted_at = admin.actor, now
    db.session.flush()
    record(EventTag.ADMIN_ROLE_GRANTED, user_id=person.id, actor=admin.actor, actor_user_id=admin.user_id,
           admin=admin.name, role=role, organisation=organisation.code if organisation else None,
           previous=previous[0] if previous else None)
    return held


def revoke(admin: Admin, person: User) -> bool:
    """Take a person's admin role away; False when they held none."""
    require(admin, Action.MANAGE_ADMINS, person)
    _not_own(admin, person)
    held = role_of(person)
    if held is None:
        return False
    record(EventTag.ADMIN_ROLE_REVOKED, user_id=person.id, actor=admin.actor, actor_user_id=admin.user_id,
           admin=admin.name, role=held.role, organisation=held.organisation.code if held.organisation else None)
    db.session.delete(held)
    db.session.flush()
    return True


def all_roles(organisation: Organisation | None = None) -> list[tuple[User, AdminRole]]:
    """Who holds which admin role (of one organisation's admins), in the order they were granted."""
    query = select(User, AdminRole).join(AdminRole, AdminRole.user_id == User.id).order_by(AdminRole.id)
    if organisation is not None:
        query = query.where(AdminRole.organisation_id == organisation.id)
    return [(user, held) for user, held in db.session.execute(query).all()]


def describe(person: User, held: AdminRole) -> dict:
    return {"sub": person.sub, "email": person.email, "name": person.name, "role": held.role,
            "organisation": held.organisation.code if held.organisation else None, "granted_by": held.granted_by,
            "granted_at": held.granted_at.isoformat()}
