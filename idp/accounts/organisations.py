"""Organisations (issue 16 part 1): a care provider, a business customer of the insurer or a supplier, with its
members and the e-mail domains their addresses must have. The CLI and (later) the admin console call these;
each change is audited with the acting admin (idp.accounts.admins.Admin) as actor and is not committed here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select

from idp.accounts.admins import Action, Admin, require
from idp.accounts.text import CONTROL, refuse_control
from idp.audit import EventTag, record
from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.models import AdminRole, Client, Organisation, User
from idp.models.organisation import KINDS

CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def code_for(name: str, taken: Iterable[str] = ()) -> str:
    """A short code from a name ("Zorggroep Avondrood" -> "zorggroep-avondrood"), not one of `taken`."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = (re.sub(r"[^a-z0-9]+", "-", folded).strip("-") or "org")[:34].strip("-") or "org"
    taken = set(taken)
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    return code


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    refuse_control("organisation name", name)
    if not name:
        raise InvalidInput("an organisation needs a name")
    if len(name) > 200:
        raise InvalidInput("organisation name too long: at most 200 characters")
    return name


def _code(code: str) -> str:
    code = (code or "").strip().lower()
    if not CODE.fullmatch(code) or code.isdigit():
        raise InvalidInput(f"not an organisation code: {code!r} (2-40 lowercase letters, digits and '-', "
                           "not only digits)")
    return code


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"not a kind of organisation: {kind!r} (one of {', '.join(KINDS)})")
    return kind


def _domains(domains: Iterable[str]) -> list[str]:
    cleaned = [d.strip().lower().removeprefix("@") for d in domains if d.strip()]
    bad = [d for d in cleaned if not _DOMAIN.fullmatch(d)]
    if bad:
        raise InvalidInput(f"not an e-mail domain: {bad[0]!r}")
    return sorted(set(cleaned))


def problems(*, name: str, code: str | None, kind: str, email_domains: Iterable[str],
             current: Organisation | None = None) -> dict[str, str]:
    """Every field of an organisation's form that `create` or `update` would refuse, with the reason: name
    "required" or "too_long", code "invalid" or "taken", kind "invalid", email_domains "invalid" (empty: none;
    the members' addresses are checked by `update` itself)."""
    found: dict[str, str] = {}
    try:
        _name(name)
    except InvalidInput:
        found["name"] = "required" if not " ".join((name or "").split()) else "too_long"
    if code:
        try:
            checked = _code(code)
        except InvalidInput:
            found["code"] = "invalid"
        else:
            other = db.session.scalar(select(Organisation).where(Organisation.code == checked))
            if other is not None and (current is None or other.id != current.id):
                found["code"] = "taken"
    if kind not in KINDS:
        found["kind"] = "invalid"
    try:
        _domains(email_domains)
    except InvalidInput:
        found["email_domains"] = "invalid"
    return found


def address_allowed(organisation: Organisation, email: str) -> bool:
    """May a person with this address be a member (no domains: any address)?"""
    return not organisation.email_domains or email.rpartition("@")[2].lower() in organisation.email_domains


def check_address(organisation: Organisation, email: str) -> None:
    """Raise InvalidInput when the address is not at one of the organisation's domains."""
    if not address_allowed(organisation, email):
        domains = ", ".join("@" + d for d in organisation.email_domains)
        raise InvalidInput(f"{email} is not an address of {organisation.name} ({domains})")


def find(ref: str) -> Organisation | None:
    """An organisation by code, id or exact name (case-insensitive), or None."""
    ref = " ".join((ref or "").split())
    if not ref or CONTROL.search(ref):  # no organisation is named so (and PostgreSQL refuses a NUL outright)
        return None
    if ref.isdigit():  # an id: only ASCII digits, and only one a row can have (not '²', not 30 digits)
        return db.session.get(Organisation, int(ref)) if ref.isascii() and len(ref) <= 18 else None
    return db.session.scalar(select(Organisation).where(
        or_(Organisation.code == ref.lower(), func.lower(Organisation.name) == ref.lower())).order_by(Organisation.id))


def get(ref: str) -> Organisation:
    """An organisation by code, id or name; NotFound otherwise."""
    organisation = find(ref)
    if organisation is None:
        raise NotFound(f"no organisation {ref!r}")
    return organisation


def all_organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.code)))


def members(organisation: Organisation) -> list[User]:
    return list(db.session.scalars(select(User).where(User.organisation_id == organisation.id).order_by(User.id)))


def describe(organisation: Organisation) -> dict:
    """What the CLI prints (and the console shows) of an organisation."""
    count = db.session.scalar(select(func.count()).select_from(User).where(User.organisation_id == organisation.id))
    return {"id": organisation.id, "code": organisation.code, "name": organisation.name, "kind": organisation.kind,
            "email_domains": list(organisation.email_domains or []), "members": count,
            "created_at": organisation.created_at.isoformat(), "updated_at": organisation.updated_at.isoformat()}


def create(admin: Admin, name: str, kind: str, now: datetime, *, code: str | None = None,
           email_domains: Iterable[str] = ()) -> Organisation:
    """A new organisation (deployment admins only). Without a code, one is made from the name."""
    require(admin, Action.MANAGE_ORGANISATIONS, None)
    name = _name(name)
    taken = set(db.session.scalars(select(Organisation.code)))
    code = _code(code) if code else code_for(name, taken)
    if code in taken:
        raise InvalidInput(f"organisation code {code} is taken")
    organisation = Organisation(code=code, name=name, kind=_kind(kind), email_domains=_domains(email_domains),
                                created_at=now, updated_at=now)
    db.session.add(organisation)
    db.session.flush()
    record(EventTag.ORGANISATION_CREATED, actor=admin.actor, actor_user_id=admin.user_id, admin=admin.name,
           organisation=organisation.code, name=organisation.name, kind=organisation.kind,
           email_domains=organisation.email_domains or None)
    return organisation


def update(admin: Admin, organisation: Organisation, now: datetime, *, name: str | None = None,
           code: str | None = None, kind: str | None = None, email_domains: Iterable[str] | None = None) -> list[str]:
    """Change what is given; returns the names of the fields that changed (audited when any did). New domains
    are refused while a member's address is outside them."""
    require(admin, Action.MANAGE_ORGANISATIONS, None)
    want: dict[str, object] = {}
    if name is not None:
        want["name"] = _name(name)
    if code is not None:
        want["code"] = _code(code)
        if want["code"] != organisation.code and find(str(want["code"])) is not None:
            raise InvalidInput(f"organisation code {want['code']} is taken")
    if kind is not None:
        want["kind"] = _kind(kind)
    if email_domains is not None:
        want["email_domains"] = _domains(email_domains)
    changed = [k for k, v in want.items() if getattr(organisation, k) != v]
    if "email_domains" in changed:
        probe = Organisation(email_domains=want["email_domains"], name=want.get("name", organisation.name))
        outside = [m.email for m in members(organisation) if not address_allowed(probe, m.email)]
        if outside:
            raise InvalidInput(f"{len(outside)} member(s) have an address outside these domains, first "
                               f"{outside[0]}: move them first")
    if changed:
        before = {k: getattr(organisation, k) for k in changed}
        for k in changed:
            setattr(organisation, k, want[k])
        organisation.updated_at = now
        record(EventTag.ORGANISATION_UPDATED, actor=admin.actor, actor_user_id=admin.user_id, admin=admin.name,
               organisation=organisation.code, changed={k: [before[k], want[k]] for k in changed})
    return changed


def remove(admin: Admin, organisation: Organisation) -> None:
    """Remove an organisation without members, admins or SCIM clients limited to it (deployment admins only)."""
    require(admin, Action.MANAGE_ORGANISATIONS, None)
    if members(organisation):
        raise InvalidInput(f"organisation {organisation.code} still has members: move them first")
    if db.session.scalar(select(AdminRole.id).where(AdminRole.organisation_id == organisation.id)) is not None:
        raise InvalidInput(f"organisation {organisation.code} still has admins: revoke their role first")
    if db.session.scalar(select(Client.id).where(Client.organisation_id == organisation.id)) is not None:
        raise InvalidInput(f"organisation {organisation.code} still has a SCIM client limited to it: remove that "
                           "client first")
    record(EventTag.ORGANISATION_REMOVED, actor=admin.actor, actor_user_id=admin.user_id, admin=admin.name,
           organisation=organisation.code, name=organisation.name)
    db.session.delete(organisation)
    db.session.flush()


def set_membership(admin: Admin, person: User, organisation: Organisation | None, now: datetime) -> bool:
    """Make a person a member of `organisation` (None: of none); a person belongs to at most one. Returns
    whether anything changed. Their address must be at its domains; an organisation admin stays in the
    organisation they manage (revoke the role first)."""
    if person.organisation_id is not None:
        require(admin, Action.REMOVE_MEMBER, person)
    if organisation is not None:
        require(admin, Action.ADD_MEMBER, person)
    target = organisation.id if organisation is not None else None
    if person.organisation_id == target:
        return False
    if organisation is not None:
        check_address(organisation, person.email)
    role = db.session.scalar(select(AdminRole).where(AdminRole.user_id == person.id))
    if role is not None and role.organisation_id is not None:
        raise InvalidInput(f"{person.email} is an admin of {role.organisation.code if role.organisation else '?'}: "
                           "revoke that role first")
    before = person.org
    if before is not None:
        record(EventTag.ORGANISATION_MEMBER_REMOVED, user_id=person.id, actor=admin.actor,
               actor_user_id=admin.user_id, admin=admin.name, organisation=before.code)
    person.organisation_id = target
    person.org = organisation
    person.updated_at = now
    if organisation is not None:
        record(EventTag.ORGANISATION_MEMBER_ADDED, user_id=person.id, actor=admin.actor,
               actor_user_id=admin.user_id, admin=admin.name, organisation=organisation.code)
    return True


def for_text(text: str | None, now: datetime) -> Organisation | None:
    """What an old free-text organisation (`create_user(organisation=...)`, `idp users add --organisation`)
    names: the organisation with that code or name, else a new one by that name (kind "other", audited)."""
    name = " ".join((text or "").split())
    if not name:
        return None
    if len(name) > 200:
        raise InvalidInput("organisation too long: at most 200 characters")
    refuse_control("organisation", name)
    found = find(name)
    if found is not None:
        return found
    organisation = Organisation(code=code_for(name, db.session.scalars(select(Organisation.code))), name=name,
                                kind="other", email_domains=[], created_at=now, updated_at=now)
    db.session.add(organisation)
    db.session.flush()
    record(EventTag.ORGANISATION_CREATED, organisation=organisation.code, name=name, kind="other",
           made_from="free text")
    return organisation
