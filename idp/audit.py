"""Security events: one typed tag per kind of event, one record per event."""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import insert

from idp import after_commit, clock, metrics
from idp.extensions import db
from idp.models.audit import AuditEvent

log = logging.getLogger(__name__)


class EventTag(StrEnum):
    LOGIN_PASSWORD_SUCCESS = "login:password:success"
    LOGIN_PASSWORD_FAILURE = "login:password:failure"
    LOGIN_SESSION_STARTED = "login:session:started"
    LOGOUT = "logout"
    CONSENT_GRANTED = "consent:granted"
    CONSENT_DENIED = "consent:denied"
    TOKEN_ISSUED = "token:issued"
    TOKEN_REVOKED = "token:revoked"
    REFRESH_REUSE_DETECTED = "token:refresh:reuse"
    CODE_REUSE_DETECTED = "token:code:reuse"
    BACKCHANNEL_LOGOUT_SENT = "logout:backchannel:sent"
    BACKCHANNEL_LOGOUT_FAILED = "logout:backchannel:failed"
    KEY_ROTATED = "key:rotated"
    USER_CREATED = "user:created"
    USER_DISABLED = "user:disabled"
    USER_ENABLED = "user:enabled"
    USER_UPDATED = "user:updated"
    USER_SIGNED_OUT = "user:signed-out"
    USER_ERASED = "user:erased"
    MFA_RESET = "mfa:factors:reset"
    USER_REGISTERED = "user:registered"
    REGISTRATION_REQUESTED = "user:registration:requested"
    USER_PASSWORD_CHANGED = "user:password:changed"
    CLIENT_CREATED = "client:created"
    CLIENT_REMOVED = "client:removed"
    CLIENT_SECRET_ROTATED = "client:secret:rotated"
    CLIENT_UPDATED = "client:updated"
    CLIENT_DISABLED = "client:disabled"
    CLIENT_ENABLED = "client:enabled"
    MFA_CODE_SENT = "mfa:code:sent"
    MFA_CODE_ACCEPTED = "mfa:code:accepted"
    MFA_CODE_REJECTED = "mfa:code:rejected"
    MFA_ENROLLED = "mfa:factor:enrolled"
    MFA_REMOVED = "mfa:factor:removed"
    MFA_RECOVERY_CODES_CREATED = "mfa:recovery:created"
    MFA_RECOVERY_CODE_USED = "mfa:recovery:used"
    MFA_DEVICE_USED = "mfa:device:used"
    MFA_STEP_UP = "mfa:step-up"
    DEVICE_TRUSTED = "device:trusted"
    DEVICE_REVOKED = "device:revoked"
    MESSAGE_SENT = "message:sent"
    MESSAGE_DEAD = "message:dead"
    ACCOUNT_LOCKED = "account:locked"
    ACCOUNT_UNLOCKED = "account:unlocked"
    ACCOUNT_ACTIVATED = "account:activated"
    ACTIVATION_SENT = "account:activation:sent"
    ACTIVATION_BIRTH_DATE_FAILED = "account:activation:birth-date:failure"
    ACTIVATION_WITHDRAWN = "account:activation:withdrawn"
    PASSWORD_RESET_REQUESTED = "password:reset:requested"
    PASSWORD_RESET = "password:reset"
    DELEGATION_GRANTED = "delegation:granted"
    DELEGATION_CONSENTED = "delegation:consented"
    DELEGATION_REVOKED = "delegation:revoked"
    DELEGATION_EXPIRED = "delegation:expired"
    DELEGATION_NOTICE_SENT = "delegation:notice:sent"
    DELEGATION_INVITED = "delegation:invited"
    DELEGATION_ACCEPTED = "delegation:accepted"
    DELEGATION_SIGN_IN = "delegation:sign-in"
    DELEGATION_PORTAL_LOGGED_OUT = "delegation:portal:logged-out"
    ORGANISATION_CREATED = "organisation:created"
    ORGANISATION_UPDATED = "organisation:updated"
    ORGANISATION_REMOVED = "organisation:removed"
    ORGANISATION_MEMBER_ADDED = "organisation:member:added"
    ORGANISATION_MEMBER_REMOVED = "organisation:member:removed"
    ADMIN_ROLE_GRANTED = "admin:role:granted"
    ADMIN_ROLE_REVOKED = "admin:role:revoked"
    # The account pages (issue 16 part 4).
    USER_NAME_CHANGED = "user:name:changed"
    USER_EMAIL_CHANGE_REQUESTED = "user:email:change-requested"
    USER_EMAIL_CHANGED = "user:email:changed"
    USER_PHONE_CHANGED = "user:phone:changed"
    CONSENT_REVOKED = "consent:revoked"
    USER_DATA_EXPORTED = "user:data:exported"
    USER_SELF_DELETED = "user:deleted:self"
    # The admin console's audit and messages pages (issue 16 part 2).
    AUDIT_EXPORTED = "audit:exported"
    MESSAGE_RETRIED = "message:retried"
    # A message never sent: the code it carries was replaced, used or expired (issue 17 part 5).
    MESSAGE_CANCELLED = "message:cancelled"


# Steps only the person themselves can take (each needs their password, a code, a link sent to them or a
# signed-in session): from a browser, the subject of such a row is also the one who acted. Anything else
# (a wrong password, a reset asked by anyone, the CLI, the worker) leaves the acting person open.
SELF_ACTS = frozenset({
    EventTag.LOGIN_PASSWORD_SUCCESS, EventTag.LOGIN_SESSION_STARTED, EventTag.LOGOUT, EventTag.CONSENT_GRANTED,
    EventTag.CONSENT_DENIED, EventTag.TOKEN_ISSUED, EventTag.USER_REGISTERED, EventTag.USER_PASSWORD_CHANGED,
    EventTag.MFA_CODE_ACCEPTED, EventTag.MFA_ENROLLED, EventTag.MFA_REMOVED, EventTag.MFA_RECOVERY_CODES_CREATED,
    EventTag.MFA_RECOVERY_CODE_USED, EventTag.MFA_DEVICE_USED, EventTag.MFA_STEP_UP, EventTag.DEVICE_TRUSTED,
    EventTag.DEVICE_REVOKED, EventTag.ACCOUNT_ACTIVATED, EventTag.PASSWORD_RESET,
    EventTag.USER_NAME_CHANGED, EventTag.USER_EMAIL_CHANGE_REQUESTED, EventTag.USER_EMAIL_CHANGED,
    EventTag.USER_PHONE_CHANGED, EventTag.CONSENT_REVOKED, EventTag.USER_DATA_EXPORTED, EventTag.USER_SELF_DELETED,
})
WEB = "web"


@dataclass(frozen=True)
class Origin:
    """Where an event came from: set once per HTTP request by the web layer, or by the CLI."""

    ip: str | None = None
    user_agent: str | None = None
    actor: str | None = None
    # The account of whoever acts for the whole request (an admin at the console), recorded on every row.
    actor_user_id: int | None = None


_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar(
    "audit_origin", default=Origin(actor="system")  # noqa: B039  (Origin is a frozen dataclass)
)


def set_origin(origin: Origin) -> contextvars.Token:
    return _origin.set(origin)


def record(
    tag: EventTag,
    *,
    outcome: str = "success",
    user_id: int | None = None,
    client_id: str | None = None,
    actor: str | None = None,
    actor_user_id: int | None = None,
    **details,
) -> AuditEvent:
    """Add an audit record to the current transaction (it commits with the change it describes). `actor`: who
    acted, when not where the request came from (a delegate acting for the subject: "user:<sub>");
    `actor_user_id`: that person's account, or by default the subject's own for a step in SELF_ACTS taken at a
    browser."""
    event = AuditEvent(**_row(tag, outcome, user_id, client_id, actor, actor_user_id, details))
    db.session.add(event)
    # Logged and counted once the event is committed (a rolled-back sign-in step counts nothing).
    after_commit.collect("idp.audit", (event.tag, outcome, event.details, client_id, user_id), _committed)
    return event


def record_now(
    tag: EventTag,
    *,
    outcome: str = "success",
    user_id: int | None = None,
    client_id: str | None = None,
    actor: str | None = None,
    actor_user_id: int | None = None,
    **details,
) -> None:
    """`record` for a hot path that needs no AuditEvent back (the token endpoint): the same row, written at once
    with one INSERT in the current transaction, without the ORM's unit of work."""
    row = _row(tag, outcome, user_id, client_id, actor, actor_user_id, details)
    db.session.execute(_INSERT, row)
    after_commit.collect("idp.audit", (row["tag"], outcome, row["details"], client_id, user_id), _committed)


_INSERT = insert(AuditEvent.__table__)


def _row(tag: EventTag, outcome: str, user_id: int | None, client_id: str | None, actor: str | None,
         actor_user_id: int | None, details: dict[str, Any]) -> dict[str, Any]:
    origin = _origin.get()
    if actor_user_id is None and actor is None:
        actor_user_id = origin.actor_user_id
    if (actor_user_id is None and actor is None and origin.actor == WEB and outcome == "success"
            and tag in SELF_ACTS):
        actor_user_id = user_id
    return {
        "tag": str(tag),
        "at": clock.now(),
        "outcome": outcome,
        "actor": actor or origin.actor,
        "subject_user_id": user_id,
        "actor_user_id": actor_user_id,
        "client_id": client_id,
        "ip": origin.ip,
        "user_agent": (origin.user_agent or "")[:300] or None,
        "details": {k: v for k, v in details.items() if v is not None},
    }


def _committed(events: list[tuple[str, str, dict[str, Any], str | None, int | None]]) -> None:
    """After the commit: one log line per security event (tag, outcome, portal, account id; never its details,
    which may hold a session id) carrying the request id, and the metrics counters."""
    for tag, outcome, _details, client_id, user_id in events:
        log.info("audit %s %s", tag, outcome, extra={"event": tag, "outcome": outcome, "client_id": client_id,
                                                       "user_id": user_id})
    metrics.count((tag, outcome, details) for tag, outcome, details, _client, _user in events)
