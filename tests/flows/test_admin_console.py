"""Issue 16 part 2, first slice: the admin console at /admin (find people, a person's page, unlock, resend
activation, reset second factors, sign out everywhere, disable and enable), through the test client, and what
an attacker or an admin beyond their role sends to every route of it."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from idp import clock, sessions
from idp.accounts import admins, factors
from idp.accounts.users import create_user, phone_of
from idp.audit import EventTag
from idp.extensions import db
from idp.models import AuditEvent, Factor, LoginFailure, SsoSession, User
from idp.runtime import settings
from idp.security import lockout
from idp.sessions import devices
from tests.flows.account_helpers import path
from tests.flows.admin_helpers import PASSWORD, make_world
from tests.flows.page import text
from tests.helpers import audit_events, browser, csrf_token, english_browser
from tests.mfa_helpers import SignIn, latest_code

WRONG = "not the password at all"


@pytest.fixture
def client(app):
    return english_browser(app)


@pytest.fixture
def world(app):
    """Two organisations, an admin of each kind, a professional in each organisation, someone without a role
    (tests/flows/admin_helpers.py, shared with the audit, messages and review tests)."""
    return make_world()


def words(response) -> str:
    return text(response.get_data(as_text=True))


def follow(client, response):
    """Through /authorize and the callback, stopping at a sign-in page (/login/...) or a page."""
    while response.status_code == 302 and not path(response.location).startswith("/login/"):
        response = client.get(path(response.location))
    return response


def sign_in_at_console(app, client, person: User, target: str = "/admin/people"):
    """The real sign-in: password, then the SMS code; returns the console page it comes back to."""
    response = follow(client, client.get(target))
    assert response.status_code == 302 and path(response.location).startswith("/login/"), response.status_code
    attempt = SignIn(client, path(response.location))
    attempt.password(person.email)
    response = attempt.response
    assert response.status_code == 302 and path(response.location).startswith("/login/")
    attempt.url = path(response.location)
    assert attempt.stage == "second_factor"
    attempt.post(code=latest_code(app, phone_of(person)))
    return follow(client, attempt.response)


def session_for(client, person: User, *, mfa: bool = True, age: timedelta = timedelta(minutes=1),
                amr: list[str] | None = None) -> SsoSession:
    """A browser signed in as `person` (with or without a second factor, `age` ago), without the sign-in pages;
    `amr`: how the second factor was proven, if not by an SMS code."""
    mfa_settings = settings().mfa
    session, token = sessions.start(person, amr=amr or (["pwd", "sms", "mfa"] if mfa else ["pwd"]),
                                    acr=mfa_settings.acr_mfa if mfa else mfa_settings.acr_password,
                                    auth_time=clock.now() - age)
    db.session.commit()
    client.set_cookie(sessions.cookie_name(False), token)
    return session


def token_of(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return csrf_token(page.get_data(as_text=True))


def action_rules(app) -> list:
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]


def url_for_rule(rule, sub: str) -> str:
    return re.sub(r"<int:\w+>", "1", rule.rule.replace("<sub>", sub))  # a number: the messages page's message id


def fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def any_token(client) -> str:
    """A real CSRF token of this browser, from a page everyone signed in may open."""
    return token_of(client, "/account/profile")


def rows(model, **where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def lock(app, email: str):
    """Five wrong passwords at the sign-in, as a person would type them."""
    other = browser(app)
    response = follow(other, other.get("/account"))
    attempt = SignIn(other, path(response.location))
    for _ in range(settings().lockout.max_failures):
        attempt.password(email, WRONG)
    assert lockout.login_locked(email)


# --- a helpdesk person unlocks a locked professional, end to end --------------------------------


def test_helpdesk_unlocks_a_locked_professional(app, client, world):
    helpdesk, pro = world["helpdesk"], world["pro"]
    lock(app, pro.email)

    page = sign_in_at_console(app, client, helpdesk)
    assert page.status_code == 200 and "Find a person" in words(page)
    found = client.get("/admin/people?q=piet&status=locked")
    assert pro.email in words(found) and "Status: locked" in words(found)

    shown = client.get(f"/admin/people/{pro.sub}")
    assert "locked since" in words(shown) and "Unlock the account" in words(shown)
    assert "Disable the account" not in words(shown)  # not the helpdesk's to do
    confirm = client.get(f"/admin/people/{pro.sub}/unlock")
    assert "Yes, unlock" in words(confirm) and lockout.login_locked(pro.email)  # asking changes nothing

    token = csrf_token(confirm.get_data(as_text=True))
    done = client.post(f"/admin/people/{pro.sub}/unlock", data={"csrf_token": token})
    assert done.status_code == 302 and path(done.location) == f"/admin/people/{pro.sub}"
    assert "The account is unlocked" in words(client.get(path(done.location)))
    assert not lockout.login_locked(pro.email) and rows(LoginFailure) == 0
    [unlocked] = audit_events(EventTag.ACCOUNT_UNLOCKED)
    assert unlocked.subject_user_id == pro.id
    assert unlocked.actor == f"user:{helpdesk.sub}" and unlocked.actor_user_id == helpdesk.id

    # The professional signs in again with their password.
    theirs = browser(app)
    response = follow(theirs, theirs.get("/account"))
    attempt = SignIn(theirs, path(response.location))
    attempt.password(pro.email)
    assert follow(theirs, attempt.response).status_code == 200
    assert rows(SsoSession, user_id=pro.id, ended_at=None) == 1


# --- every action, audited with the admin as actor ----------------------------------------------


def test_an_organisation_admin_manages_a_member(app, client, world):
    admin, pro = world["org_admin"], world["pro"]
    theirs = session_for(browser(app), pro, mfa=False)
    session_for(client, admin)
    url = f"/admin/people/{pro.sub}"

    client.post(url + "/sign-out", data={"csrf_token": token_of(client, url + "/sign-out")})
    assert fresh(SsoSession, theirs.id).ended_at is not None
    client.post(url + "/disable", data={"csrf_token": token_of(client, url + "/disable")})
    assert fresh(User, pro.id).disabled_at is not None
    client.post(url + "/enable", data={"csrf_token": token_of(client, url + "/enable")})
    assert fresh(User, pro.id).disabled_at is None
    factors.add_confirmed(fresh(User, pro.id), "email")
    db.session.commit()
    client.post(url + "/reset-factors", data={"csrf_token": token_of(client, url + "/reset-factors")})
    assert rows(Factor, user_id=pro.id) == 0

    db.session.expire_all()
    tags = {str(t) for t in (EventTag.USER_SIGNED_OUT, EventTag.USER_DISABLED, EventTag.USER_ENABLED,
                             EventTag.MFA_RESET)}
    done = db.session.scalars(select(AuditEvent).where(AuditEvent.tag.in_(tags))).all()
    assert {e.tag for e in done} == tags
    assert all(e.actor == f"user:{admin.sub}" and e.actor_user_id == admin.id and e.subject_user_id == pro.id
               for e in done)


def test_resend_activation_sends_a_new_link(app, client, world):
    admin = world["deployment"]
    waiting = create_user("wim@example.org", None, name="Wim")
    from idp.accounts import activation

    activation.send_link(waiting)
    db.session.commit()
    session_for(client, admin)
    url = f"/admin/people/{waiting.sub}/resend-activation"
    client.post(url, data={"csrf_token": token_of(client, url)})
    [resent] = [e for e in audit_events(EventTag.ACTIVATION_SENT) if e.details.get("resend")]
    assert resent.subject_user_id == waiting.id and resent.actor_user_id == admin.id


def test_a_refused_action_changes_nothing_and_says_so(app, client, world):
    admin = world["deployment"]
    session_for(client, admin)
    url = f"/admin/people/{admin.sub}/disable"  # not one's own account
    response = client.post(url, data={"csrf_token": token_of(client, url)})
    assert "Nothing has been changed" in words(client.get(path(response.location)))
    assert fresh(User, admin.id).disabled_at is None


# --- who may see and do what, on every route ----------------------------------------------------


def test_every_route_is_covered_by_the_walk(app):
    endpoints = {r.endpoint for r in action_rules(app)}
    assert {"admin.index", "admin.people_page", "admin.person", "admin.unlock", "admin.resend_activation",
            "admin.reset_factors", "admin.sign_out", "admin.disable", "admin.enable"} <= endpoints


def test_an_organisation_admin_gets_404_for_another_organisations_person_on_every_route(app, client, world):
    admin, stranger = world["org_admin"], world["stranger"]
    session_for(client, admin)
    token = token_of(client, f"/admin/people/{world['pro'].sub}/disable")
    before = rows(AuditEvent)
    walked = 0
    for rule in action_rules(app):
        if "sub" not in rule.arguments:
            continue
        url = url_for_rule(rule, stranger.sub)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code == 404, (method, url, response.status_code)
            assert stranger.email not in response.get_data(as_text=True)
            walked += 1
    assert walked >= 13
    db.session.expire_all()
    assert fresh(User, stranger.id).disabled_at is None and rows(AuditEvent) == before
    # ... and a search does not find them either.
    assert stranger.email not in words(client.get("/admin/people?q=example"))
    assert stranger.email not in words(client.get("/admin/people?q=sara"))


def test_the_helpdesk_gets_403_for_what_its_role_may_not_do(app, client, world):
    helpdesk, pro = world["helpdesk"], world["pro"]
    pros = session_for(browser(app), pro, mfa=False)
    session_for(client, helpdesk)
    token = any_token(client)
    for name in ("sign-out", "disable", "enable"):
        url = f"/admin/people/{pro.sub}/{name}"
        assert client.get(url).status_code == 403
        assert client.post(url, data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert fresh(User, pro.id).disabled_at is None
    assert fresh(SsoSession, pros.id).ended_at is None


def test_an_organisation_admin_gets_403_for_an_admin_of_its_own_organisation(app, client, world):
    admin = world["org_admin"]
    colleague = create_user("otto@noord.example", PASSWORD, org=admin.org)
    admins.grant(admins.operator("test"), colleague, admins.ORGANISATION, clock.now())
    db.session.commit()
    session_for(client, admin)
    token = any_token(client)
    assert client.get(f"/admin/people/{colleague.sub}").status_code == 200  # may find them
    assert client.post(f"/admin/people/{colleague.sub}/disable", data={"csrf_token": token}).status_code == 403
    assert fresh(User, colleague.id).disabled_at is None


def test_no_admin_role_gets_403_on_every_route(app, client, world):
    nobody, pro = world["nobody"], world["pro"]
    session_for(client, nobody)
    before = rows(AuditEvent)
    for rule in action_rules(app):
        url = url_for_rule(rule, pro.sub)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method, data={"csrf_token": "x"} if method == "POST" else None)
            if method == "POST":  # the CSRF check comes first: refused either way, nothing done
                assert response.status_code in (400, 403), (method, url, response.status_code)
            else:
                assert response.status_code == 403, (method, url, response.status_code)
                assert "No access" in words(response)
    assert rows(AuditEvent) == before and fresh(User, pro.id).disabled_at is None


def test_no_role_with_a_valid_csrf_token_still_gets_403(app, client, world):
    nobody, pro = world["nobody"], world["pro"]
    session_for(client, nobody)
    token = any_token(client)
    for name in ("unlock", "disable", "sign-out", "reset-factors"):
        assert client.post(f"/admin/people/{pro.sub}/{name}", data={"csrf_token": token}).status_code == 403
    assert fresh(User, pro.id).disabled_at is None


@pytest.mark.parametrize("weak", ["password only", "too old", "trusted browser instead of a code"])
def test_a_weak_or_old_session_is_sent_to_sign_in_again(app, client, world, weak):
    admin, pro = world["org_admin"], world["pro"]
    # A good session first, for a real CSRF token; then the session that is not good enough.
    session_for(client, admin)
    token = token_of(client, f"/admin/people/{pro.sub}/disable")
    if weak == "password only":
        session_for(client, admin, mfa=False)
    elif weak.startswith("trusted browser"):  # acr says second factor, amr has no code method
        session_for(client, admin, amr=["mfa", "pwd"])
    else:
        session_for(client, admin, age=timedelta(minutes=16))
    before = rows(AuditEvent, subject_user_id=pro.id)

    for url in ("/admin/people", f"/admin/people/{pro.sub}", f"/admin/people/{pro.sub}/disable"):
        response = client.get(url)
        assert response.status_code == 302 and "/authorize?" in response.location, url
    response = client.post(f"/admin/people/{pro.sub}/disable", data={"csrf_token": token})
    assert response.status_code == 302 and "/authorize?" in response.location
    asked = parse_qs(urlsplit(response.location).query)
    assert asked["acr_values"] == [settings().mfa.acr_mfa] and asked["max_age"] == ["900"]
    assert asked["client_id"] == ["idp-admin"]
    db.session.expire_all()
    assert fresh(User, pro.id).disabled_at is None
    assert rows(AuditEvent, tag=str(EventTag.USER_DISABLED)) == 0
    assert rows(AuditEvent, subject_user_id=pro.id) == before


def test_an_old_sign_in_is_renewed_by_signing_in_again(app, client, world):
    helpdesk = world["helpdesk"]
    session_for(client, helpdesk, age=timedelta(minutes=30))
    page = sign_in_at_console(app, client, helpdesk)
    assert page.status_code == 200 and "Find a person" in words(page)


def test_without_a_session_every_route_asks_to_sign_in(app, client, world):
    pro = world["pro"]
    for rule in action_rules(app):
        response = client.get(url_for_rule(rule, pro.sub))
        assert response.status_code == 302 and "/authorize?" in response.location, rule.rule


def test_a_post_without_csrf_token_changes_nothing(app, client, world):
    admin, pro = world["org_admin"], world["pro"]
    pros = session_for(browser(app), pro, mfa=False)
    session_for(client, admin)
    for name in ("disable", "sign-out", "reset-factors", "unlock"):
        response = client.post(f"/admin/people/{pro.sub}/{name}")
        assert response.status_code in (400, 403)
        response = client.post(f"/admin/people/{pro.sub}/{name}", data={"csrf_token": "forged"})
        assert response.status_code in (400, 403)
    db.session.expire_all()
    assert fresh(User, pro.id).disabled_at is None
    assert fresh(SsoSession, pros.id).ended_at is None
    assert rows(AuditEvent, actor_user_id=admin.id) == 0


def test_the_pages_in_dutch(app, client, world):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    session_for(client, world["helpdesk"])
    found = words(client.get("/admin/people?q=piet"))
    assert "Zoek een persoon" in found
    person = words(client.get(f"/admin/people/{world['pro'].sub}"))
    assert "Ontgrendel het account" in person
    assert re.search(r"Status: actief", person)


def test_disabling_a_person_ends_the_portal_sessions_of_whoever_acts_for_them(app, client, world, make_portal):
    admin, pro = world["org_admin"], world["pro"]
    from idp.delegation import grant_written_consent
    from idp.models import SessionClient

    portal = make_portal("Patiëntenportaal", profile={"delegation": "true"})
    pro.date_of_birth = (clock.now() - timedelta(days=365 * 40)).date()
    helper = create_user("hulp@example.org", PASSWORD, name="Hulp")
    delegation = grant_written_consent("test", helper, pro, [portal.client_id], ["openid"], "signed form",
                                       clock.now())
    theirs = session_for(browser(app), helper, mfa=False)
    sessions.add_client(theirs, portal, chosen=True, delegation_id=delegation.id)
    db.session.commit()
    session_for(client, admin)

    url = f"/admin/people/{pro.sub}/disable"
    client.post(url, data={"csrf_token": token_of(client, url)})
    assert fresh(User, pro.id).disabled_at is not None
    assert rows(SessionClient, delegation_id=delegation.id) == 0  # the delegate's part for Piet ended
    assert fresh(SsoSession, theirs.id).ended_at is None  # their own session stays
    assert [e.details["why"] for e in audit_events(EventTag.DELEGATION_PORTAL_LOGGED_OUT)] == ["principal_disabled"]


def test_an_organisation_admin_finds_its_members_among_many_others(app, client, world):
    admin = world["org_admin"]
    for n in range(60):  # more matches elsewhere than one page holds
        create_user(f"piet{n}@zuid.example", PASSWORD, name=f"Piet {n}", org=world["stranger"].org)
    db.session.commit()
    session_for(client, admin)
    found = words(client.get("/admin/people?q=piet"))
    assert "piet@noord.example" in found and "zuid.example" not in found and "1 person found" in found


def test_a_trusted_browser_does_not_stand_in_for_the_code_at_the_console(app, client, world):
    """The browser is trusted (it skips the code at portals that allow it); the console's own client asks the
    code at every sign-in all the same, and offers no "trust this computer" there."""
    helpdesk = world["helpdesk"]
    _device, cookie = devices.trust(helpdesk, days=7, user_agent="Firefox", ip="127.0.0.1")
    db.session.commit()
    client.set_cookie(devices.cookie_name(False), cookie)
    response = follow(client, client.get("/admin/people"))
    attempt = SignIn(client, path(response.location))
    attempt.password(helpdesk.email)
    attempt.url = path(attempt.response.location)
    assert attempt.stage == "second_factor"
    assert 'name="trust"' not in attempt.page()
    attempt.post(code=latest_code(app, phone_of(helpdesk)))
    page = follow(client, attempt.response)
    assert page.status_code == 200 and "Find a person" in words(page)
    session = db.session.scalars(select(SsoSession).where(SsoSession.user_id == helpdesk.id)).one()
    assert "sms" in session.amr


@pytest.mark.parametrize(("role", "shown"), [
    ("deployment", ["Find a person", "New person", "Organisations", "Portals", "Audit trail",
                    "Messages not delivered"]),
    ("helpdesk", ["Find a person", "Audit trail"]),
    ("org_admin", ["Find a person", "New person", "Audit trail"]),
])
def test_the_console_names_the_parts_each_role_may_open(app, client, world, role, shown):
    session_for(client, world[role])
    page = client.get("/admin/people")
    nav = re.search(r'<nav class="console" aria-label="Administration">(.*?)</nav>', page.get_data(as_text=True),
                    re.S)
    assert nav is not None
    links = re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav.group(1))
    assert [label for _url, _current, label in links] == shown
    assert [label for _url, current, label in links if current] == ["Find a person"]
    for url, _current, _label in links:  # every part it names opens for this admin
        assert client.get(url).status_code == 200, url


def test_pages_outside_the_console_have_no_console_links(app, client, world):
    session_for(client, world["deployment"])
    assert 'class="console"' not in client.get("/account").get_data(as_text=True)
