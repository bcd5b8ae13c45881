"""The sign-in policy (idp.login.policy) driven through whole sign-ins: generated portals, people, requests and
SSO sessions, then generated outcomes of each step it asks for (a wrong or right password, a wrong or right
code, an enrolment, a trusted browser, a session that ends meanwhile, another account, a refused consent ...),
applied to the SignInState as the stages apply them. Whenever the policy has no step left (the code is issued),
everything the portal and the person require must have been proven in this sign-in, computed here from the
rules themselves: the password (typed now, or carried by a session that may stand in for it), a second factor
where one is required or the person has one the portal takes (a code of this sign-in at an "every" portal,
never a trusted browser nor the session's), the account allowed here, a password that had to change changed,
consent, and whom the person acts for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from idp.login.policy import Person, Portal, Request, Session, first_steps, required_steps
from idp.login.state import SignInState

NOW = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=400)  # any instant: the policy reads no clock
T = int(NOW.timestamp())
MFA = "urn:idp:acr:mfa"
PWD = "urn:idp:acr:pwd"
KINDS = ("sms", "email", "totp")
CODES = ("sms", "email", "totp", "recovery")
MAX_ACTIONS = 30
# Cheap pure functions, and the combinations that matter (a live session that may stand in, a portal that trusts
# no browser, a person with a factor it takes) are a few percent of the space: more examples than the default.
MANY = settings(max_examples=400)



def portals_with(mfa: st.SearchStrategy[str]) -> st.SearchStrategy[Portal]:
    return st.builds(
        Portal, mfa=mfa,
        factors=st.lists(st.sampled_from(KINDS), min_size=1, unique=True).map(tuple),
        trusted_device_days=st.sampled_from([0, 7]),
        email_domains=st.sampled_from([(), (), ("example.org",), ("business.example.org",)]),
        first_party=st.booleans(), mfa_for_everyone=st.booleans(),
        mfa_roles=st.sampled_from([frozenset(), frozenset({"professional"})]), acr_mfa=st.just(MFA),
        delegation=st.booleans())


portals = portals_with(st.sampled_from(["off", "optional", "required", "every"]))
people = st.builds(
    Person, user_id=st.just(1), sub=st.just("s1"),
    email_domain=st.sampled_from(["example.org", "business.example.org"]),
    roles=st.sampled_from([frozenset(), frozenset({"professional"})]),
    factors=st.lists(st.sampled_from(KINDS), unique=True).map(tuple),
    password_change=st.sampled_from([None, "temporary", "expired"]),
    consented=st.sampled_from([frozenset(), frozenset({"openid"}), frozenset({"openid", "profile"})]),
    device_trusted=st.booleans(), delegations=st.sampled_from([frozenset(), frozenset({7})]))
requests = st.builds(
    Request, prompts=st.sampled_from([frozenset(), frozenset(), frozenset(), frozenset({"login"}),
                                      frozenset({"consent"}), frozenset({"select_account"}), frozenset({"none"}),
                                      frozenset({"login", "consent"})]),
    max_age=st.sampled_from([None, None, 0, 60, 3600]), acr_values=st.sampled_from([(), (MFA,), ("other",)]),
    hint_sub=st.sampled_from([None, None, "s1", "someone-else"]),
    scopes=st.sampled_from([frozenset({"openid"}), frozenset({"openid", "profile"})]))
# Every SSO session was opened by a sign-in that typed the password; its second factor a code, a trusted
# browser (acr mfa without a code's amr), or none.
sessions = st.one_of(st.none(), st.builds(
    Session, sid=st.just("a"), user_id=st.just(1), sub=st.just("s1"),
    auth_time=st.sampled_from([NOW - timedelta(seconds=s) for s in (0, 5, 300, 7200)]),
    amr=st.sampled_from([("pwd",), ("mfa", "pwd", "sms"), ("mfa", "otp", "pwd"), ("mfa", "pwd")]),
    acr=st.just(PWD), alive=st.sampled_from([True, True, True, False]), person_chosen=st.booleans(),
    acting_for=st.sampled_from([None, 7, 8])).map(
        lambda s: replace(s, acr=MFA if "mfa" in s.amr else PWD)))


def session_may_stand_in(request: Request, session: Session | None) -> bool:
    """OIDC Core §3.1.2.1 as written: alive, no prompt=login, within max_age (0: never), the hint's person."""
    return (session is not None and session.alive and "login" not in request.prompts
            and (request.max_age is None or (request.max_age > 0
                                             and NOW - session.auth_time <= timedelta(seconds=request.max_age)))
            and request.hint_sub in (None, session.sub))


def assert_earned(state: SignInState, request: Request, portal: Portal, person: Person,
                  session: Session | None) -> None:
    assert state.user_id == person.user_id
    assert "pwd" in state.proven
    carried = session if state.session_sid is not None else None
    if not state.password_typed:
        assert session_may_stand_in(request, carried)
    if portal.email_domains:
        assert person.email_domain in portal.email_domains
    proven = set(state.proven)
    codes_here = proven & (set(portal.factors) | {"recovery"})
    if portal.mfa == "every":
        assert codes_here, "an 'every' portal wants a code of this sign-in"
    elif (portal.mfa == "required" or portal.mfa_for_everyone or person.roles & portal.mfa_roles
          or MFA in request.acr_values or (portal.mfa == "optional" and set(person.factors) & set(portal.factors))):
        by_session = carried is not None and carried.acr == MFA and (
            bool({"sms", "otp"} & set(carried.amr)) or portal.trusted_device_days > 0)
        by_browser = "device" in proven and person.device_trusted and portal.trusted_device_days > 0
        assert codes_here or by_session or by_browser, "a second factor was required"
    if "recovery" in proven and portal.factors == ("sms",):
        assert "sms" in proven  # a lost phone is replaced before a recovery code signs in here
    if state.password_typed and (person.password_change or state.password_weak):
        assert state.password_changed
    if not portal.first_party and ("consent" in request.prompts or not request.scopes <= person.consented):
        assert state.consented
    if portal.delegation and person.delegations:
        assert state.person_chosen and (state.acting_for is None or state.acting_for in person.delegations)
    assert state.recovery_codes is None


@MANY
@given(portal=portals, person=people, request=requests, session=sessions, data=st.data())
@example(portal=Portal(mfa="every", factors=("sms",), trusted_device_days=7),
         person=Person(user_id=1, sub="s1", email_domain="example.org", factors=("sms",), device_trusted=True),
         request=Request(), session=Session(sid="a", user_id=1, sub="s1", auth_time=NOW, amr=("mfa", "pwd", "sms"),
                                            acr=MFA), data=None)
@example(portal=Portal(mfa="required", factors=("sms",), trusted_device_days=0),  # seed 001 trusts no browser
         person=Person(user_id=1, sub="s1", email_domain="example.org", factors=("sms",)),
         request=Request(), session=Session(sid="a", user_id=1, sub="s1", auth_time=NOW, amr=("mfa", "pwd"),
                                            acr=MFA), data=None)
@example(portal=Portal(mfa="off"), person=Person(user_id=1, sub="s1", email_domain="example.org"),
         request=Request(max_age=0), session=Session(sid="a", user_id=1, sub="s1", auth_time=NOW, amr=("pwd",),
                                                     acr=PWD), data=None)
def test_no_code_is_issued_before_every_required_step_was_proven(portal, person, request, session, data):
    if portal.trusted_device_days == 0:
        person = replace(person, device_trusted=False)  # facts.person_of: no browser is honoured for 0 days

    def draw(strategy, default):
        return data.draw(strategy) if data is not None else default

    at_start = person if session is not None else None  # /authorize knows the session's person only
    state, steps = first_steps(request, portal, at_start, session, NOW)
    if steps and "none" in request.prompts:
        return  # prompt=none: the portal gets an error, no code
    for _ in range(MAX_ACTIONS):
        known = person if state.user_id is not None else None
        base = session if state.session_sid is not None else None
        steps = required_steps(state, request, portal, known, base, NOW)
        if not steps:
            assert known is not None
            assert_earned(state, request, portal, person, base)
            return
        step = steps[0]
        if session is not None and session.alive and draw(st.integers(0, 9), 1) == 0:
            session = replace(session, alive=False)  # logged out elsewhere meanwhile
            continue
        outcome = draw(st.sampled_from(["right", "right", "right", "wrong", "other"]), "right")
        if outcome == "wrong":
            continue  # a wrong password or code, a form sent empty: nothing is proven
        at = T
        if step.stage in ("start_over",) or (step.stage == "account_allowed" and outcome == "other"):
            state = SignInState()
        elif step.stage == "password":
            state.user_id, state.password_typed = person.user_id, True
            state.password_weak = draw(st.booleans(), False)
            state.prove("pwd", at)
        elif step.stage == "second_factor":
            kinds = [*step.kinds, "recovery"] if person.factors else list(step.kinds)
            if kinds:
                state.prove(draw(st.sampled_from(kinds), kinds[0]), at)
        elif step.stage == "trusted_device":
            state.prove("device", at)
        elif step.stage == "enrol":
            kind = draw(st.sampled_from(step.kinds), step.kinds[0])
            if not person.factors and draw(st.booleans(), True):
                state.recovery_codes = "encrypted codes"
            person = replace(person, factors=(kind, *[k for k in person.factors if k != kind]))
            state.prove(kind, at)
        elif step.stage == "recovery_codes":
            state.recovery_codes = None
        elif step.stage == "change_password":
            state.password_changed, state.password_weak = True, False
            person = replace(person, password_change=None)
        elif step.stage == "choose_person":
            state.person_chosen = True
            state.acting_for = draw(st.sampled_from([None, *sorted(person.delegations)]), None)
        elif step.stage == "consent":
            if outcome == "other":
                return  # refused: access_denied, no code
            state.consented = True
        elif step.stage != "account_allowed":
            raise AssertionError(f"a step no stage handles: {step}")


@MANY
@given(portal=portals_with(st.just("every")), person=people, request=requests, session=sessions.filter(bool))
def test_an_every_portal_never_takes_a_browser_or_the_sessions_code(portal, person, request, session):
    """Whatever the session and the browser proved before, the state they give this sign-in is not enough."""
    # A live session that may stand in for the password, of a person this portal takes, with a factor it takes.
    request = replace(request, prompts=request.prompts - {"login", "none"}, max_age=None, hint_sub=None)
    session = replace(session, alive=True)
    person = replace(person, email_domain=portal.email_domains[0] if portal.email_domains else person.email_domain,
                     factors=(portal.factors[0], *person.factors))
    state, steps = first_steps(request, portal, person, session, NOW)
    assert steps[0].stage == "second_factor"
    state.prove("device", T)
    assert state.session_sid is not None
    assert required_steps(state, request, portal, person, session, NOW)[0].stage == "second_factor"
