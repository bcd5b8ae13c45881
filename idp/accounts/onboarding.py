"""An account an administrator makes (issue 16 part 2): the one rule behind `idp users add` and the admin
console's "new person" page (seed 001's "Beheer → nieuwe gebruiker").

The account is made for a portal, and starts as that portal's profile says (`new_accounts`): an activation
link by e-mail (seeds 001, 003, 004) or a temporary password by e-mail (seed 002). Where the portal signs people
in by username, the account needs one; where its activation checks the date of birth (seed 004), it needs that.
The organisation's e-mail domains are enforced. Who may make whom is idp.accounts.admins' rule. Not committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from idp.accounts import activation, organisations, passwords, users
from idp.accounts.admins import Action, Admin, require
from idp.errors import InvalidInput
from idp.models import Client, Organisation, User
from idp.portals import profile, registry
from idp.security.phones import InvalidPhone, normalise_phone

PASSWORD, TEMPORARY, ACTIVATE = "password", "temporary", "activate"
STARTS = (PASSWORD, TEMPORARY, ACTIVATE)


@dataclass
class NewPerson:
    """What an admin fills in for a new account."""

    email: str
    name: str | None = None
    username: str | None = None
    phone: str | None = None
    locale: str | None = None
    roles: list[str] = field(default_factory=list)
    date_of_birth: date | None = None
    org: Organisation | None = None


class Refused(InvalidInput):
    """What is wrong with a new account, per field: {field: reason}. Reasons: invalid, taken, domain,
    required (a portal: required when the one given is not one people sign in to)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in problems.items()))
        self.problems = problems


def authorise(admin: Admin, new: NewPerson) -> None:
    """May this admin make this account (NotAllowed otherwise)? The rule sees it as it would be: unsaved, in its
    organisation."""
    require(admin, Action.CREATE_PERSON, User(email=new.email, organisation_id=new.org.id if new.org else None))


def start_for(portal: Client | None) -> str:
    """How an account made for this portal starts, by its profile: an activation link or a temporary password."""
    return TEMPORARY if profile.of(portal).new_accounts == "temporary_password" else ACTIVATE


def problems(new: NewPerson, portal: Client | None, now: datetime, *, start: str | None = None) -> dict[str, str]:
    """Every field that stops this account being made, with its reason (empty: it can be made)."""
    start = start or start_for(portal)
    found: dict[str, str] = {}
    if portal is not None and not registry.for_people(portal):
        found["portal"] = "required"  # the console's own client or a machine client: not a portal to sign in to
    try:
        email = users.normalise_email(new.email)
    except InvalidInput:
        found["email"] = "required" if not (new.email or "").strip() else "invalid"
    else:
        if users.find_by_login(email) is not None:
            found["email"] = "taken"
        elif new.org is not None and not organisations.address_allowed(new.org, email):
            found["email"] = "domain"
    name = " ".join((new.name or "").split())
    if len(name) > 200:
        found["name"] = "invalid"
    chosen = profile.of(portal)
    username = (new.username or "").strip()
    if username:
        if not users.USERNAME.fullmatch(username):
            found["username"] = "invalid"
        elif users.find_by_login(username) is not None:
            found["username"] = "taken"
    elif chosen.sign_in_with == "username" and start != PASSWORD:
        found["username"] = "required"
    if new.date_of_birth is not None:
        if not date(1900, 1, 1) <= new.date_of_birth < now.date():
            found["date_of_birth"] = "invalid"
    elif chosen.activation_birth_date and start == ACTIVATE:
        found["date_of_birth"] = "required"
    if new.phone:
        try:
            normalise_phone(new.phone)
        except InvalidPhone:
            found["phone"] = "invalid"
    if any(not users.ROLE.fullmatch(r.strip()) for r in new.roles if r.strip()):
        found["roles"] = "invalid"
    return found


def add(admin: Admin, new: NewPerson, *, portal: Client | None, now: datetime, start: str | None = None,
        password: str | None = None, check: bool = True) -> User:
    """Make the account and start it: with `password` (start "password"), a temporary password by e-mail, or an
    activation link by e-mail (`start` None: as the portal's profile says). The link or password belongs to
    `portal`: its name, policy and sign-in page are in the mail. Raises NotAllowed (admin rule), Refused (a
    field; with `check`) or InvalidInput. Not committed.

    `check` False (the CLI) leaves the checks to create_user and asks neither a username nor a date of birth
    where the portal would want one: an operator scripting accounts decides (without a username the person
    signs in with the e-mail address, idp.portals.profile.login_name)."""
    start = start or start_for(portal)
    if start not in STARTS:
        raise InvalidInput(f"start with one of {', '.join(STARTS)}, not {start!r}")
    if (start == PASSWORD) != (password is not None):
        raise InvalidInput("a password is given exactly when the account starts with one")
    authorise(admin, new)
    if check:
        found = problems(new, portal, now, start=start)
        if found:
            raise Refused(found)
    user = users.create_user(new.email, password, name=" ".join((new.name or "").split()) or None,
                             username=(new.username or "").strip() or None, phone=new.phone or None,
                             locale=new.locale, roles=new.roles, date_of_birth=new.date_of_birth, org=new.org,
                             email_verified=start != ACTIVATE)
    if start == TEMPORARY:
        passwords.give_temporary_password(user, portal)
    elif start == ACTIVATE:
        activation.send_link(user, client=portal)
    return user
