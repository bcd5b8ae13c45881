"""The whole audit trail as an admin reads it (issue 16 part 2): filter, page, and the CSV export (NEN 7513).

Which rows an admin may read is idp.accounts.admins' rule: Action.VIEW_AUDIT without a person (deployment
admins) is the whole audit; a role that may read the audit of people (helpdesk: anyone; organisation admin:
their own organisation's members) reads the rows whose subject or acting person is such a person.
`visible_rows(admin)` is that rule as a filter on AuditEvent, as admins.visible_people is on User.

Knows nothing of Flask: the view parses the request into a `Filter` (with `parse`), asks for a `page` or the
`export`, and renders. Dates are days in the time zone the pages show (Europe/Amsterdam).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from idp.accounts import activity, admins
from idp.audit import EventTag, record
from idp.errors import NotAllowed
from idp.extensions import db
from idp.models import Client, User
from idp.models.audit import AuditEvent

PAGE_SIZE = 50
MAX_EXPORT = 50_000  # rows in one CSV file; narrow the filter for more (the export's audit row says so)
ZONE = ZoneInfo("Europe/Amsterdam")  # the pages' time zone (app.py: BABEL_DEFAULT_TIMEZONE)
GROUP = "group:"  # an event filter naming a group rather than one tag

# The event filter's groups, in the order the page offers them; every tag is in exactly one.
GROUPS: dict[str, tuple[EventTag, ...]] = {
    "sign-in": (EventTag.LOGIN_PASSWORD_SUCCESS, EventTag.LOGIN_PASSWORD_FAILURE, EventTag.LOGIN_SESSION_STARTED,
                EventTag.MFA_CODE_SENT, EventTag.MFA_CODE_ACCEPTED, EventTag.MFA_CODE_REJECTED,
                EventTag.MFA_RECOVERY_CODE_USED, EventTag.MFA_DEVICE_USED, EventTag.MFA_STEP_UP, EventTag.LOGOUT,
                EventTag.ACCOUNT_LOCKED, EventTag.ACCOUNT_UNLOCKED),
    "account": (EventTag.USER_CREATED, EventTag.USER_REGISTERED, EventTag.REGISTRATION_REQUESTED,
                EventTag.ACTIVATION_SENT, EventTag.ACTIVATION_BIRTH_DATE_FAILED, EventTag.ACTIVATION_WITHDRAWN,
                EventTag.ACCOUNT_ACTIVATED, EventTag.USER_UPDATED, EventTag.USER_NAME_CHANGED,
                EventTag.USER_EMAIL_CHANGE_REQUESTED, EventTag.USER_EMAIL_CHANGED, EventTag.USER_PHONE_CHANGED,
                EventTag.USER_PASSWORD_CHANGED, EventTag.PASSWORD_RESET_REQUESTED, EventTag.PASSWORD_RESET,
                EventTag.USER_DISABLED, EventTag.USER_ENABLED, EventTag.USER_SIGNED_OUT, EventTag.USER_DATA_EXPORTED,
                EventTag.USER_SELF_DELETED, EventTag.USER_ERASED),
    "factors": (EventTag.MFA_ENROLLED, EventTag.MFA_REMOVED, EventTag.MFA_RESET, EventTag.MFA_RECOVERY_CODES_CREATED,
                EventTag.DEVICE_TRUSTED, EventTag.DEVICE_REVOKED),
    "portals": (EventTag.CONSENT_GRANTED, EventTag.CONSENT_DENIED, EventTag.CONSENT_REVOKED, EventTag.TOKEN_ISSUED,
                EventTag.TOKEN_REVOKED, EventTag.REFRESH_REUSE_DETECTED, EventTag.CODE_REUSE_DETECTED,
                EventTag.BACKCHANNEL_LOGOUT_SENT, EventTag.BACKCHANNEL_LOGOUT_FAILED),
    "delegation": (EventTag.DELEGATION_GRANTED, EventTag.DELEGATION_CONSENTED, EventTag.DELEGATION_REVOKED,
                   EventTag.DELEGATION_EXPIRED, EventTag.DELEGATION_NOTICE_SENT, EventTag.DELEGATION_INVITED,
                   EventTag.DELEGATION_ACCEPTED, EventTag.DELEGATION_SIGN_IN, EventTag.DELEGATION_PORTAL_LOGGED_OUT),
    "messages": (EventTag.MESSAGE_SENT, EventTag.MESSAGE_DEAD, EventTag.MESSAGE_RETRIED, EventTag.MESSAGE_CANCELLED),
    "administration": (EventTag.ADMIN_ROLE_GRANTED, EventTag.ADMIN_ROLE_REVOKED, EventTag.ORGANISATION_CREATED,
                       EventTag.ORGANISATION_UPDATED, EventTag.ORGANISATION_REMOVED,
                       EventTag.ORGANISATION_MEMBER_ADDED, EventTag.ORGANISATION_MEMBER_REMOVED,
                       EventTag.CLIENT_CREATED, EventTag.CLIENT_UPDATED, EventTag.CLIENT_REMOVED,
                       EventTag.CLIENT_DISABLED, EventTag.CLIENT_ENABLED,
                       EventTag.CLIENT_SECRET_ROTATED, EventTag.KEY_ROTATED, EventTag.AUDIT_EXPORTED),
}

# The outcome of a row: "failure" when it was recorded so, or when its tag names a refusal or a breakdown
# (its last part is one of these: a wrong password, a rejected code, a dead message, a locked account, a
# token used twice, consent refused); otherwise "success".
FAILING_ENDINGS = frozenset({"failure", "failed", "dead", "locked", "rejected", "reuse", "denied"})

CSV_COLUMNS = ("time", "actor", "actor_sub", "subject_sub", "event", "what", "portal", "ip", "user_agent",
               "outcome", "details")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def outcome_of(tag: str, recorded: str) -> str:
    """success or failure (FAILING_ENDINGS)."""
    if recorded == "failure" or tag.rsplit(":", 1)[-1] in FAILING_ENDINGS:
        return "failure"
    return "success"


# --- who reads which rows --------------------------------------------------------------------------------


def may_read(admin: admins.Admin | None) -> bool:
    """Whether the admin may open the audit at all: the whole of it, or the part about people they may see."""
    if admins.may(admin, admins.Action.VIEW_AUDIT, None):
        return True
    return admin is not None and admins.Action.VIEW_AUDIT in admins.ALLOWED.get(admin.role, frozenset())


def require_read(admin: admins.Admin) -> None:
    if not may_read(admin):
        raise NotAllowed(f"{admin.name} ({admin.role} admin) may not view the audit")


def visible_rows(admin: admins.Admin | None) -> ColumnElement[bool]:
    """The filter for `select(AuditEvent)` of the rows an admin may read: all of them with VIEW_AUDIT without a
    person; else those whose subject or acting person is someone the admin may see (admins.visible_people)."""
    if admins.may(admin, admins.Action.VIEW_AUDIT, None):
        return true()
    if not may_read(admin):
        return false()
    people = select(User.id).where(admins.visible_people(admin)).scalar_subquery()
    return or_(AuditEvent.subject_user_id.in_(people), AuditEvent.actor_user_id.in_(people))


# --- the filter ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """What the admin asked for; empty fields do not narrow."""

    person: str = ""  # e-mail address or sub: rows about them or done by them
    portal: str = ""  # a portal's client_id
    event: str = ""  # a tag, or GROUP + a group's name
    actor: str = ""  # e-mail address or sub of the acting person, or an actor as recorded ("cli:ops", "system")
    since: date | None = None  # from this day (inclusive), in ZONE
    until: date | None = None  # to this day (inclusive), in ZONE

    def described(self) -> dict[str, Any]:
        """The filter as the export's audit row and the CSV link carry it (only what was given)."""
        shown = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}
        return {k: v for k, v in shown.items() if v}


@dataclass
class Parsed:
    filter: Filter
    errors: dict[str, str] = field(default_factory=dict)  # field name -> error key (see ERRORS)


ERRORS = ("date", "range", "event", "too_long")


# The days a filter may name: a day's start in ZONE must be a datetime in UTC, and the day after the end too
# (date.min and date.max are not); nothing was audited before 1900 or will be after 9000.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9000, 12, 31)


def _date(text: str) -> date:
    """A day as yyyy-mm-dd within FIRST_DAY..LAST_DAY; ValueError otherwise."""
    day = date.fromisoformat(text)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{text} is outside {FIRST_DAY}..{LAST_DAY}")
    return day


def parse(args: Mapping[str, str]) -> Parsed:
    """A Filter from a query string's values; a value that cannot be used is left out and named in errors."""
    errors: dict[str, str] = {}
    texts: dict[str, str] = {}
    for name in ("person", "portal", "event", "actor"):
        value = " ".join((args.get(name) or "").split())
        if len(value) > 320:
            errors[name] = "too_long"
            value = ""
        texts[name] = value
    if texts["event"] and texts["event"] not in event_choices():
        errors["event"] = "event"
        texts["event"] = ""
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        value = (args.get(name) or "").strip()
        days[name] = None
        if value:
            try:
                days[name] = _date(value)
            except ValueError:
                errors[name] = "date"
    if days["since"] and days["until"] and days["since"] > days["until"]:
        errors["until"] = "range"
        days["until"] = None
    return Parsed(Filter(since=days["since"], until=days["until"], **texts), errors)


def event_choices() -> set[str]:
    return {GROUP + name for name in GROUPS} | {str(tag) for tag in EventTag}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZONE).astimezone(UTC)


def _person(text: str) -> User | None:
    lowered = text.lower()
    return db.session.scalar(select(User).where(or_(User.sub == text, User.email == lowered)))


def _conditions(chosen: Filter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if chosen.person:
        found = _person(chosen.person)
        if found is None:
            where.append(false())
        else:
            where.append(or_(AuditEvent.subject_user_id == found.id, AuditEvent.actor_user_id == found.id))
    if chosen.actor:
        found = _person(chosen.actor)
        if found is not None:
            where.append(or_(AuditEvent.actor_user_id == found.id, AuditEvent.actor == f"user:{found.sub}"))
        else:
            where.append(AuditEvent.actor == chosen.actor)
    if chosen.portal:
        where.append(AuditEvent.client_id == chosen.portal)
    if chosen.event.startswith(GROUP):
        where.append(AuditEvent.tag.in_([str(t) for t in GROUPS[chosen.event[len(GROUP):]]]))
    elif chosen.event:
        where.append(AuditEvent.tag == chosen.event)
    if chosen.since:
        where.append(AuditEvent.at >= _start_of(chosen.since))
    if chosen.until:
        where.append(AuditEvent.at < _start_of(chosen.until + timedelta(days=1)))
    return where


# --- the rows --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One audit row as an admin reads it: never a secret (the details hold none; typed login names are hashed)."""

    id: int
    at: datetime
    tag: str
    sentence: str | None  # the person's own words for it (idp/accounts/activity.py), when there are
    actor: str | None  # who acted, as recorded ("user:<sub>", "cli:<name>", "web", "system")
    actor_sub: str | None  # the acting person's account
    actor_email: str | None
    subject_sub: str | None  # on whose behalf: whom the row is about
    subject_email: str | None
    portal: str | None  # client_id
    portal_name: str | None
    ip: str | None
    user_agent: str | None
    outcome: str  # success or failure
    details: dict[str, Any]


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    older: int | None  # the `before` of the next page, None on the last one


def _query(admin: admins.Admin, chosen: Filter) -> Select[Any]:
    return select(AuditEvent).where(visible_rows(admin), *_conditions(chosen))


def _rows(admin: admins.Admin, events: list[AuditEvent]) -> list[Row]:
    """The rows as this admin reads them: a person the admin may not see (a member's principal outside the
    organisation, for an organisation admin) is named by their sub only, never their e-mail address."""
    ids = {i for e in events for i in (e.subject_user_id, e.actor_user_id) if i is not None}
    found = db.session.scalars(select(User).where(User.id.in_(ids))) if ids else []
    seen = ({u.id for u in db.session.scalars(select(User).where(User.id.in_(ids), admins.visible_people(admin)))}
            if ids and not admins.may(admin, admins.Action.VIEW_AUDIT, None) else ids)
    people = {u.id: (u.sub, u.email if u.id in seen else None) for u in found}
    client_ids = {e.client_id for e in events if e.client_id}
    portals = ({c.client_id: c.name for c in db.session.scalars(select(Client).where(Client.client_id.in_(client_ids)))}
               if client_ids else {})
    shown = []
    for event in events:
        details = dict(event.details or {})
        actor = people.get(event.actor_user_id) if event.actor_user_id is not None else None
        subject = people.get(event.subject_user_id) if event.subject_user_id is not None else None
        portal_name = portals.get(event.client_id) if event.client_id else None
        if event.outcome not in ("success", "failure"):
            details.setdefault("outcome", event.outcome)
        shown.append(Row(
            id=event.id, at=event.at, tag=event.tag,
            sentence=activity.sentence_of(event.tag, details, portal_name or event.client_id),
            actor=event.actor, actor_sub=actor[0] if actor else None, actor_email=actor[1] if actor else None,
            subject_sub=subject[0] if subject else None, subject_email=subject[1] if subject else None,
            portal=event.client_id, portal_name=portal_name, ip=event.ip, user_agent=event.user_agent,
            outcome=outcome_of(event.tag, event.outcome), details=details))
    return shown


def page(admin: admins.Admin, chosen: Filter, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The rows the admin may read that match, before row `before` (None: the newest), newest first (by id:
    the trail is append-only, so that is the order things happened)."""
    require_read(admin)
    query = _query(admin, chosen)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(size + 1)))
    more = len(events) > size
    events = events[:size]
    return Page(_rows(admin, events), events[-1].id if more and events else None)


# --- the CSV export --------------------------------------------------------------------------------------


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_line(row: Row) -> list[str]:
    at = row.at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return [safe_cell(v) for v in (
        at, row.actor, row.actor_sub, row.subject_sub, row.tag, row.sentence, row.portal, row.ip, row.user_agent,
        row.outcome, json.dumps(row.details, sort_keys=True, ensure_ascii=False, default=str))]


def to_csv(rows: Iterable[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(_csv_line(row))
    return out.getvalue()


def export(admin: admins.Admin, chosen: Filter, limit: int = MAX_EXPORT) -> str:
    """The CSV of every row the admin may read that matches (newest first, at most `limit`); the export is
    itself audited (who exported which filter, how many rows). Not committed."""
    require_read(admin)
    events = list(db.session.scalars(_query(admin, chosen).order_by(AuditEvent.id.desc()).limit(limit + 1)))
    truncated = len(events) > limit
    rows = _rows(admin, events[:limit])
    record(EventTag.AUDIT_EXPORTED, filter=chosen.described(), rows=len(rows), truncated=truncated or None,
           scope="all" if admins.may(admin, admins.Action.VIEW_AUDIT, None) else admin.role)
    return to_csv(rows)
