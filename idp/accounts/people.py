"""People as an administrator manages them: find, show, edit, enable, reset factors, sessions, sign out, erase.

One set of rules for every door an administrator uses (the CLI today, the admin console later). Knows
nothing of Flask or click: functions take the person and `now`, raise domain errors, audit each change with
the acting admin as `admin`, and leave the commit to the caller. Ending a person's delegations before an
erasure is idp.delegation's work (idp/delegation/erasure.py), as delegation sits above this package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Text, cast, delete, func, or_, select

from idp import sessions
from idp.accounts import links
from idp.accounts.links import ACTIVATE
from idp.accounts.text import refuse_control
from idp.accounts.users import find_by_login, normalise_email, phone_of
from idp.audit import EventTag, record
from idp.errors import InvalidInput, NotFound, Taken
from idp.extensions import db, rows_changed
from idp.messaging import send
from idp.messaging.backchannel import CHANNEL as BACKCHANNEL
from idp.models import (
    AccountLink,
    AdminRole,
    AuditEvent,
    AuthorizationCode,
    Client,
    Consent,
    Delegation,
    Factor,
    LoginFailure,
    OneTimeCode,
    Organisation,
    OutboxMessage,
    PasswordHistory,
    PendingAuthorization,
    RecoveryCode,
    SessionClient,
    SsoSession,
    Token,
    TrustedDevice,
    User,
)
from idp.runtime import crypto, settings
from idp.security.lockout import login_locked
from idp.security.logins import login_key
from idp.sessions import devices
from idp.tokens import revoke_all_for_user, revoke_all_of_people, revoke_for_session

STATUSES = ("active", "locked", "pending", "disabled")
MAX_FOUND = 50
RECENT_EVENTS = 20
ERASED_DOMAIN = "erased.invalid"
ERASED = "[erased]"


# --- find -----------------------------------------------------------------------------------------------

def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def find(query: str, *, status: str | None = None, now: datetime, limit: int = MAX_FOUND,
         within: ColumnElement[bool] | None = None) -> list[User]:
    """People whose name, e-mail, username or organisation contains `query` (case-insensitive), at most
    `limit`, optionally only those in one status (active, locked, pending, disabled) and only those `within`
    a filter on User (the console: admins.visible_people)."""
    query = (query or "").strip()
    if not query or len(query) > 320:
        raise InvalidInput("give 1-320 characters to search for")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    pattern = _like(query)
    match = or_(*(func.lower(column).like(pattern, escape="\\")
                  for column in (User.name, User.email, User.username, Organisation.name, Organisation.code)))
    where = [match, ~User.email.like(f"%@{ERASED_DOMAIN}")]
    if within is not None:
        where.append(within)
    if status == "disabled":
        where.append(User.disabled_at.is_not(None))
    elif status == "pending":
        where += [User.disabled_at.is_(None), User.activation_pending.is_(True)]
    elif status in ("active", "locked"):
        where += [User.disabled_at.is_(None), User.activation_pending.is_(False)]
    candidates = db.session.scalars(select(User).outerjoin(Organisation, User.organisation_id == Organisation.id)
                                    .where(*where).order_by(User.name, User.email, User.id))
    found = []
    for user in candidates:
        if status in ("active", "locked") and (locked_since(user, now) is not None) != (status == "locked"):
            continue
        found.append(user)
        if len(found) >= limit:
            break
    return found


# --- show -----------------------------------------------------------------------------------------------

def is_erased(user: User) -> bool:
    return user.email.endswith("@" + ERASED_DOMAIN)


def locked_since(user: User, now: datetime) -> datetime | None:
    """When the person's e-mail or username was locked by wrong passwords (None: not locked now)."""
    names = [name for name in (user.email, user.username) if name]
    if not any(login_locked(name, now) for name in names):
        return None
    return db.session.scalar(select(func.min(LoginFailure.locked_at))
                             .where(LoginFailure.login_hash.in_([login_key(name) for name in names])))


def pending_until(user: User) -> datetime | None:
    """Until when the newest activation link works (None: no live link)."""
    return db.session.scalar(
        select(AccountLink.expires_at).where(AccountLink.user_id == user.id, AccountLink.purpose == ACTIVATE,
                                             AccountLink.used_at.is_(None), AccountLink.invalidated_at.is_(None))
        .order_by(AccountLink.id.desc()).limit(1))


def status(user: User, now: datetime) -> dict:
    """The one status word an admin sees, with its dates."""
    locked = locked_since(user, now)
    if is_erased(user):
        word = "erased"
    elif user.disabled_at is not None:
        word = "disabled"
    elif user.activation_pending:
        word = "pending"
    elif locked is not None:
        word = "locked"
    else:
        word = "active"
    return {"status": word, "disabled_at": user.disabled_at, "locked_since": locked,
            "pending_activation": user.activation_pending,
            "pending_until": pending_until(user) if user.activation_pending else None}


def live_sessions(user: User, now: datetime) -> list[SsoSession]:
    found = db.session.scalars(select(SsoSession).where(SsoSession.user_id == user.id, SsoSession.ended_at.is_(None))
                               .order_by(SsoSession.last_seen_at.desc(), SsoSession.id.desc()))
    return [s for s in found if sessions.is_alive(s, now)]


def session_row(session: SsoSession) -> dict:
    return {"sid": session.sid, "started_at": session.created_at, "last_seen_at": session.last_seen_at,
            "expires_at": sessions.expires_at(session), "amr": list(session.amr or []), "ip": session.ip,
            "device": devices.describe(session.user_agent),
            "portals": sorted(part.client.client_id for part in session.clients if part.client is not None)}


def _portals_used(user: User) -> list[dict]:
    rows = db.session.execute(
        select(Client.client_id, Client.name, func.min(SessionClient.first_at), func.max(SessionClient.first_at))
        .join(SessionClient, SessionClient.client_id == Client.id)
        .join(SsoSession, SessionClient.session_id == SsoSession.id)
        .where(SsoSession.user_id == user.id).group_by(Client.client_id, Client.name).order_by(Client.client_id))
    return [{"client_id": cid, "name": name, "first_at": first, "last_at": last} for cid, name, first, last in rows]


def _delegations(user: User) -> list[dict]:
    found = db.session.scalars(select(Delegation).where(
        (Delegation.delegate_id == user.id) | (Delegation.principal_id == user.id)).order_by(Delegation.id.desc()))
    return [{"id": d.id, "role": "delegate" if d.delegate_id == user.id else "principal",
             "other": (d.principal if d.delegate_id == user.id else d.delegate).sub, "status": d.status,
             "basis": d.basis, "portals": list(d.portals or []), "valid_until": d.valid_until} for d in found]


def _event_row(event: AuditEvent) -> dict:
    return {"at": event.at, "event": event.tag, "outcome": event.outcome, "actor": event.actor,
            "client_id": event.client_id, "ip": event.ip}


def describe(user: User, now: datetime) -> dict:
    """Everything an admin may see of a person: never a secret (no password hash, TOTP secret or code)."""
    factors = db.session.scalars(select(Factor).where(Factor.user_id == user.id).order_by(Factor.kind))
    recovery_left = db.session.scalar(select(func.count()).select_from(RecoveryCode)
                                      .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
    last_sign_in = db.session.scalar(select(func.max(AuditEvent.at)).where(
        AuditEvent.subject_user_id == user.id, AuditEvent.tag == str(EventTag.LOGIN_SESSION_STARTED)))
    events = db.session.scalars(
        select(AuditEvent).where(or_(AuditEvent.subject_user_id == user.id, AuditEvent.actor_user_id == user.id))
        .order_by(AuditEvent.id.desc()).limit(RECENT_EVENTS))
    return {
        "sub": user.sub, "email": user.email, "email_verified": user.email_verified, "username": user.username,
        "name": user.name, "phone": phone_of(user), "phone_verified": user.phone_verified,
        "roles": list(user.roles or []), "organisation": user.org.code if user.org is not None else None,
        "organisation_name": user.organisation, "locale": user.locale,
        "date_of_birth": user.date_of_birth, "no_login": user.no_login,
        "disabled": user.disabled_at is not None, "created_at": user.created_at,
        **status(user, now),
        "must_change_password": user.must_change_password, "has_password": user.password_hash is not None,
        "factors": [{"kind": f.kind, "confirmed": f.confirmed_at is not None, "added_at": f.created_at,
                     "last_used_at": f.last_used_at} for f in factors],
        "recovery_codes_left": recovery_left,
        "trusted_devices": [{"id": d.id, "device": devices.describe(d.user_agent), "trusted_at": d.created_at,
                             "last_used_at": d.last_used_at, "expires_at": d.expires_at}
                            for d in devices.list_for(user, now)],
        "sessions": [session_row(s) for s in live_sessions(user, now)],
        "portals_used": _portals_used(user),
        "last_sign_in": last_sign_in,
        "delegations": _delegations(user),
        "recent_events": [_event_row(e) for e in events],
    }


# --- edit, enable ---------------------------------------------------------------------------------------

@dataclass
class Changes:
    """What an admin asks to change; None leaves a field as it is ("" clears an optional one)."""

    name: str | None = None
    email: str | None = None
    username: str | None = None
    roles: list[str] | None = None
    birth_date: date | None = None
    locale: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    external_id: str | None = None  # the provisioning system's own id for the person (SCIM externalId)


def _check_roles(roles: list[str]) -> list[str]:
    roles = sorted({r.strip() for r in roles if r.strip()})
    if any(not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", r) for r in roles):
        raise InvalidInput("a role is 1-40 lowercase letters, digits, '-' or '_', starting with a letter")
    return roles


def _new_values(user: User, changes: Changes, now: datetime) -> dict:
    new: dict = {}
    if changes.name is not None:
        name = changes.name.strip() or None
        refuse_control("name", name)
        if name is not None and len(name) > 200:
            raise InvalidInput("name too long: at most 200 characters")
        new["name"] = name
    for part, value in (("given_name", changes.given_name), ("family_name", changes.family_name)):
        if value is not None:
            value = value.strip() or None
            refuse_control(part.replace("_", " "), value)
            if value is not None and len(value) > 100:
                raise InvalidInput(f"{part.replace('_', ' ')} too long: at most 100 characters")
            new[part] = value
    if changes.external_id is not None:
        external = changes.external_id.strip() or None
        refuse_control("external id", external)
        if external is not None and len(external) > 200:
            raise InvalidInput("external id too long: at most 200 characters")
        new["external_id"] = external
    if changes.email is not None:
        email = normalise_email(changes.email)
        other = find_by_login(email)
        if other is not None and other.id != user.id:
            raise Taken(f"a user with e-mail {email} already exists")
        new["email"] = email
    if changes.username is not None:
        username = changes.username.strip() or None
        if username is not None:
            if not re.fullmatch(r"[A-Za-z0-9._-]{2,150}", username):
                raise InvalidInput(f"not a valid username: {username!r} (letters, digits, . _ -)")
            other = find_by_login(username)
            if other is not None and other.id != user.id:
                raise Taken(f"username {username} is taken")
        new["username"] = username
    if changes.roles is not None:
        new["roles"] = _check_roles(changes.roles)
    if changes.birth_date is not None:
        if not date(1900, 1, 1) <= changes.birth_date < now.date():
            raise InvalidInput(f"not a date of birth: {changes.birth_date.isoformat()} (a date in the past)")
        new["date_of_birth"] = changes.birth_date
    if changes.locale is not None:
        if changes.locale not in {"nl", "en"}:
            raise InvalidInput("locale must be nl or en")
        new["locale"] = changes.locale
    return {k: v for k, v in new.items() if (k == "email" and v != user.email) or getattr(user, k) != v}


def edit(user: User, changes: Changes, *, admin: str, now: datetime) -> list[str]:
    """Change what an admin may change (never the phone number: only its owner may). Returns the fields changed.

    A new e-mail address is recorded unverified: portals see email_verified false until the person confirms
    it. The audit names the fields, never their old or new values."""
    refuse_erased(user)
    new = _new_values(user, changes, now)
    if not new:
        return []
    if "name" in new and not {"given_name", "family_name"} & set(new):  # the parts belonged to the old name
        user.given_name = user.family_name = None
    if "email" in new:
        user.email_verified = False
    for field, value in new.items():
        setattr(user, field, value)
    user.updated_at = now
    record(EventTag.USER_UPDATED, user_id=user.id, admin=admin, fields=sorted(new),
           email_unverified=True if "email" in new else None)
    return sorted(new)


def enable(user: User, *, admin: str, now: datetime) -> bool:
    """Let a disabled person sign in again (their sessions and tokens stay ended). False: was not disabled."""
    refuse_erased(user)
    if user.disabled_at is None:
        return False
    user.disabled_at = None
    user.updated_at = now
    record(EventTag.USER_ENABLED, user_id=user.id, admin=admin)
    return True


def refuse_erased(user: User) -> None:
    if is_erased(user):
        raise InvalidInput(f"user {user.sub} was erased")


# --- second factors -------------------------------------------------------------------------------------

def reset_factors(user: User, *, admin: str, now: datetime) -> dict:
    """Remove every second factor, recovery code and trusted device: the person sets up a factor again at the
    next sign-in (where the portal asks for one). The person is told by e-mail."""
    refuse_erased(user)
    kinds = sorted(db.session.scalars(select(Factor.kind).where(Factor.user_id == user.id)))
    db.session.execute(delete(Factor).where(Factor.user_id == user.id).execution_options(synchronize_session="fetch"))
    codes = rows_changed(delete(RecoveryCode).where(RecoveryCode.user_id == user.id)
                         .execution_options(synchronize_session=False))
    trusted = devices.revoke_all(user, reason="factors reset", now=now)
    record(EventTag.MFA_RESET, user_id=user.id, admin=admin, factors=kinds, recovery_codes=codes, devices=trusted)
    if not user.no_login:
        send("email", user.email, "factors_reset", user=user, account_url=settings().issuer + "/account")
    return {"factors": kinds, "recovery_codes": codes, "devices": trusted}


# --- sessions, sign out ---------------------------------------------------------------------------------

def sign_out(user: User, *, admin: str, now: datetime, sid: str | None = None) -> tuple[int, int, list]:
    """End one session (`sid`) or all of the person's sessions; portals are told on the back channel and the
    tokens of what ended are revoked. Returns (sessions ended, tokens revoked, queued logouts)."""
    if sid is not None:
        session = sessions.by_sid(sid)
        if session is None or session.user_id != user.id or session.ended_at is not None:
            raise NotFound(f"no live session {sid!r} of this user")
        deliveries = sessions.end(session, reason="admin")
        revoked, ended = revoke_for_session(session.id), 1
    else:
        ended = len(db.session.scalars(select(SsoSession.id).where(
            SsoSession.user_id == user.id, SsoSession.ended_at.is_(None))).all())
        deliveries = sessions.end_all_for_user(user, reason="admin")
        revoked = revoke_all_for_user(user.id)
        devices.revoke_all(user, reason="signed out everywhere by an admin", now=now)
    record(EventTag.USER_SIGNED_OUT, user_id=user.id, admin=admin, sid=sid, sessions=ended, tokens_revoked=revoked)
    return ended, revoked, deliveries


def sign_out_everyone(*, admin: str, batch: int = 500) -> tuple[int, int, list]:
    """End every live session of every person (after an incident, OWASP ASVS 7.4.5): portals are told on the
    back channel, every person's tokens and trusted browsers are revoked; clients' own tokens stay. Returns
    (sessions ended, tokens revoked, queued logouts)."""
    ended, deliveries = 0, []
    while True:
        live = db.session.scalars(select(SsoSession).where(SsoSession.ended_at.is_(None)).limit(batch)).all()
        if not live:
            break
        for session in live:
            deliveries += sessions.end(session, reason="admin")
        ended += len(live)
        db.session.flush()
    revoked = revoke_all_of_people()
    devices.revoke_everyones(reason="everyone signed out by an admin")
    record(EventTag.USER_SIGNED_OUT, user_id=None, admin=admin, everyone=True, sessions=ended,
           tokens_revoked=revoked)
    return ended, revoked, deliveries


# --- erase (AVG) ----------------------------------------------------------------------------------------

def _personal_values(user: User) -> list[str]:
    values = [user.email, user.username, user.name, user.given_name, user.family_name, phone_of(user)]
    if user.date_of_birth is not None:
        values.append(user.date_of_birth.isoformat())
    return [v for v in values if v and len(v) >= 3]


def _scrub(value, personal: list[str]):
    """`value` with every string that holds a personal value replaced by ERASED."""
    if isinstance(value, dict):
        return {k: _scrub(v, personal) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, personal) for v in value]
    if isinstance(value, str) and any(p.lower() in value.lower() for p in personal):
        return ERASED
    return value


def _holding(column, personal: list[str]):
    """Rows whose JSON `column` mentions a personal value, as typed or as JSON escapes it."""
    forms = {form for p in personal for form in (p, json.dumps(p)[1:-1])}
    return or_(*(func.lower(cast(column, Text)).like(_like(form), escape="\\") for form in forms))


def erase(user: User, *, admin: str, now: datetime) -> list:
    """Remove the person's personal data everywhere (AVG art. 17); the account stays as a pseudonym (its `sub`)
    that can never sign in, so the audit trail stays whole. The person's delegations must be ended first.
    Returns the queued back-channel logouts."""
    refuse_erased(user)
    personal = _personal_values(user)
    logins = [login_key(name) for name in (user.email, user.username) if name]
    address_hash = links.email_hash(user.email)
    deliveries = sessions.end_all_for_user(user, reason="erased")
    uid = user.id
    for model in (AuthorizationCode, Token, Consent, Factor, RecoveryCode, OneTimeCode, TrustedDevice,
                  PasswordHistory, AdminRole):
        db.session.execute(delete(model).where(model.user_id == uid).execution_options(synchronize_session=False))
    db.session.execute(delete(SsoSession).where(SsoSession.user_id == uid)
                       .execution_options(synchronize_session="fetch"))
    db.session.execute(delete(AccountLink)
                       .where(or_(AccountLink.user_id == uid, AccountLink.email_hash == address_hash))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(LoginFailure).where(LoginFailure.login_hash.in_(logins))
                       .execution_options(synchronize_session=False))
    # Mail and SMS texts to the person go; a logout queued just now for a portal (sub and sid only) stays.
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == uid, OutboxMessage.channel != BACKCHANNEL)
                       .execution_options(synchronize_session=False))
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id.is_(None),
                                                                  OutboxMessage.channel != BACKCHANNEL)):
        if crypto().decrypt(message.recipient_encrypted).lower() in {p.lower() for p in personal}:
            db.session.delete(message)
    for pending in db.session.scalars(select(PendingAuthorization).where(or_(
            _holding(PendingAuthorization.params, personal), _holding(PendingAuthorization.flow, personal)))):
        db.session.delete(pending)
    for delegation in db.session.scalars(select(Delegation).where(
            (Delegation.delegate_id == uid) | (Delegation.principal_id == uid))):
        delegation.evidence = delegation.reason = None
    # Typed names were kept as keyed hashes; the person's own go too (the subject id still ties the rows).
    in_audit = personal + logins
    for event in db.session.scalars(select(AuditEvent).where(_holding(AuditEvent.details, in_audit))):
        event.details = _scrub(event.details, in_audit)
    user.email = f"erased-{user.sub}@{ERASED_DOMAIN}"
    user.email_verified = False
    user.username = user.name = user.given_name = user.family_name = user.external_id = None
    user.phone_encrypted, user.phone_verified = None, False
    user.date_of_birth = user.organisation_id = user.locale = user.password_hash = user.password_changed_at = None
    user.roles, user.must_change_password, user.activation_pending, user.no_login = [], False, False, True
    user.disabled_at = user.disabled_at or now
    user.updated_at = now
    record(EventTag.USER_ERASED, user_id=uid, admin=admin)
    return deliveries
