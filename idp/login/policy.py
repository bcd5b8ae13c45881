"""The one sign-in policy: from what is known, the ordered steps still required and why.

A pure function of its inputs (the request, the portal, the person, the SSO session, the state, the time):
it reads, never writes, sends or marks. /authorize asks it whether a person must act (and with prompt=none
turns the first step's reason into the OAuth error); the sign-in pages ask it again after every outcome and
show the first step. Each check below is small and named; its reason code travels with the step (as
node-oidc-provider's authorize checks do). The inputs are plain values, loaded by idp/login/facts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from idp.login.state import SignInState
from idp.sessions.assurance import CODE_FACTORS, SECOND_FACTORS


@dataclass(frozen=True)
class Request:
    """What the portal asked in this authorization request."""

    prompts: frozenset[str] = frozenset()
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()
    hint_sub: str | None = None  # the subject of a valid id_token_hint
    scopes: frozenset[str] = frozenset()  # the scopes asked that this portal may have


@dataclass(frozen=True)
class Portal:
    """A portal's sign-in rules, with the deployment's settings already applied as defaults."""

    # "every" (a code at every arrival here, SSO session or trusted browser notwithstanding: seeds 001, 002),
    # "required", "optional" (asked of those who have one) or "off"
    mfa: str = "optional"
    factors: tuple[str, ...] = ("sms", "email", "totp")  # the kinds it accepts
    trusted_device_days: int = 7  # 0: no browser stands in for the second factor here
    email_domains: tuple[str, ...] = ()  # only accounts at these domains (empty: any)
    first_party: bool = True  # our own portal: no consent asked
    mfa_for_everyone: bool = False  # the deployment requires a second factor everywhere
    mfa_roles: frozenset[str] = frozenset()  # roles that always need a second factor
    acr_mfa: str = "urn:idp:acr:mfa"  # the acr value that asks for a second factor
    delegation: bool = False  # its profile offers acting for someone else (the "for whom?" page)


@dataclass(frozen=True)
class Person:
    """What the policy needs to know of the person signing in."""

    user_id: int
    sub: str
    email_domain: str
    roles: frozenset[str] = frozenset()
    factors: tuple[str, ...] = ()  # confirmed second factors, the last used first
    password_change: str | None = None  # "temporary" or "expired": the stored password must be replaced
    consented: frozenset[str] = frozenset()  # scopes this person allowed this portal before
    device_trusted: bool = False  # this browser is their trusted device, within this portal's days
    delegations: frozenset[int] = frozenset()  # the delegations they may use at this portal now (principals_of)


@dataclass(frozen=True)
class Session:
    """The browser's SSO session (or, during a step-up, the session the sign-in builds on)."""

    sid: str
    user_id: int
    sub: str
    auth_time: datetime
    amr: tuple[str, ...]
    acr: str | None
    alive: bool = True
    # Whom the person chose at this portal earlier in this session: chosen at all, and under which delegation
    # (None: themselves).
    person_chosen: bool = False
    acting_for: int | None = None


@dataclass(frozen=True)
class Step:
    """One thing still required: the stage that does it, why, and for a factor step the kinds it offers."""

    stage: str
    reason: str
    kinds: tuple[str, ...] = ()
    automatic: bool = False  # done without a page (a trusted browser stands in; a lost session starts over)


# prompt=none cannot show a page: the first step's reason becomes this error (OIDC Core §3.1.2.6).
_PROMPT_NONE_ERRORS = {"password": "login_required", "account_allowed": "login_required",
                       "enrol": "login_required", "consent": "consent_required",
                       "choose_person": "account_selection_required"}


def prompt_none_error(step: Step) -> str:
    return _PROMPT_NONE_ERRORS.get(step.stage, "interaction_required")


# --- can the browser's session stand in for the password? ----------------------------------------------


def session_reason(request: Request, portal: Portal, session: Session | None, now: datetime) -> str | None:
    """Why the SSO session cannot stand in for signing in (None: it can)."""
    if session is None or not session.alive:
        return "no_session"
    if "login" in request.prompts:
        return "prompt_login"
    # max_age=0 means "sign in now" (OIDC Core §3.1.2.1), even within the second of the last sign-in.
    if request.max_age is not None and (
            request.max_age == 0 or now > session.auth_time + timedelta(seconds=request.max_age)):
        return "max_age"
    if request.hint_sub is not None and request.hint_sub != session.sub:
        return "id_token_hint_other_user"
    return None


def account_allowed(portal: Portal, person: Person) -> bool:
    """A portal restricted to e-mail domains (business portals) takes only accounts at those domains."""
    return not portal.email_domains or person.email_domain in portal.email_domains


def session_meets(portal: Portal, session: Session) -> bool:
    """The session proved a second factor that counts here: a portal that trusts no browser wants a code."""
    if session.acr != portal.acr_mfa:
        return False
    by_browser_only = not {"sms", "otp"} & set(session.amr)
    return not (by_browser_only and portal.trusted_device_days == 0)


# --- how much this sign-in must prove ------------------------------------------------------------------


def mfa_required(request: Request, portal: Portal, person: Person) -> bool:
    """The deployment, the person's role, the portal or the request's acr_values require a second factor."""
    return (portal.mfa_for_everyone or bool(person.roles & portal.mfa_roles) or portal.mfa in ("required", "every")
            or portal.acr_mfa in request.acr_values)


def usable(portal: Portal, person: Person) -> tuple[str, ...]:
    """The person's factors this portal accepts, the last used first."""
    return tuple(kind for kind in person.factors if kind in portal.factors)


def mfa_asked(request: Request, portal: Portal, person: Person) -> bool:
    """A second factor (or a trusted browser standing in for one) is part of this sign-in."""
    return mfa_required(request, portal, person) or (portal.mfa == "optional" and bool(usable(portal, person)))


def proven_any(state: SignInState, methods: tuple[str, ...]) -> bool:
    return any(method in state.proven for method in methods)


# --- the steps -----------------------------------------------------------------------------------------


def required_steps(state: SignInState, request: Request, portal: Portal, person: Person | None,
                   session: Session | None, now: datetime) -> list[Step]:
    """The steps still required, in order. `session` is the one the state builds on (state.session_sid)."""
    if state.session_sid is not None and (session is None or not session.alive
                                          or session.user_id != state.user_id):
        # Consent or a step-up built on a session that ended meanwhile: nothing of it counts any more.
        return [Step("start_over", "session_ended", automatic=True)]
    if person is None:
        return [Step("password", "identify")]
    # A portal that wants a code at every sign-in takes no earlier proof: not the session's, not a browser's.
    every = portal.mfa == "every"
    by_session = (not every and session is not None and state.session_sid is not None
                  and session_meets(portal, session))
    enrol = mfa_required(request, portal, person) and not usable(portal, person)
    enrolment = _enrolment(state, person, portal) if enrol and not by_session and not proven_any(
        state, portal.factors) else []
    steps = [step for step in enrolment if step.stage == "password"]
    if not account_allowed(portal, person):
        steps.append(Step("account_allowed", "account_not_allowed"))
    steps += [step for step in enrolment if step.stage != "password"]
    if state.recovery_codes is not None:
        steps.append(Step("recovery_codes", "show_once"))
    if (not enrol and mfa_asked(request, portal, person) and not by_session
            and not proven_any(state, CODE_FACTORS if every else SECOND_FACTORS)):
        steps.append(Step("trusted_device", "device_trusted", automatic=True) if person.device_trusted and not every
                     else Step("second_factor", "mfa_every_sign_in" if every else "mfa", kinds=usable(portal, person)))
    if "recovery" in state.proven and portal.factors == ("sms",) and "sms" not in state.proven:
        # A recovery code at a portal that takes only SMS: the phone is lost, so a new number is set (and
        # proven by its code) before going on; it signs the person in once, never instead of the phone.
        steps.append(Step("enrol", "replace_phone", kinds=("sms",)))
    change = person.password_change or ("weak" if state.password_weak else None)
    if state.password_typed and not state.password_changed and change:
        # After the second factor: the password alone must not be enough to replace it.
        steps.append(Step("change_password", change))
    if portal.delegation and person.delegations and not person_chosen(state, person):
        # "For whom?" (issue 15): last, once the person is fully signed in as themselves.
        steps.append(Step("choose_person", "prompt_select_account" if "select_account" in request.prompts
                          else "acting_for"))
    if not portal.first_party and not state.consented and (
            "consent" in request.prompts or not request.scopes <= person.consented):
        steps.append(Step("consent", "consent"))
    return steps


def person_chosen(state: SignInState, person: Person) -> bool:
    """The person chose themselves, or someone they may still act for here."""
    return state.person_chosen and (state.acting_for is None or state.acting_for in person.delegations)


def _enrolment(state: SignInState, person: Person, portal: Portal) -> list[Step]:
    """A factor this portal accepts must be set up. Whoever has a factor already proves one of theirs
    first (NIST SP 800-63B §6.1.2.1): the password alone must never be enough to add one. Someone with
    none types the password in this sign-in (a step-up's session password is not enough)."""
    if person.factors:
        if proven_any(state, CODE_FACTORS):
            return [Step("enrol", "mfa_enrol", kinds=portal.factors)]
        return [Step("second_factor", "prove_before_enrol", kinds=person.factors)]
    if not state.fresh:
        return [Step("password", "mfa_enrol")]
    return [Step("enrol", "mfa_enrol", kinds=portal.factors)]


def first_steps(request: Request, portal: Portal, person: Person | None, session: Session | None,
                now: datetime) -> tuple[SignInState, list[Step]]:
    """At /authorize: the state a sign-in starts from and the steps it needs (none: the session suffices).

    The session's person and password carry over unless the session cannot stand in, the person may not
    use this portal, or the first step is the password anyway.
    """
    reason = session_reason(request, portal, session, now)
    if reason is None and person is not None and not account_allowed(portal, person):
        reason = "account_not_allowed"
    if reason is not None or session is None:
        return SignInState(), [Step("password", reason or "no_session")]
    state = SignInState(user_id=session.user_id, session_sid=session.sid)
    if session.person_chosen and "select_account" not in request.prompts:
        # Whom they chose at this portal in this session stands, until the portal asks again (select_account).
        state.person_chosen, state.acting_for = True, session.acting_for
    if "pwd" in session.amr:
        state.proven["pwd"] = int(session.auth_time.timestamp())
    steps = required_steps(state, request, portal, person, session, now)
    if steps and steps[0].stage == "password":
        return SignInState(), steps
    return state, steps
