"""A sign-in in progress: the parked request, its typed state, the steps the policy still requires, and the
session a finished sign-in opens. Stages (idp/login/stages) act on a Flow and report a Result."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from idp import clock, delegation, sessions
from idp.errors import UserFacingError
from idp.login import facts, policy
from idp.login.state import SignInState
from idp.models import Client, Delegation, PendingAuthorization, SsoSession, User
from idp.sessions import assurance, devices


class SignInExpired(UserFacingError):
    """The sign-in this browser was in is unknown, expired, or its state is stale: back to the portal."""

    message = _l("This sign-in has expired")
    page = "login/expired.html"


@dataclass
class Flow:
    """What this sign-in has established so far (`state`, saved on the parked request) and what the browser
    showed of itself on this request (never saved): its trusted-device cookie, agent and address."""

    pending: PendingAuthorization
    client: Client
    user: User | None = None
    state: SignInState = field(default_factory=SignInState)
    device_token: str | None = None
    user_agent: str | None = None
    ip: str | None = None

    @property
    def params(self) -> dict:
        return self.pending.params

    def save(self) -> None:
        self.state.user_id = self.user.id if self.user else None
        self.pending.flow = self.state.dump()  # a new object, so SQLAlchemy sees the JSON change

    def start_over(self) -> None:
        """Forget who is signing in and all they proved: the next step is the password."""
        self.user, self.state = None, SignInState()


def acting_under(state: SignInState) -> Delegation | None:
    """The delegation the person chose to act under (None: themselves, or nothing to choose)."""
    return delegation.get(state.acting_for) if state.person_chosen and state.acting_for is not None else None


def steps(flow: Flow) -> list[policy.Step]:
    """Ask the policy what this sign-in still needs."""
    base = sessions.by_sid(flow.state.session_sid) if flow.state.session_sid else None
    return policy.required_steps(
        flow.state, facts.request_of(flow.params, flow.client), facts.portal_of(flow.client),
        facts.person_of(flow.user, flow.client, flow.device_token, flow.user_agent), facts.session_of(base),
        clock.now())


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


@dataclass
class Established:
    """The SSO session a finished sign-in resumes with; `cookie` is set when the browser needs a new one."""

    session: SsoSession
    cookie: str | None = None
    device: tuple[str, int] | None = None  # a newly trusted device: its cookie value and days


def establish_session(flow: Flow, current: SsoSession | None, ip: str | None, user_agent: str | None) -> Established:
    """Open the session a fresh sign-in earned, or renew the browser's session when the same person signed in again.

    Signing in again (prompt=login, max_age) keeps the session, so its sid and the other portals in it stay;
    only auth_time, amr and the cookie change (a copy of the old cookie stops working). Another person
    signing in ends the old session first.
    """
    if flow.user is None:
        raise ValueError("a sign-in without a person cannot open a session")
    established = _establish_session(flow, flow.user, current, ip, user_agent)
    established.device = _renewed_device(flow)
    return established


def _renewed_device(flow: Flow) -> tuple[str, int] | None:
    """A trusted browser that stood in for the second factor gets a new cookie value with the session: the old
    value stops working (a copy of it dies now). None when no trusted browser was used (or one is trusted now)."""
    if flow.user is None or "device" not in flow.state.proven or flow.state.trust_days:
        return None
    device = devices.find(flow.user, flow.device_token, user_agent=flow.user_agent)
    return devices.renew(device) if device is not None else None


def _establish_session(flow: Flow, user: User, current: SsoSession | None, ip: str | None,
                       user_agent: str | None) -> Established:
    proven = flow.state.proven
    amr, acr = assurance.amr(proven), assurance.acr(proven)
    # A trusted browser proves nothing the person did now: it does not move auth_time (max_age stays honest).
    auth_time = clock.datetime_from_timestamp(max(t for method, t in proven.items() if method != "device"))
    if current is not None and current.user_id == user.id:
        if assurance.session_has_mfa(current) and not assurance.second_factor_proven(proven):
            # The password again (prompt=login at a portal that asks no more) keeps the factor this
            # session already proved: it is not a reason to step up elsewhere.
            acr, amr = current.acr, sorted(set(current.amr or []) | set(amr))
        return Established(current, sessions.reauthenticate(current, amr=amr, acr=acr, auth_time=auth_time,
                                                                      client_id=flow.client.client_id))
    if current is not None:  # its portals are told once this commits
        sessions.end(current, reason="replaced by a new sign-in")
    session, cookie = sessions.start(user, amr=amr, acr=acr, auth_time=auth_time,
                                     ip=ip, user_agent=user_agent, client_id=flow.client.client_id)
    return Established(session, cookie)
