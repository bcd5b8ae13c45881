"""The sign-in plan: a context shared by stages, and the rule that the first needed stage renders next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from idp.models import Client, PendingAuthorization, User


@dataclass
class Flow:
    """What this sign-in has established so far; stored as JSON on the parked request."""

    pending: PendingAuthorization
    client: Client
    user: User | None = None
    state: dict = field(default_factory=dict)

    @property
    def params(self) -> dict:
        return self.pending.params

    @property
    def proven(self) -> dict[str, int]:
        """Authentication methods (RFC 8176 amr values) proven in this flow, with the time they were proven."""
        return self.state.setdefault("proven", {})

    def save(self) -> None:
        self.state["user_id"] = self.user.id if self.user else None
        self.pending.flow = dict(self.state)  # new object, so SQLAlchemy sees the JSON change


@dataclass(frozen=True)
class Done:
    pass


@dataclass(frozen=True)
class Retry:
    error: str
    status: int = 200


@dataclass(frozen=True)
class Fail:
    """The person refused or cannot go on: the portal gets this OAuth error."""

    error: str
    description: str = ""


Result = Done | Retry | Fail


class Stage(Protocol):
    name: str
    template: str

    def needed(self, flow: Flow) -> bool: ...

    def context(self, flow: Flow) -> dict: ...

    def submit(self, flow: Flow, form) -> Result: ...


def plan() -> list[Stage]:
    from idp.login.stages.consent import ConsentStage
    from idp.login.stages.password import PasswordStage

    return [PasswordStage(), ConsentStage()]


def next_stage(flow: Flow, stages: list[Stage] | None = None) -> Stage | None:
    for stage in stages if stages is not None else plan():
        if stage.needed(flow):
            return stage
    return None


def find_stage(name: str) -> Stage | None:
    return next((s for s in plan() if s.name == name), None)
