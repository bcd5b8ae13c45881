"""What a sign-in has established so far: one typed, versioned object, stored as JSON on the parked request.

Stages record outcomes here; the policy (idp/login/policy.py) reads it. It is serialised in one place
(`dump`/`load`); a state of another version or shape (a request parked before an upgrade, a row edited by
hand) is refused with StaleState, which the sign-in pages show as an expired sign-in.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

VERSION = 1


class StaleState(Exception):
    """The stored state is of another version or shape: the sign-in starts again at the portal."""


@dataclass
class Enrolment:
    """How far the person got in setting up a first factor during sign-in."""

    kind: str | None = None
    step: str = "start"  # "start" (choose or type the number) or "code"


@dataclass
class SignInState:
    user_id: int | None = None
    login: str = ""  # the name typed, to fill the form in again
    # Authentication methods proven (password "pwd", "sms", "email", "totp", "recovery", "device"), each with
    # the unix time it was proven; a step-up starts with the password its session proved.
    proven: dict[str, int] = field(default_factory=dict)
    fresh: bool = False  # something was proven in this sign-in: the session is opened or renewed
    session_sid: str | None = None  # a step-up or consent builds on this SSO session's proof
    password_typed: bool = False  # the password was typed in this sign-in (not carried by a session)
    password_weak: bool = False  # ... and falls short of this portal's policy (known only when typed)
    password_changed: bool = False
    password_results: list[dict[str, Any]] | None = None  # the rules a refused new password failed
    factor: str | None = None  # the factor the person chose with "use another way"
    sent: list[str] = field(default_factory=list)  # kinds whose first code this sign-in has sent
    enrolment: Enrolment = field(default_factory=Enrolment)
    recovery_codes: str | None = None  # encrypted; shown once, right after the first factor
    trust_days: int = 0  # "trust this computer" was ticked: for this many days
    consented: bool = False
    # "For whom?" (issue 15): whether the person chose, and the delegation they act under (None: themselves).
    person_chosen: bool = False
    acting_for: int | None = None

    def prove(self, method: str, at: int) -> None:
        self.proven[method] = at
        self.fresh = True

    def dump(self) -> dict[str, Any]:
        return {"v": VERSION, **dataclasses.asdict(self)}

    @classmethod
    def load(cls, data: object) -> SignInState:
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise StaleState("unknown version")
        # A copy: changing a list in place must not change what SQLAlchemy compares the saved JSON with.
        values = {k: v for k, v in copy.deepcopy(data).items() if k != "v"}
        if set(values) - _TYPES.keys():
            raise StaleState("unknown fields")
        for name, value in values.items():
            if not _TYPES[name](value):
                raise StaleState(f"bad {name}")
        enrolment = values.pop("enrolment", None) or {}
        return cls(**values, enrolment=Enrolment(**enrolment))


def user_id_of(data: object) -> int | None:
    """The person a stored state is about, without loading the rest (the throttle key needs only this)."""
    user_id = data.get("user_id") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def _is(kind: type) -> Any:
    # bool is an int to Python; a stored True must not pass for a user id.
    return lambda v: isinstance(v, kind) and (kind is bool or not isinstance(v, bool))


def _optional(kind: type) -> Any:
    check = _is(kind)
    return lambda v: v is None or check(v)


def _list_of(kind: type) -> Any:
    return lambda v: isinstance(v, list) and all(_is(kind)(x) for x in v)


def _enrolment(v: object) -> bool:
    return (isinstance(v, dict) and set(v) <= {"kind", "step"} and _optional(str)(v.get("kind"))
            and _is(str)(v.get("step", "start")))


_TYPES = {
    "user_id": _optional(int), "login": _is(str),
    "proven": lambda v: isinstance(v, dict) and all(_is(str)(k) and _is(int)(t) for k, t in v.items()),
    "fresh": _is(bool), "session_sid": _optional(str), "password_typed": _is(bool), "password_weak": _is(bool),
    "password_changed": _is(bool), "password_results": lambda v: v is None or _list_of(dict)(v),
    "factor": _optional(str), "sent": _list_of(str), "enrolment": _enrolment,
    "recovery_codes": _optional(str), "trust_days": _is(int), "consented": _is(bool),
    "person_chosen": _is(bool), "acting_for": _optional(int),
}
