"""Download my data (issue 16 part 4): everything the provider keeps about a person, as one JSON document:
profile, second factors (never their secrets), trusted devices, sessions, connected portals, delegations, and
the audit rows about them as the activity page shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from idp import clock
from idp.accounts import activity, connected, factors
from idp.accounts.users import phone_of
from idp.audit import EventTag, record
from idp.extensions import db
from idp.models import SsoSession, User
from idp.models.delegation import Delegation
from idp.sessions import devices
from idp.sessions.devices import describe

FORMAT = "idp-my-data/1"


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _delegation(row: Delegation, user: User) -> dict[str, Any]:
    mine = row.delegate_id == user.id
    other = row.principal if mine else row.delegate
    return {"role": "acting_for" if mine else "acted_for_by", "other_person": other.name or other.email,
            "status": row.status, "basis": row.basis, "portals": list(row.portals or []),
            "scopes": list(row.scopes or []), "valid_from": _at(row.valid_from), "valid_until": _at(row.valid_until),
            "revoked_at": _at(row.revoked_at)}


def _activity(user: User) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    before = None
    while True:
        shown = activity.page(user, before)
        rows += [{"at": _at(e.at), "what": e.sentence, "how": e.how, "portal": e.portal, "from": e.origin,
                  "refused": e.failed} for e in shown.entries]
        if shown.older is None:
            return rows
        before = shown.older


def export(user: User) -> dict[str, Any]:
    """The document (audited: the person downloaded their data; not committed)."""
    sessions_ = db.session.scalars(select(SsoSession).where(SsoSession.user_id == user.id)
                                   .order_by(SsoSession.id)).all()
    delegations = db.session.scalars(select(Delegation).where(
        or_(Delegation.delegate_id == user.id, Delegation.principal_id == user.id)).order_by(Delegation.id)).all()
    document = {
        "format": FORMAT,
        "created_at": _at(clock.now()),
        "profile": {"sub": user.sub, "name": user.name, "given_name": user.given_name,
                    "family_name": user.family_name, "email": user.email, "email_verified": user.email_verified,
                    "username": user.username, "phone_number": phone_of(user), "phone_verified": user.phone_verified,
                    "locale": user.locale, "date_of_birth": user.date_of_birth.isoformat() if user.date_of_birth
                    else None, "organisation": user.organisation, "roles": list(user.roles or []),
                    "created_at": _at(user.created_at), "password_changed_at": _at(user.password_changed_at)},
        "second_factors": [{"kind": f.kind, "label": factors.label(f), "added_at": _at(f.confirmed_at),
                            "last_used_at": _at(f.last_used_at)} for f in factors.confirmed(user)],
        "trusted_devices": [{"browser": describe(d.user_agent), "ip": d.ip, "first_used_at": _at(d.created_at),
                             "last_used_at": _at(d.last_used_at), "trusted_until": _at(d.expires_at)}
                            for d in devices.list_for(user)],
        "sessions": [{"browser": describe(s.user_agent), "ip": s.ip, "started_at": _at(s.created_at),
                      "last_used_at": _at(s.last_seen_at), "ended_at": _at(s.ended_at),
                      "portals": sorted(p.client.display_name for p in s.clients if p.client is not None)}
                     for s in sessions_],
        "portals": [{"name": p.name, "client_id": p.client_id, "consented_scopes": p.scopes,
                     "consented_at": _at(p.consented_at), "last_token_at": _at(p.last_used)}
                    for p in connected.for_user(user)],
        "delegations": [_delegation(d, user) for d in delegations],
        "activity": _activity(user),
    }
    record(EventTag.USER_DATA_EXPORTED, user_id=user.id)
    return document
