"""The one sign-in policy, table-driven: seed portals × people × sessions → the steps still required and why.

The policy is a pure function of plain values, so these tests need no app and no database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from idp.login.policy import Person, Portal, Request, Session, Step, first_steps, prompt_none_error, required_steps
from idp.login.state import SignInState

NOW = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=400)  # any instant: nothing here reads the clock
T = int(NOW.timestamp())
MFA = "urn:idp:acr:mfa"

# The seed portals' rules (shared/seeds), as PortalProfile will give them.
ORDERING = Portal(mfa="optional")  # seed 000: professionals are stepped up by acr_values
BUSINESS = Portal(mfa="required", factors=("sms",), trusted_device_days=0,  # seed 001
                  email_domains=("business.example.org",))
GP = Portal(mfa="required")  # seed 003
EVERY = Portal(mfa="every", factors=("sms",))  # seeds 001, 002: a code at every sign-in
APP_ONLY = Portal(mfa="required", factors=("totp",))
RELAXED = Portal(mfa="off")
THIRD_PARTY = Portal(mfa="off", first_party=False)
PATIENTS = Portal(mfa="required", delegation=True)  # seed 003: parents act for their children (issue 15)

NOBODY = Person(user_id=1, sub="s1", email_domain="example.org")
WITH_SMS = replace(NOBODY, factors=("sms",))
WITH_SMS_AND_DEVICE = replace(WITH_SMS, device_trusted=True)
BUSINESS_SMS = replace(WITH_SMS, email_domain="business.example.org")
TEMPORARY = replace(WITH_SMS, password_change="temporary")
PROFESSIONAL = replace(NOBODY, roles=frozenset({"professional"}))
PARENT = replace(WITH_SMS, delegations=frozenset({7}))  # may act for someone under delegation 7

PWD_SESSION = Session(sid="a", user_id=1, sub="s1", auth_time=NOW - timedelta(minutes=5), amr=("pwd",),
                      acr="urn:idp:acr:pwd")
SMS_SESSION = replace(PWD_SESSION, amr=("mfa", "pwd", "sms"), acr=MFA)
DEVICE_SESSION = replace(PWD_SESSION, amr=("mfa", "pwd"), acr=MFA)

ASK = Request(scopes=frozenset({"openid", "profile"}))


def steps(found: list[Step]) -> list[tuple[str, str]]:
    return [(s.stage, s.reason) for s in found]


@pytest.mark.parametrize(("portal", "person", "session", "request_", "expected", "prompt_none"), [
    # No session: the password, whatever the portal.
    (GP, None, None, ASK, [("password", "no_session")], "login_required"),
    (GP, WITH_SMS, replace(PWD_SESSION, alive=False), ASK, [("password", "no_session")], "login_required"),
    # A session whose password suffices.
    (ORDERING, NOBODY, PWD_SESSION, ASK, [], None),
    (RELAXED, WITH_SMS, PWD_SESSION, ASK, [], None),
    # What the request says about the session.
    (ORDERING, NOBODY, PWD_SESSION, replace(ASK, prompts=frozenset({"login"})), [("password", "prompt_login")],
     "login_required"),
    (ORDERING, NOBODY, PWD_SESSION, replace(ASK, max_age=60), [("password", "max_age")], "login_required"),
    (ORDERING, NOBODY, PWD_SESSION, replace(ASK, max_age=0), [("password", "max_age")], "login_required"),
    (ORDERING, NOBODY, PWD_SESSION, replace(ASK, max_age=600), [], None),
    (ORDERING, NOBODY, PWD_SESSION, replace(ASK, hint_sub="other"), [("password", "id_token_hint_other_user")],
     "login_required"),
    # A business portal takes business addresses only: the session's person must sign in as another.
    (BUSINESS, WITH_SMS, SMS_SESSION, ASK, [("password", "account_not_allowed")], "login_required"),
    (BUSINESS, BUSINESS_SMS, SMS_SESSION, ASK, [], None),
    # ... and trusts no browser: a session whose second factor was a trusted browser steps up.
    (BUSINESS, BUSINESS_SMS, DEVICE_SESSION, ASK, [("second_factor", "mfa")], "interaction_required"),
    (GP, WITH_SMS, DEVICE_SESSION, ASK, [], None),
    # Step-ups: the portal requires a factor, the role does, or the request asks for the level.
    (GP, WITH_SMS, PWD_SESSION, ASK, [("second_factor", "mfa")], "interaction_required"),
    (GP, WITH_SMS_AND_DEVICE, PWD_SESSION, ASK, [("trusted_device", "device_trusted")], "interaction_required"),
    (ORDERING, WITH_SMS, PWD_SESSION, replace(ASK, acr_values=(MFA,)), [("second_factor", "mfa")],
     "interaction_required"),
    (ORDERING, WITH_SMS, PWD_SESSION, ASK, [("second_factor", "mfa")], "interaction_required"),  # optional: has one
    (ORDERING, NOBODY, PWD_SESSION, replace(ASK, acr_values=(MFA,)), [("password", "mfa_enrol")], "login_required"),
    # Enrolment: someone with a factor proves it first; someone without types the password again.
    (APP_ONLY, WITH_SMS, PWD_SESSION, ASK, [("second_factor", "prove_before_enrol")], "interaction_required"),
    (APP_ONLY, WITH_SMS, SMS_SESSION, ASK, [], None),  # the session's factor counts here
    (GP, NOBODY, PWD_SESSION, ASK, [("password", "mfa_enrol")], "login_required"),
    # A code at every sign-in: neither the session's code nor a trusted browser stands in (issue 14).
    (EVERY, WITH_SMS, SMS_SESSION, ASK, [("second_factor", "mfa_every_sign_in")], "interaction_required"),
    (EVERY, WITH_SMS_AND_DEVICE, SMS_SESSION, ASK, [("second_factor", "mfa_every_sign_in")],
     "interaction_required"),
    (EVERY, NOBODY, PWD_SESSION, ASK, [("password", "mfa_enrol")], "login_required"),
    # Consent at a third-party portal, once per scope.
    (THIRD_PARTY, NOBODY, PWD_SESSION, ASK, [("consent", "consent")], "consent_required"),
    (THIRD_PARTY, replace(NOBODY, consented=frozenset({"openid", "profile"})), PWD_SESSION, ASK, [], None),
    (THIRD_PARTY, replace(NOBODY, consented=frozenset({"openid", "profile"})), PWD_SESSION,
     replace(ASK, prompts=frozenset({"consent"})), [("consent", "consent")], "consent_required"),
    # "For whom?" (issue 15): after the person's own second factor, only where the portal offers delegation and
    # they may act for someone; a choice made earlier in the session stands until the portal asks again.
    (PATIENTS, PARENT, SMS_SESSION, ASK, [("choose_person", "acting_for")], "account_selection_required"),
    (PATIENTS, PARENT, PWD_SESSION, ASK, [("second_factor", "mfa"), ("choose_person", "acting_for")],
     "interaction_required"),
    (PATIENTS, WITH_SMS, SMS_SESSION, ASK, [], None),  # nobody to act for: no page
    (GP, PARENT, SMS_SESSION, ASK, [], None),  # a portal without delegation never asks
    (PATIENTS, PARENT, replace(SMS_SESSION, person_chosen=True, acting_for=7), ASK, [], None),
    (PATIENTS, PARENT, replace(SMS_SESSION, person_chosen=True), ASK, [], None),  # chose themselves
    (PATIENTS, PARENT, replace(SMS_SESSION, person_chosen=True, acting_for=8), ASK,  # that delegation ended
     [("choose_person", "acting_for")], "account_selection_required"),
    (PATIENTS, PARENT, replace(SMS_SESSION, person_chosen=True, acting_for=7),
     replace(ASK, prompts=frozenset({"select_account"})), [("choose_person", "prompt_select_account")],
     "account_selection_required"),
])
def test_at_authorize(portal, person, session, request_, expected, prompt_none):
    state, found = first_steps(request_, portal, person, session, NOW)
    assert steps(found) == expected
    assert (prompt_none_error(found[0]) if found else None) == prompt_none
    carried = not found or found[0].stage != "password"
    # The session's person and password carry into the sign-in unless its first step is the password.
    assert (state.user_id, "pwd" in state.proven) == ((1, True) if carried else (None, False))


def typed(**proven: int) -> SignInState:
    """The state right after the password was typed in this sign-in (and whatever else was proven)."""
    return SignInState(user_id=1, proven={"pwd": T, **proven}, fresh=True, password_typed=True)


@pytest.mark.parametrize(("state", "portal", "person", "expected"), [
    (SignInState(), GP, None, [("password", "identify")]),
    (typed(), GP, WITH_SMS, [("second_factor", "mfa")]),
    (typed(), GP, WITH_SMS_AND_DEVICE, [("trusted_device", "device_trusted")]),
    (typed(), EVERY, WITH_SMS_AND_DEVICE, [("second_factor", "mfa_every_sign_in")]),
    (typed(device=T), EVERY, WITH_SMS_AND_DEVICE, [("second_factor", "mfa_every_sign_in")]),
    (typed(sms=T), EVERY, WITH_SMS_AND_DEVICE, []),
    (typed(device=T), GP, WITH_SMS_AND_DEVICE, []),
    (typed(sms=T), GP, WITH_SMS, []),
    (typed(recovery=T), GP, WITH_SMS, []),
    # A recovery code where only SMS counts: the phone is lost, a new number is proven before going on.
    (typed(recovery=T), BUSINESS, BUSINESS_SMS, [("enrol", "replace_phone")]),
    (typed(recovery=T, sms=T), BUSINESS, BUSINESS_SMS, []),
    (typed(), RELAXED, WITH_SMS, []),
    (typed(), ORDERING, NOBODY, []),
    (typed(), ORDERING, PROFESSIONAL, []),
    # A role that always needs a second factor (settings: mfa.required_roles).
    (typed(), replace(ORDERING, mfa_roles=frozenset({"professional"})), PROFESSIONAL, [("enrol", "mfa_enrol")]),
    (typed(), replace(ORDERING, mfa_for_everyone=True), NOBODY, [("enrol", "mfa_enrol")]),
    # The enrolment rule: no factor yet → enrol after the password; a factor → prove it, then enrol.
    (typed(), APP_ONLY, NOBODY, [("enrol", "mfa_enrol")]),
    (typed(), APP_ONLY, WITH_SMS, [("second_factor", "prove_before_enrol")]),
    (typed(), APP_ONLY, WITH_SMS_AND_DEVICE, [("second_factor", "prove_before_enrol")]),  # a browser is no proof
    (typed(device=T), APP_ONLY, WITH_SMS_AND_DEVICE, [("second_factor", "prove_before_enrol")]),
    (typed(sms=T), APP_ONLY, WITH_SMS, [("enrol", "mfa_enrol")]),
    (typed(recovery=T), APP_ONLY, WITH_SMS, [("enrol", "mfa_enrol")]),
    (typed(totp=T), APP_ONLY, replace(WITH_SMS, factors=("totp", "sms")), []),
    # A business portal: the wrong account first, and never a trusted browser.
    (typed(), BUSINESS, WITH_SMS, [("account_allowed", "account_not_allowed"), ("second_factor", "mfa")]),
    (typed(), BUSINESS, replace(BUSINESS_SMS, device_trusted=False), [("second_factor", "mfa")]),
    # A new password after the second factor, never before it.
    (typed(), GP, TEMPORARY, [("second_factor", "mfa"), ("change_password", "temporary")]),
    (typed(sms=T), GP, TEMPORARY, [("change_password", "temporary")]),
    (replace(typed(sms=T), password_weak=True), GP, WITH_SMS, [("change_password", "weak")]),
    (replace(typed(sms=T), password_weak=True, password_changed=True), GP, WITH_SMS, []),
    # Recovery codes are shown right after a first factor, before anything else that is left.
    (replace(typed(sms=T), recovery_codes="x"), THIRD_PARTY, WITH_SMS, [("recovery_codes", "show_once"),
                                                                        ("consent", "consent")]),
    (replace(typed(), consented=True), THIRD_PARTY, NOBODY, []),
])
def test_during_sign_in(state, portal, person, expected):
    assert steps(required_steps(state, ASK, portal, person, None, NOW)) == expected


def test_a_step_up_built_on_a_session_that_ended_starts_over():
    state = SignInState(user_id=1, proven={"pwd": T}, session_sid="a")
    assert steps(required_steps(state, ASK, GP, WITH_SMS, None, NOW)) == [("start_over", "session_ended")]
    ended = replace(PWD_SESSION, alive=False)
    assert steps(required_steps(state, ASK, GP, WITH_SMS, ended, NOW)) == [("start_over", "session_ended")]
    other = replace(PWD_SESSION, user_id=2)
    assert steps(required_steps(state, ASK, GP, WITH_SMS, other, NOW)) == [("start_over", "session_ended")]
    assert steps(required_steps(state, ASK, GP, WITH_SMS, PWD_SESSION, NOW)) == [("second_factor", "mfa")]


def test_factor_steps_offer_the_right_kinds():
    [prove] = required_steps(typed(), ASK, APP_ONLY, replace(WITH_SMS, factors=("email", "sms")), None, NOW)
    assert prove.kinds == ("email", "sms")  # the person's own, the last used first
    [enrol] = required_steps(typed(sms=T), ASK, APP_ONLY, WITH_SMS, None, NOW)
    assert enrol.kinds == ("totp",)  # the portal's
    [code] = required_steps(typed(), ASK, BUSINESS, replace(BUSINESS_SMS, factors=("totp", "sms")), None, NOW)
    assert code.kinds == ("sms",)  # only those the portal accepts


@pytest.mark.parametrize("portal", [GP, APP_ONLY, BUSINESS, ORDERING, RELAXED])
@pytest.mark.parametrize("person", [NOBODY, WITH_SMS, WITH_SMS_AND_DEVICE, replace(NOBODY, factors=("totp",))])
def test_no_factor_is_ever_added_on_the_password_alone(portal, person):
    """Whatever the portal and the person: an enrolment step for someone who has a factor comes only after a
    code of theirs was proven in this sign-in."""
    for proven in ({}, {"device": T}):
        found = required_steps(typed(**proven), replace(ASK, acr_values=(MFA,)), portal, person, None, NOW)
        assert not (person.factors and any(s.stage == "enrol" for s in found))


def test_the_state_round_trips_and_a_stale_or_tampered_one_is_refused():
    from idp.login.state import StaleState

    state = replace(typed(sms=T), factor="sms", sent=["sms"], trust_days=7)
    state.enrolment.kind = "totp"
    assert SignInState.load(state.dump()) == state
    for bad in (None, {}, {**state.dump(), "v": 0}, {**state.dump(), "surprise": 1},
                {**state.dump(), "user_id": "1"}, {**state.dump(), "user_id": True},
                {**state.dump(), "proven": {"pwd": "now"}}, {**state.dump(), "enrolment": {"kind": 3}}):
        with pytest.raises(StaleState):
            SignInState.load(bad)
