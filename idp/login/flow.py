"""The sign-in plan: a context shared by stages, and the rule that the first needed stage renders next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from idp import clock
from idp.models import Client, LogoutDelivery, PendingAuthorization, SsoSession, User

@dataclass
class Flow:
    """What this sign-in has established so far; stored as JSON on the parked request."""

    pending: PendingAuthorization
    client: Client
    user: User | None = None
    state: dict = field(default_factory=dict)
    # What the browser showed of itself on this request (never saved): its trusted-device cookie and agent.
    device_token: str | None = None
    user_agent: str | None = None
    ip: str | None = None

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
    """Show the stage again, with an error (or, for a step that went well but needs more, a notice)."""

    error: str = ""
    status: int = 200
    notice: str = ""


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
    from idp.login.stages.account_allowed import AccountAllowedStage
    from idp.login.stages.change_password import ChangePasswordStage
    from idp.login.stages.consent import ConsentStage
    from idp.login.stages.enrol import EnrolStage, RecoveryCodesStage
    from idp.login.stages.password import PasswordStage
    from idp.login.stages.second_factor import SecondFactorStage

    # A new password only after the second factor: the password alone must not be enough to replace it.
    return [PasswordStage(), AccountAllowedStage(), EnrolStage(), RecoveryCodesStage(), SecondFactorStage(),
            ChangePasswordStage(), ConsentStage()]


def next_stage(flow: Flow, stages: list[Stage] | None = None) -> Stage | None:
    for stage in stages if stages is not None else plan():
        if stage.needed(flow):
            return stage
    return None


@dataclass
class Established:
    """The SSO session a finished sign-in resumes with; `cookie` is set when the browser needs a new one."""

    session: SsoSession
    cookie: str | None = None
    ended: list[LogoutDelivery] = field(default_factory=list)
    device: tuple[str, int] | None = None  # a newly trusted device: its cookie value and days


def establish_session(flow: Flow, current: SsoSession | None, ip: str | None, user_agent: str | None) -> Established:
    """Open the session a fresh sign-in earned, or renew the browser's session when the same person signed in again.

    Signing in again (prompt=login, max_age) keeps the session, so its sid and the other portals in it stay;
    only auth_time, amr and the cookie change (a copy of the old cookie stops working). Another person
    signing in ends the old session first.
    """
    from idp.login import assurance, sessions

    proven = flow.proven
    amr, acr = assurance.amr(proven), assurance.acr(proven)
    # A trusted browser proves nothing the person did now: it does not move auth_time (max_age stays honest).
    auth_time = clock.datetime_from_timestamp(max(t for method, t in proven.items() if method != "device"))
    if current is not None and current.user_id == flow.user.id:
        if assurance.session_has_mfa(current) and not assurance.second_factor_proven(proven):
            # The password again (prompt=login at a portal that asks no more) keeps the factor this
            # session already proved: it is not a reason to step up elsewhere.
            acr, amr = current.acr, sorted(set(current.amr or []) | set(amr))
        return Established(current, sessions.reauthenticate(current, amr=amr, acr=acr, auth_time=auth_time))
    ended = sessions.end(current, reason="replaced by a new sign-in") if current is not None else []
    session, cookie = sessions.start(flow.user, amr=amr, acr=acr, auth_time=auth_time,
                                     ip=ip, user_agent=user_agent)
    return Established(session, cookie, list(ended or []))
