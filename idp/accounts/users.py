"""Users: create, find by e-mail or username, disable. Used by the CLI, the sign-in flow and the claims."""

from __future__ import annotations

import re
from datetime import date

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, func, or_, select

from idp import clock, sessions
from idp.accounts import organisations
from idp.accounts.text import refuse_control
from idp.audit import EventTag, record
from idp.errors import InvalidInput, NotFound, Taken
from idp.extensions import db
from idp.models import Organisation, User
from idp.runtime import crypto, settings
from idp.security.logins import MAX_LOGIN, normalise_login
from idp.security.passwords import hash_password
from idp.security.phones import InvalidPhone, normalise_phone
from idp.sessions import devices
from idp.tokens import revoke_all_for_user

USERNAME = re.compile(r"[A-Za-z0-9._-]{2,150}")
ROLE = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def normalise_email(email: str) -> str:
    """A valid address (email-validator, no DNS lookups) with its domain in lower case; the local part is kept
    as typed (plus-aliases are distinct addresses) and compared case-insensitively by find_by_login."""
    typed = (email or "").strip()
    if len(typed) > 320:
        raise InvalidInput(f"not a valid e-mail address: {typed!r}")
    try:
        checked = validate_email(typed, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(f"not a valid e-mail address: {typed!r}") from None
    return f"{checked.local_part}@{checked.domain.lower()}"


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def create_user(
    email: str,
    password: str | None,
    *,
    name: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    username: str | None = None,
    phone: str | None = None,
    phone_verified: bool = False,
    locale: str | None = None,
    email_verified: bool = True,
    roles: list[str] | tuple[str, ...] = (),
    date_of_birth: date | None = None,
    organisation: str | None = None,
    org: Organisation | None = None,
    external_id: str | None = None,
) -> User:
    """Add a user (not committed). Raises InvalidInput with one clear line.

    `org`: the organisation they are a member of (their address must be at its domains). `organisation`, the
    free text of before issue 16, names one by code or name, or makes one by that name (organisations.for_text).

    A phone number typed by someone else (an admin) is not verified until its owner confirms a code sent to
    it: portals see `phone_number_verified` false until then.
    """
    email = normalise_email(email)
    if find_by_login(email) is not None:
        raise Taken(f"a user with e-mail {email} already exists")
    if username is not None:
        username = username.strip()
        if not USERNAME.fullmatch(username):
            raise InvalidInput(f"not a valid username: {username!r} (letters, digits, . _ -)")
        if find_by_login(username) is not None:
            raise Taken(f"username {username} is taken")
    if password is not None and len(password) < 8:
        raise InvalidInput("password too short: at least 8 characters")
    if phone is not None:
        try:
            phone = normalise_phone(phone)
        except InvalidPhone:
            raise InvalidInput(f"not a mobile phone number: {phone!r}") from None
    roles = sorted({r.strip() for r in roles or () if r.strip()})
    if any(not ROLE.fullmatch(r) for r in roles):
        raise InvalidInput("a role is 1-40 lowercase letters, digits, '-' or '_', starting with a letter")
    if locale is not None and locale not in {"nl", "en"}:
        raise InvalidInput("locale must be nl or en")
    external_id = (external_id or "").strip() or None
    if external_id is not None and len(external_id) > 200:
        raise InvalidInput("external id too long: at most 200 characters")
    now = clock.now()
    if date_of_birth is not None and not date(1900, 1, 1) <= date_of_birth < now.date():
        raise InvalidInput(f"not a date of birth: {date_of_birth.isoformat()} (a date in the past)")
    if org is None:
        org = organisations.for_text(organisation, now)
    if org is not None:
        organisations.check_address(org, email)
    refuse_control("external id", external_id)
    for what, value, most in (("name", name, 200), ("given name", given_name, 100), ("family name", family_name, 100)):
        refuse_control(what, value)
        if value is not None and len(value) > most:
            raise InvalidInput(f"{what} too long: at most {most} characters")
    if name is None and (given_name or family_name):
        name = " ".join(p for p in (given_name, family_name) if p)
    user = User(
        email=email,
        email_verified=email_verified,
        username=username,
        name=name,
        given_name=given_name,
        family_name=family_name,
        phone_encrypted=crypto().encrypt(phone) if phone else None,
        phone_verified=bool(phone) and phone_verified,
        locale=locale,
        roles=roles,
        date_of_birth=date_of_birth,
        organisation_id=org.id if org is not None else None,
        org=org,
        external_id=external_id,
        password_hash=hash_password(password, settings().passwords.bcrypt_rounds) if password else None,
        created_at=now,
        updated_at=now,
    )
    db.session.add(user)
    db.session.flush()
    record(EventTag.USER_CREATED, user_id=user.id, organisation=org.code if org is not None else None)
    return user


def find_by_login(login: str, *, by: str = "either") -> User | None:
    """The user whose e-mail or username is `login`, both case-insensitive (as the lockout counts them: "ANNA"
    is the account "anna", never a second name to guess under). `by` "email" or "username" looks at one only
    (a portal that signs people in by one of them: its profile's sign_in_with)."""
    login = normalise_login(login)
    if not login or len(login) > MAX_LOGIN:
        return None
    by_email, by_username = func.lower(User.email) == login.lower(), func.lower(User.username) == login.lower()
    # Someone without a username (a contact person invited by e-mail) signs in by e-mail address everywhere,
    # as login_name tells them, also at a portal that signs its own clients in by username.
    no_username_but_email = and_(User.username.is_(None), by_email)
    match = {"email": by_email, "username": or_(by_username, no_username_but_email)}.get(by, or_(by_email, by_username))
    return db.session.scalar(select(User).where(match))


def get_by_ref(ref: str) -> User:
    """A user by sub, e-mail or username (CLI)."""
    user = db.session.scalar(select(User).where(User.sub == ref)) or find_by_login(ref)
    if user is None:
        raise NotFound(f"no user {ref!r}")
    return user


def phone_of(user: User | None) -> str | None:
    if user is None or not user.phone_encrypted:
        return None
    return crypto().decrypt(user.phone_encrypted)


def disable(user: User) -> list:
    """Stop a person signing in: end their sessions and revoke their tokens. Returns the queued logouts."""
    if user.disabled_at is None:
        user.disabled_at = clock.now()
        user.updated_at = user.disabled_at
        record(EventTag.USER_DISABLED, user_id=user.id, tokens_revoked=revoke_all_for_user(user.id))
        devices.revoke_all(user, reason="user disabled")
    return sessions.end_all_for_user(user, reason="user disabled")
