"""Who else is involved in a sign-in (seed 002: "u bepaalt zelf wie toegang krijgt: een contactpersoon of
familielid"): the contact persons of the client (the provider's `delegates` claim, scope `delegations`) and the
person who signed in for the client (RFC 8693's `act` claim). Both are read defensively: whatever is not of the
documented shape is left out, so a surprising token never breaks a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from clients.dutch import LOCAL_TIME

RELATIONS = {"family": "familie", "contact_person": "contactpersoon"}
MAX_LISTED = 10  # the session is a cookie: a client has a few contact persons, never dozens


@dataclass(frozen=True)
class ContactPerson:
    name: str
    relation: str  # in the client's words ("familie", "contactpersoon"), or ""
    since: date | None
    until: date | None
    pending: bool  # invited, not accepted yet


def actor(claims: dict) -> dict | None:
    """Who signed in for the subject ({"sub", "name"}), or None when the person signed in as themselves."""
    act = claims.get("act")
    if not isinstance(act, dict) or not isinstance(act.get("sub"), str) or not act["sub"]:
        return None
    name = act.get("name")
    return {"sub": act["sub"], "name": name if isinstance(name, str) and name.strip() else ""}


def contact_persons(claims: dict) -> list[dict] | None:
    """The `delegates` claim as the session keeps it (plain values), or None when the provider did not send it
    (this portal may not receive it): then the page says nothing about contact persons."""
    listed = claims.get("delegates")
    if not isinstance(listed, list):
        return None
    kept = []
    for item in listed[:MAX_LISTED]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            continue
        status = item.get("status")
        if status not in ("active", "pending"):
            continue
        kept.append({"name": item["name"].strip(), "relation": RELATIONS.get(str(item.get("relation")), ""),
                     "since": _number(item.get("since")), "until": _number(item.get("until")),
                     "pending": status == "pending"})
    return kept


def shown(kept: list[dict]) -> list[ContactPerson]:
    """What the page shows, from what the session kept: accepted ones first, then invitations."""
    people = [ContactPerson(p["name"], p["relation"], _day(p["since"]), _day(p["until"]), p["pending"])
              for p in kept]
    return sorted(people, key=lambda p: p.pending)


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _day(timestamp: int | None) -> date | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).astimezone(LOCAL_TIME).date()
