"""SCIM resources and the provider's people and portal roles, both ways: a scim2-server storage (ScimStorage)
whose every change goes through the services the CLI and the admin console use.

- User: a person. id is their `sub`; userName their username, or their e-mail address when they have none;
  emails their one address; name.formatted/givenName/familyName their name; active false while disabled;
  externalId the provisioning system's own id; groups (read-only) their portal roles; the enterprise
  extension's organization the name of their organisation (idp.models.Organisation; a code or a name is
  understood). emails is required (the one address; its type and primary are ignored); a new address of
  someone who has signed in is theirs once they confirm it from the link sent there (the old one is told), as
  in the console; an account never activated takes it at once, with a new activation link. Creating one sends an
  activation link, as `idp users add --activate` does; active=false disables (idp.delegation.disabling),
  DELETE erases (idp.delegation.erasure).
- Group: a portal role (the `roles` claim). id and displayName are the role; members the people holding it.
  A role exists while someone holds it, so a Group is created with its first members.

The caller is an admin (idp.accounts.admins.provisioning_client): a client limited to an organisation is that
organisation's admin, so it sees and changes only that organisation's members (anyone else: 404) and may do
only what an organisation admin may (erasing is not: 403). No provisioning client changes an account holding
an admin role (idp.accounts.admins.PROVISIONING_ON_ADMINS: it may find and disable it). scim2-server does the
protocol (filters, PATCH, ETags, paging, errors); a page holds at most MAX_RESULTS, a filter MAX_FILTER
characters. This module knows nothing of Flask and leaves the commit to the caller.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union
from typing import cast as typed

from scim2_models import (
    ForbiddenException,
    InvalidFilterException,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
    ScimProvider,
    SearchRequest,
    UniquenessException,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.storage import ScimStorage, SearchPage
from scim2_server.utils import parametrize
from sqlalchemy import ColumnElement, Text, cast, func, or_, select

from idp import clock
from idp.accounts import activation, admins, links, organisations, own_profile, people
from idp.accounts.admins import Action, Admin
from idp.accounts.text import CONTROL
from idp.accounts.users import create_user, find_by_login, normalise_email
from idp.delegation import disabling, erasure
from idp.errors import InvalidInput, NotAllowed, NotFound, Taken
from idp.extensions import db
from idp.models import AccountLink, Organisation, User
from idp.scim.provider import ENTERPRISE, GROUP, MAX_RESULTS, USER

MAX_FILTER = 1000  # characters

Body = dict[str, Any]


@dataclass(frozen=True)
class Caller:
    """The client behind a SCIM request: its client_id and the organisation it is limited to (None: all)."""

    client_id: str
    organisation_id: int | None = None

    @property
    def admin(self) -> Admin:
        return admins.provisioning_client(self.client_id, self.organisation_id)

    @property
    def actor(self) -> str:
        return self.admin.actor


@contextmanager
def domain_errors() -> Iterator[None]:
    """The services' errors as SCIM errors (RFC 7644 §3.12): 409 uniqueness, 403, 404, 400 invalidValue."""
    try:
        yield
    except Taken as error:
        raise UniquenessException(detail=str(error)) from None
    except InvalidInput as error:
        raise InvalidValueException(detail=str(error)) from None
    except NotAllowed as error:
        raise ForbiddenException(detail=str(error)) from None
    except NotFound as error:
        raise NotFoundException(detail=str(error)) from None


def version_of(body: Body) -> str:
    """A weak ETag over the whole representation (meta aside): it changes whenever anything shown changes."""
    shown = {k: v for k, v in body.items() if k != "meta"}
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def _with_meta(body: Body, resource_type: str, created: datetime | None, modified: datetime | None) -> Body:
    body["meta"] = {"resourceType": resource_type, "created": created, "lastModified": modified,
                    "version": version_of(body)}
    return body


# --- people as Users --------------------------------------------------------------------------------------

def user_body(user: User) -> Body:
    body: Body = {"schemas": [USER], "id": user.sub, "userName": user.username or user.email,
                  "active": user.disabled_at is None, "emails": [{"value": user.email}]}
    if user.external_id:
        body["externalId"] = user.external_id
    if user.name:
        body["displayName"] = user.name
    name = {key: value for key, value in (("formatted", user.name), ("familyName", user.family_name),
                                          ("givenName", user.given_name)) if value}
    if name:
        body["name"] = name
    roles = sorted(user.roles or [])
    if roles:
        body["groups"] = [{"value": role, "$ref": f"Groups/{role}", "display": role} for role in roles]
    if user.org is not None:
        body["schemas"].append(ENTERPRISE)
        body[ENTERPRISE] = {"organization": user.org.name}
    return _with_meta(body, "User", user.created_at, user.updated_at)


def _login_names(body: Body) -> tuple[str, str | None]:
    """(e-mail address, username or None) from userName and emails (the primary one, else the first): a
    userName that is the address is no username of its own."""
    user_name = (body.get("userName") or "").strip()
    emails = [e for e in body.get("emails") or [] if (e.get("value") or "").strip()]
    if not user_name or not emails:
        raise InvalidValueException(detail="userName and an e-mail address (emails) are required")
    email = emails[0]["value"].strip()
    return email, (None if user_name.lower() == email.lower() else user_name)


def _names(body: Body) -> tuple[str | None, str | None, str | None]:
    """(formatted, given, family): formatted made from the parts when only they are given."""
    name = body.get("name") or {}
    given = (name.get("givenName") or "").strip() or None
    family = (name.get("familyName") or "").strip() or None
    formatted = (name.get("formatted") or "").strip() or " ".join(p for p in (given, family) if p) or None
    return formatted, given, family


def _organisation_text(body: Body) -> str | None:
    return ((body.get(ENTERPRISE) or {}).get("organization") or "").strip() or None


def _narrowing(scim_filter: ScimFilter[Any] | None) -> ColumnElement[bool] | None:
    """For the lookups provisioning systems make before every change (userName, emails.value, externalId or id
    eq "..."), the SQL condition that finds the candidates; the filter itself still decides (None: read all)."""
    node = scim_filter.ast if scim_filter is not None else None
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq or not isinstance(node.value, str):
        return None
    attribute = str(node.attr_path).removeprefix(USER + ":").lower()
    value = node.value.lower()
    return {"username": or_(func.lower(User.username) == value, func.lower(User.email) == value),
            "emails.value": func.lower(User.email) == value, "emails": func.lower(User.email) == value,
            "externalid": func.lower(User.external_id) == value, "id": User.sub == node.value}.get(attribute)


class Directory(ScimStorage):
    """The provider's people and roles as one caller may see and change them."""

    def __init__(self, caller: Caller, provider: ScimProvider, now: Callable[[], datetime] = clock.now):
        self.caller = caller
        self.provider = provider
        self.now = now

    @property
    def admin(self) -> Admin:
        return self.caller.admin

    # --- the ScimStorage interface ---

    def get(self, resource_type: ResourceType, resource_id: str, *,
            response_parameters: ResponseParameters[Any] | None = None) -> Resource[Any]:
        return self._model(resource_type, self._body(resource_type, resource_id))

    def search(self, resource_types: list[ResourceType], search_request: SearchRequest[Any], *,
               position: Any = None) -> SearchPage:
        if search_request.filter is not None and len(str(search_request.filter)) > MAX_FILTER:
            # Matched in Python against every person the caller sees: its size is what a request may cost.
            raise InvalidFilterException(detail=f"the filter is longer than {MAX_FILTER} characters")
        if search_request.filter is not None and CONTROL.search(str(search_request.filter)):
            raise InvalidFilterException(detail="the filter contains a control character")
        found: list[Resource[Any]] = []
        for resource_type in resource_types:
            model = self.provider.model_for(resource_type)
            narrowed = _narrowing(search_request.filter) if resource_type.id == "User" else None
            bodies = (user_body(u) for u in self._people(narrowed)) if resource_type.id == "User" else (
                self._group_body(role, holders) for role, holders in self._roles().items())
            resources = [self._model(resource_type, body) for body in bodies]
            scim_filter = search_request.filter
            if scim_filter is not None and not scim_filter.models:
                scim_filter = parametrize(ScimFilter, Union[model])(str(scim_filter))  # noqa: UP007
            found += [r for r in resources if scim_filter is None or scim_filter.match(r)]

        def key(resource: Resource[Any]) -> tuple[bool, Any, str]:
            value = search_request.sort_value(resource) if search_request.sort_by else None
            if isinstance(value, str):
                value = value.lower()
            return value is None, value if value is not None else "", str(resource.id)

        descending = bool(search_request.sort_by) and search_request.sort_order == SearchRequest.SortOrder.descending
        ordered = sorted(found, key=key, reverse=descending)
        start = search_request.start_index_0 or 0
        count = MAX_RESULTS if search_request.count is None else max(0, min(search_request.count, MAX_RESULTS))
        stop = start + count  # at most maxResults a page, as the ServiceProviderConfig says (RFC 7644 §3.4.2.4)
        return SearchPage(len(ordered), ordered[start:stop])

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        body = resource.model_dump()
        with domain_errors():
            created = user_body(self._create_user(body)) if resource_type.id == "User" else self._create_group(body)
        db.session.flush()
        return self._model(resource_type, created)

    def update(self, resource_type: ResourceType, resource: Resource[Any], *,
               expected_version: str | None = None) -> Resource[Any]:
        resource_id = str(resource.id)
        self._check_version(resource_type, resource_id, expected_version)
        body = resource.model_dump()
        with domain_errors():
            if resource_type.id == "User":
                user = self._person(resource_id)
                self._update_user(user, body)
                updated = user_body(user)
            else:
                updated = self._update_group(resource_id, body)
        db.session.flush()
        return self._model(resource_type, updated)

    def delete(self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None) -> None:
        self._check_version(resource_type, resource_id, expected_version)
        with domain_errors():
            if resource_type.id == "User":
                person = self._person(resource_id)
                admins.require(self.admin, Action.ERASE, person)
                erasure.erase(person, admin=self.admin.name, now=self.now())
            else:
                self._delete_group(resource_id)
        db.session.flush()

    # --- reading ---

    def _model(self, resource_type: ResourceType, body: Body) -> Resource[Any]:
        model = typed(type[Resource[Any]], self.provider.model_for(resource_type))
        return model.model_validate(body)

    def _body(self, resource_type: ResourceType, resource_id: str) -> Body:
        if resource_type.id == "User":
            return user_body(self._person(resource_id))
        holders = self._holders(resource_id)
        if not holders:
            raise NotFoundException(detail=f"no group {resource_id!r}")
        return self._group_body(resource_id, holders)

    def _check_version(self, resource_type: ResourceType, resource_id: str, expected: str | None) -> None:
        if expected is not None and self._body(resource_type, resource_id)["meta"]["version"] != expected:
            raise PreconditionFailedException(detail="the resource changed since it was read")

    def _people(self, narrowed: ColumnElement[bool] | None = None) -> list[User]:
        query = select(User).where(admins.visible_people(self.admin)).order_by(User.id)
        if narrowed is not None:
            query = query.where(narrowed)
        return [u for u in db.session.scalars(query) if not people.is_erased(u)]

    def _person(self, sub: str) -> User:
        """The person with this id, if the caller may see them: else 404 (whether they exist is not told)."""
        person: User | None = None if CONTROL.search(sub) else db.session.scalar(
            select(User).where(User.sub == sub, admins.visible_people(self.admin)))
        if person is None or people.is_erased(person):
            raise NotFoundException(detail=f"no user {sub!r}")
        return person

    # --- writing people ---

    def _organisation(self, body: Body, current: User | None) -> Organisation | None:
        """The organisation the body names (a code or a name). Absent: none for an unlimited client, its own for
        a limited one. A name no organisation has yet makes one (kind other), as `idp users add --organisation`
        does; only an unlimited client may."""
        text = _organisation_text(body)
        if text is None:
            if self.caller.organisation_id is not None:
                return db.session.get(Organisation, self.caller.organisation_id)
            return None
        found = organisations.find(text)
        if found is None:
            found = organisations.create(self.admin, text, "other", self.now())
        return found

    def _create_user(self, body: Body) -> User:
        email, username = _login_names(body)
        org = self._organisation(body, None)
        admins.require(self.admin, Action.CREATE_PERSON, User(email=email, organisation_id=org.id if org else None))
        formatted, given, family = _names(body)
        user = create_user(email, None, name=formatted, given_name=given, family_name=family, username=username,
                           org=org, email_verified=False, external_id=body.get("externalId"))
        if body.get("active") is False:
            disabling.disable(user)
        else:
            activation.send_link(user)
        return user

    def _update_user(self, user: User, body: Body) -> None:
        admin, now = self.admin, self.now()
        email, username = _login_names(body)
        formatted, given, family = _names(body)
        joined = " ".join(p for p in (user.given_name, user.family_name) if p) or None
        if (given, family) != (user.given_name, user.family_name) and formatted == user.name == joined:
            formatted = " ".join(p for p in (given, family) if p) or None  # the whole name follows its parts
        external = (body.get("externalId") or "").strip() or None
        if username is not None and user.username is None and username.lower() == user.email.lower():
            username = None  # userName still shows the address it stood for: a new address alone is no username
        changes = people.Changes()
        if email.lower() != user.email.lower():
            self._change_email(user, email)
        if username != user.username:
            changes.username = username or ""
        if (formatted, given, family) != (user.name, user.given_name, user.family_name):
            changes.name, changes.given_name, changes.family_name = formatted or "", given or "", family or ""
        if external != user.external_id:
            changes.external_id = external or ""
        if changes != people.Changes():
            admins.require(admin, Action.EDIT_PERSON, user)
            people.edit(user, changes, admin=admin.name, now=now)
        org = self._organisation(body, user)
        if (org.id if org else None) != user.organisation_id:
            organisations.set_membership(admin, user, org, now)
        active = body.get("active")
        if active is False and user.disabled_at is None:
            admins.require(admin, Action.DISABLE, user)
            disabling.disable(user)
        elif active is True and user.disabled_at is not None:
            admins.require(admin, Action.DISABLE, user)
            if admins.role_of(user) is not None:  # disabled by the console, perhaps for a reason: enabled there
                raise NotAllowed(f"{user.email} holds an admin role: enable the account in the console")
            people.enable(user, admin=admin.name, now=now)
            if user.password_hash is None and not user.no_login and people.pending_until(user) is None:
                activation.send_link(user)  # made disabled: the link it did not get then

    def _change_email(self, user: User, email: str) -> None:
        """A new e-mail address, as the console changes one (idp.web.admin_people): someone who has signed in
        confirms it from a link sent to the new address, and the old one is told (own_profile); the address
        shown stays the old one until then. Only an account never activated (no password: the address may
        have been mistyped) takes it at once; the activation link sent to the old address stops working and a
        new one goes to the new address. A provisioning system so never hands itself someone's sign-in (a
        reset link to an address it chose)."""
        admins.require(self.admin, Action.EDIT_PERSON, user)
        email = normalise_email(email)
        other = find_by_login(email)
        if other is not None and other.id != user.id:
            raise Taken(f"a user with e-mail {email} already exists")
        if user.org is not None:
            organisations.check_address(user.org, email)
        if user.password_hash is not None:
            if not self._asked_already(user, email):  # a provisioning system sends its data again at every sync
                own_profile.request_email_change(user, email, locale=user.locale)
            return
        people.edit(user, people.Changes(email=email), admin=self.admin.name, now=self.now())
        links.invalidate(links.ACTIVATE, user)
        links.invalidate(links.RESET, user)
        if user.activation_pending and user.disabled_at is None and not user.no_login:
            activation.send_link(user)

    def _asked_already(self, user: User, email: str) -> bool:
        """Is a link that makes `email` the person's address on its way (live)?"""
        return db.session.scalar(select(AccountLink.id).where(
            AccountLink.user_id == user.id, AccountLink.purpose == links.EMAIL_CHANGE,
            AccountLink.email_hash == links.email_hash(email), AccountLink.used_at.is_(None),
            AccountLink.invalidated_at.is_(None), AccountLink.expires_at > self.now())) is not None

    # --- portal roles as Groups ---

    def _roles(self) -> dict[str, list[User]]:
        held: dict[str, list[User]] = {}
        for person in self._people():
            for role in person.roles or []:
                held.setdefault(role, []).append(person)
        return dict(sorted(held.items()))

    def _holders(self, role: str) -> list[User]:
        if CONTROL.search(role):
            return []  # no role is named so (people._check_roles)
        query = select(User).where(admins.visible_people(self.admin)).order_by(User.id)
        if role and '"' not in role and "\\" not in role:  # narrowed in SQL (the JSON text), decided exactly below
            escaped = role.replace("%", "\\%").replace("_", "\\_")
            query = query.where(cast(User.roles, Text).like(f'%"{escaped}"%', escape="\\"))
        return [u for u in db.session.scalars(query) if role in (u.roles or []) and not people.is_erased(u)]

    def _group_body(self, role: str, holders: list[User]) -> Body:
        body: Body = {"schemas": [GROUP], "id": role, "displayName": role, "members": [
            {"value": u.sub, "$ref": f"Users/{u.sub}", "type": "User", "display": u.name or u.username or u.email}
            for u in holders]}
        return _with_meta(body, "Group", min((u.created_at for u in holders), default=None),
                          max((u.updated_at for u in holders), default=None))

    def _members(self, body: Body) -> list[User]:
        subs = list(dict.fromkeys(m.get("value") for m in body.get("members") or [] if m.get("value")))
        found = []
        for sub in subs:
            try:
                found.append(self._person(sub))
            except NotFoundException:
                raise InvalidValueException(detail=f"no user {sub!r} to be a member") from None
        return found

    def _set_role(self, person: User, role: str, holds: bool) -> None:
        roles = set(person.roles or [])
        wanted = roles | {role} if holds else roles - {role}
        if wanted != roles:
            admins.require_roles(self.admin, person, sorted(wanted))
            people.edit(person, people.Changes(roles=sorted(wanted)), admin=self.admin.name, now=self.now())

    def _new_role(self, body: Body) -> str:
        role = (body.get("displayName") or "").strip()
        if not role:
            raise InvalidValueException(detail="displayName (the role) is required")
        if self._holders(role):
            raise UniquenessException(detail=f"there is a group {role!r} already")
        return role

    def _create_group(self, body: Body) -> Body:
        role = self._new_role(body)
        members = self._members(body)
        if not members:
            raise InvalidValueException(detail="a portal role exists while someone holds it: give its first members")
        for person in members:
            self._set_role(person, role, True)
        return self._group_body(role, self._holders(role))

    def _update_group(self, role: str, body: Body) -> Body:
        holders = self._holders(role)
        if not holders:
            raise NotFoundException(detail=f"no group {role!r}")
        name = (body.get("displayName") or "").strip()
        if name != role:
            name = self._new_role(body)
        members = self._members(body)
        wanted = {p.id for p in members}
        for person in {p.id: p for p in [*holders, *members]}.values():
            if name != role:
                self._set_role(person, role, False)
            self._set_role(person, name, person.id in wanted)
        return self._group_body(name, self._holders(name))

    def _delete_group(self, role: str) -> None:
        holders = self._holders(role)
        if not holders:
            raise NotFoundException(detail=f"no group {role!r}")
        for person in holders:
            self._set_role(person, role, False)
