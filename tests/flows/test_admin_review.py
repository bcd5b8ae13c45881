"""A security review of the admin console (/admin) as an attacker: an organisation admin reaching beyond their
organisation, forged form fields, odd filter values, a revoked admin still signed in, headers against framing.
Each test asserts what must (not) be in the database or on the page, not only a status code."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.accounts import admins
from idp.extensions import db
from idp.messaging import send
from idp.models import AdminRole, AuditEvent, Client, Organisation, OutboxMessage, User
from idp.models.client import ADMIN_CLIENT_ID
from idp.runtime import settings
from tests.flows.admin_helpers import make_world
from tests.flows.test_admin_console import fresh, session_for, token_of, words
from tests.helpers import english_browser


@pytest.fixture
def client(app):
    return english_browser(app)


@pytest.fixture
def world(app):
    return make_world()


def count(model, **where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def snapshot() -> dict:
    """What an attack must leave as it was: every person, organisation, portal, admin role and message."""
    db.session.expire_all()
    return {
        "users": sorted((u.id, u.email, u.name, u.disabled_at, tuple(u.roles or []), u.organisation_id)
                        for u in db.session.scalars(select(User))),
        "orgs": sorted((o.id, o.code, o.name, tuple(o.email_domains or [])) for o in db.session.scalars(
            select(Organisation))),
        "clients": sorted((c.client_id, c.name, c.disabled_at, c.client_secret_hash if hasattr(c, "client_secret_hash")
                           else None, repr(c.profile)) for c in db.session.scalars(select(Client))),
        "roles": sorted((r.user_id, r.role, r.organisation_id) for r in db.session.scalars(select(AdminRole))),
        "messages": sorted((m.id, m.status, m.attempts) for m in db.session.scalars(select(OutboxMessage))),
    }


# --- an organisation admin, every console route, with objects of another organisation or the deployment ------


def test_an_organisation_admin_reaches_nothing_beyond_their_organisation_on_any_route(app, client, world,
                                                                                       make_portal):
    admin, stranger = world["org_admin"], world["stranger"]
    portal = make_portal("Apotheekportaal")
    message = send("email", stranger.email, "login_code", user=stranger, code="KXRTWP", minutes=5,
                   portal="Apotheekportaal")
    message.status, message.attempts = "dead", settings().messaging.max_attempts
    db.session.commit()
    fill = {"sub": stranger.sub, "client_id": portal.client_id, "code": "zuid", "message_id": str(message.id)}
    session_for(client, admin)
    token = token_of(client, f"/admin/people/{world['pro'].sub}/disable")
    before, audit_rows = snapshot(), count(AuditEvent)
    walked = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: fill[m.group(1)], rule.rule)
        if url == rule.rule and rule.endpoint in ("admin.index", "admin.people_page", "admin.new_person",
                                                   "admin.audit", "admin.audit_csv"):
            continue  # pages an organisation admin may open (tested on their own below and elsewhere)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code in (403, 404), (method, url, response.status_code)
            body = response.get_data(as_text=True)
            assert stranger.email not in body and portal.name not in body and "Zorggroep Zuid" not in body, url
            walked.add((method, rule.rule))
    assert len(walked) >= 30, sorted(walked)
    assert snapshot() == before and count(AuditEvent) == audit_rows


def test_every_console_page_refuses_to_be_framed(app, client, world):
    session_for(client, world["deployment"])
    for url in ("/admin/people", f"/admin/people/{world['pro'].sub}", "/admin/people/new", "/admin/audit",
                "/admin/messages", "/admin/portals", "/admin/organisations"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], url


# --- the new-person form, forged ----------------------------------------------------------------------------

NEW = "/admin/people/new"


def new_form(client, **fields) -> dict:
    data = {"csrf_token": token_of(client, NEW), "name": "Zoe", "email": "zoe@noord.example", "username": "",
            "date_of_birth": "", "phone": "", "roles": "", "portal": ""}
    data.update(fields)
    return data


@pytest.mark.parametrize("organisation", ["zuid", "Zorggroep Zuid", "id"])
def test_an_organisation_admin_cannot_make_someone_in_another_organisation_by_its_code_name_or_id(
        app, client, world, make_portal, organisation):
    portal = make_portal("Zakelijk portaal")
    other = db.session.scalar(select(Organisation).where(Organisation.code == "zuid"))
    session_for(client, world["org_admin"])
    forged = str(other.id) if organisation == "id" else organisation
    users = count(User)
    response = client.post(NEW, data=new_form(client, email="zoe@zuid.example", organisation=forged,
                                              portal=portal.client_id))
    assert response.status_code == 403 and "zoe@zuid.example" not in response.get_data(as_text=True)
    assert count(User) == users and count(User, email="zoe@zuid.example") == 0


@pytest.mark.parametrize("organisation", ["²", "9" * 30, "-1"])
def test_an_organisation_field_that_looks_like_a_number_but_is_none_is_an_error_beside_it(
        app, client, world, make_portal, organisation):
    portal = make_portal("Zakelijk portaal")
    session_for(client, world["deployment"])
    users = count(User)
    response = client.post(NEW, data=new_form(client, email="zoe@example.org", organisation=organisation,
                                              portal=portal.client_id))
    assert response.status_code == 200 and "Choose an organisation." in words(response)
    assert "zoe@example.org" in response.get_data(as_text=True)  # what was typed is kept
    assert count(User) == users


@pytest.mark.parametrize("forged", ["admin", "scim"])
def test_an_account_is_made_only_for_a_portal_the_form_offers(app, client, world, make_portal, forged):
    """Not for the console's own built-in client, nor for a machine client (a SCIM provisioning client)."""
    make_portal("Zakelijk portaal")
    if forged == "admin":
        client.get("/admin/people")  # the built-in console client is registered on first use
        client_id = ADMIN_CLIENT_ID
    else:
        machine = make_portal("Provisioning", service=True, redirect_uris=[])
        client_id = machine.client_id
    assert db.session.scalar(select(Client).where(Client.client_id == client_id)) is not None
    session_for(client, world["org_admin"])
    users = count(User)
    response = client.post(NEW, data=new_form(client, portal=client_id))
    assert "Choose the portal the account is for" in words(response)
    assert count(User) == users and count(User, email="zoe@noord.example") == 0
    assert count(OutboxMessage) == 0


# --- the audit filter: odd values -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    {"since": "0001-01-01"}, {"until": "9999-12-31"}, {"since": "0001-01-01", "until": "9999-12-31"},
])
def test_dates_at_the_ends_of_the_calendar_do_not_break_the_audit(app, client, world, args):
    session_for(client, world["deployment"])
    client.get("/admin/people?q=piet")  # something audited to find
    response = client.get("/admin/audit", query_string=args)
    assert response.status_code == 200 and "Type a date as yyyy-mm-dd" in words(response)
    exported = client.get("/admin/audit.csv", query_string=args)
    assert exported.status_code == 400 and b"time,actor" not in exported.data


@pytest.mark.parametrize("before", ["²", "-1", "0", "1" * 19, "1e3"])
def test_an_odd_page_number_is_not_found(app, client, world, before):
    session_for(client, world["deployment"])
    response = client.get("/admin/audit", query_string={"before": before})
    assert response.status_code == 404 and "Page not found" in words(response)


def test_wildcards_in_the_audit_filter_widen_nothing(app, client, world):
    admin, stranger = world["org_admin"], world["stranger"]
    session_for(english_browser(app), stranger)  # the stranger has audit rows of their own
    session_for(client, admin)
    for field in ("person", "actor"):
        for value in ("%", "_", "%@%", "%zuid%", "*"):
            page = client.get("/admin/audit", query_string={field: value}).get_data(as_text=True)
            assert stranger.sub not in page and stranger.email not in page, (field, value)
            exported = client.get("/admin/audit.csv", query_string={field: value}).get_data(as_text=True)
            assert stranger.sub not in exported and stranger.email not in exported, (field, value)


# --- messages: ids that name nothing --------------------------------------------------------------------------


@pytest.mark.parametrize("message_id", ["99999999999999999999999", "9223372036854775808"])
def test_a_message_id_beyond_any_row_is_not_found(app, client, world, message_id):
    session_for(client, world["deployment"])
    token = token_of(client, "/account/profile")
    shown = client.get(f"/admin/messages/{message_id}/retry")
    assert shown.status_code == 302 and shown.location.endswith("/admin/messages")
    response = client.post(f"/admin/messages/{message_id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Nothing has been sent again" in words(client.get("/admin/messages"))


@pytest.mark.parametrize("status", ["sent", "pending"])
def test_a_message_that_is_not_dead_is_not_retried(app, client, world, status):
    stranger = world["stranger"]
    message = send("email", stranger.email, "login_code", user=stranger, code="KXRTWP", minutes=5, portal="X")
    message.status, message.attempts = status, 2
    db.session.commit()
    session_for(client, world["deployment"])
    token = token_of(client, "/account/profile")
    client.post(f"/admin/messages/{message.id}/retry", data={"csrf_token": token})
    assert fresh(OutboxMessage, message.id).status == status and fresh(OutboxMessage, message.id).attempts == 2


# --- a revoked or disabled admin, still signed in --------------------------------------------------------------


@pytest.mark.parametrize("how", ["revoked", "disabled", "demoted to helpdesk"])
def test_an_admin_who_loses_the_role_is_refused_at_the_next_request(app, client, world, how):
    admin, pro = world["org_admin"], world["pro"]
    session_for(client, admin)
    token = token_of(client, f"/admin/people/{pro.sub}/disable")
    operator = admins.operator("test")
    if how == "revoked":
        admins.revoke(operator, admin)
    elif how == "disabled":
        fresh(User, admin.id).disabled_at = clock.now()
    else:
        admins.grant(operator, admin, admins.HELPDESK, clock.now())
    db.session.commit()
    response = client.post(f"/admin/people/{pro.sub}/disable", data={"csrf_token": token})
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/admin/people" not in response.location or "/authorize" in response.location
    assert fresh(User, pro.id).disabled_at is None
    assert count(AuditEvent, tag="user:disabled") == 0


# --- stored XSS -------------------------------------------------------------------------------------------------

SCRIPT = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_a_name_with_markup_is_shown_as_text_on_the_console(app, client, world):
    pro = fresh(User, world["pro"].id)
    pro.name = SCRIPT
    org = db.session.get(Organisation, pro.organisation_id)
    org.name = SCRIPT
    db.session.commit()
    session_for(client, world["deployment"])
    for url in ("/admin/people?q=piet", f"/admin/people/{pro.sub}", f"/admin/people/{pro.sub}/edit",
                "/admin/organisations", f"/admin/people/{pro.sub}/disable"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in body and "onerror=alert(2)>" not in body, url


# --- CSRF: a token of another browser --------------------------------------------------------------------------


def test_a_csrf_token_of_another_session_changes_nothing(app, client, world):
    admin, pro = world["org_admin"], world["pro"]
    attacker = english_browser(app)
    session_for(attacker, world["nobody"])
    theirs = token_of(attacker, "/account/profile")
    session_for(client, admin)
    for name in ("disable", "sign-out", "reset-factors", "edit"):
        response = client.post(f"/admin/people/{pro.sub}/{name}", data={"csrf_token": theirs, "name": "Mallory",
                                                                        "email": pro.email, "roles": "admin"})
        assert response.status_code == 400, name
    response = client.post(NEW, data={"csrf_token": theirs, "name": "Zoe", "email": "zoe@noord.example"})
    assert response.status_code == 400
    db.session.expire_all()
    shown = fresh(User, pro.id)
    assert shown.disabled_at is None and shown.name != "Mallory" and "admin" not in (shown.roles or [])
    assert count(User, email="zoe@noord.example") == 0 and count(AuditEvent, actor_user_id=admin.id) == 0


# --- admin roles: not one's own, not beyond one's role ------------------------------------------------------------


def test_no_admin_changes_their_own_admin_role_even_through_the_service(app, world):
    dora = world["deployment"]
    acting = admins.admin_of(dora)
    with pytest.raises(admins.NotAllowed):
        admins.grant(acting, dora, admins.HELPDESK, clock.now())
    with pytest.raises(admins.NotAllowed):
        admins.revoke(acting, dora)
    db.session.rollback()
    assert admins.role_of(fresh(User, dora.id)).role == admins.DEPLOYMENT


def test_an_organisation_admin_cannot_make_anyone_an_admin_nor_erase(app, client, world):
    admin, pro = world["org_admin"], world["pro"]
    session_for(client, admin)
    token = token_of(client, "/account/profile")
    for who in (admin, pro):
        for role in admins.ADMIN_ROLES:
            response = client.post(f"/admin/people/{who.sub}/admin-role", data={"csrf_token": token, "role": role})
            assert response.status_code == 403
        assert client.post(f"/admin/people/{who.sub}/remove-admin", data={"csrf_token": token}).status_code == 403
        response = client.post(f"/admin/people/{who.sub}/erase", data={"csrf_token": token, "email": who.email})
        assert response.status_code == 403
    assert admins.role_of(fresh(User, admin.id)).role == admins.ORGANISATION
    assert admins.role_of(fresh(User, pro.id)) is None
    assert count(User, email=pro.email) == 1 and count(User, email=admin.email) == 1


def test_the_helpdesk_edits_nothing_and_makes_nobody(app, client, world):
    helpdesk, pro = world["helpdesk"], world["pro"]
    session_for(client, helpdesk)
    token = token_of(client, "/account/profile")
    response = client.post(f"/admin/people/{pro.sub}/edit", data={"csrf_token": token, "name": "Mallory",
                                                                   "email": "mallory@example.org", "roles": "admin"})
    assert response.status_code == 403
    for path in ("admin-role", "remove-admin", "erase", "disable", "enable", "sign-out"):
        response = client.post(f"/admin/people/{pro.sub}/{path}", data={"csrf_token": token, "role": "helpdesk",
                                                                        "email": pro.email})
        assert response.status_code == 403, path
    for url in ("/admin/organisations", "/admin/portals", "/admin/messages", "/admin/people/new"):
        assert client.get(url).status_code == 403, url
    shown = fresh(User, pro.id)
    assert shown.name != "Mallory" and shown.disabled_at is None and admins.role_of(shown) is None
    assert count(OutboxMessage) == 0


# --- a portal's logo: its origin goes into the page's CSP ---------------------------------------------------------


@pytest.mark.parametrize("logo", ["https://cdn.example;sandbox/logo.png", "https://cdn.example,script-src/l.png",
                                  "https://user@cdn.example/logo.png", "https://cdn.example'/logo.png"])
def test_a_logo_address_cannot_write_into_the_content_security_policy(app, world, make_portal, logo):
    from idp.errors import InvalidInput
    from idp.portals import profile as portal_profile

    portal = make_portal("Apotheekportaal")
    with pytest.raises(InvalidInput):
        portal_profile.change(portal, {"logo_url": logo})
    db.session.rollback()
    assert not (fresh(Client, portal.id).profile or {}).get("logo_url")


# --- where the sign-in comes back to ---------------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["%0D%0ASet-Cookie:%20x=1", "%5C%5Cevil.example", "a%20b"])
def test_the_console_sign_in_comes_back_to_a_path_of_ours_whatever_the_url_held(app, client, world, tail):
    from tests.flows.account_helpers import path as path_of
    from tests.flows.test_admin_console import sign_in_at_console

    helpdesk = world["helpdesk"]
    seen = []
    original = client.open

    def open_and_note(*args, **kwargs):
        response = original(*args, **kwargs)
        if response.status_code in (301, 302, 303, 307, 308):
            seen.append(response.location)
        return response

    client.open = open_and_note
    page = sign_in_at_console(app, client, helpdesk, target=f"/admin/people/{tail}")
    assert page.status_code == 404 and "Page not found" in words(page)  # no such person: but no error
    back = [loc for loc in seen if "/admin/people/" in loc and "/authorize" not in loc]
    assert back and all(path_of(loc).startswith("/admin/people/") for loc in back)
    assert all("\n" not in loc and "evil.example" not in loc.split("/admin/")[0] for loc in seen)


def test_a_sign_in_target_naming_another_host_comes_back_home(app):
    from idp.accounts import entry

    for target in ("//evil.example/x", "https://evil.example/", "\\\\evil.example", ""):
        store: dict = {}
        entry.begin(store, target)
        state = next(iter(store[entry.KEY]))
        assert entry.finish(store, state) == "/account", target


# --- edit: an address outside the organisation's domains ----------------------------------------------------------


@pytest.mark.parametrize("address", ["piet@zuid.example", "piet@noord.example.evil.example", "piet@evil.noord.example",
                                     "piet@NOORD.example.", "piet@example.org"])
def test_an_organisation_admin_cannot_move_a_member_to_an_address_outside_its_domains(app, client, world, address):
    admin, pro = world["org_admin"], world["pro"]
    org = db.session.get(Organisation, admin.organisation_id)
    org.email_domains = ["noord.example"]
    db.session.commit()
    session_for(client, admin)
    url = f"/admin/people/{pro.sub}/edit"
    response = client.post(url, data={"csrf_token": token_of(client, url), "name": "Piet", "email": address,
                                      "roles": ""})
    assert response.status_code == 200
    assert ("not at one of the organisation" in words(response)
            or "Enter a valid e-mail address" in words(response))
    assert fresh(User, pro.id).email == "piet@noord.example"
    assert count(OutboxMessage) == 0 and count(AuditEvent, tag="user:email:change-requested") == 0


def test_a_portal_with_markup_in_its_name_and_profile_is_shown_as_text(app, client, world, make_portal):
    from idp.portals import profile as portal_profile

    portal = make_portal("Portaal <b>x</b>")
    portal.name = SCRIPT  # as if stored by an older version or the config file
    portal_profile.change(portal, {"organisation": SCRIPT[:100], "help_by_role": "professional=" + SCRIPT})
    db.session.commit()
    session_for(client, world["deployment"])
    for url in ("/admin/portals", f"/admin/portals/{portal.client_id}", f"/admin/portals/{portal.client_id}/edit",
                f"/admin/portals/{portal.client_id}/disable", "/admin/people/new"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in body and "onerror=alert(2)>" not in body, url
        assert "&lt;script&gt;" in body or "&#34;&gt;&lt;script" in body, url


HELPDESK_MAY = {"admin.index", "admin.people_page", "admin.person", "admin.unlock", "admin.resend_activation",
                "admin.reset_factors", "admin.audit", "admin.audit_csv"}


def test_the_helpdesk_may_nothing_beyond_find_unlock_resend_reset_and_the_audit_on_any_route(app, client, world,
                                                                                             make_portal):
    helpdesk, pro = world["helpdesk"], world["pro"]
    portal = make_portal("Apotheekportaal")
    message = send("email", pro.email, "login_code", user=pro, code="KXRTWP", minutes=5, portal="Apotheekportaal")
    message.status, message.attempts = "dead", settings().messaging.max_attempts
    db.session.commit()
    fill = {"sub": pro.sub, "client_id": portal.client_id, "code": "noord", "message_id": str(message.id)}
    session_for(client, helpdesk)
    token = token_of(client, "/account/profile")
    before, audit_rows = snapshot(), count(AuditEvent)
    walked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in HELPDESK_MAY:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: fill[m.group(1)], rule.rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {"csrf_token": token, "role": admins.DEPLOYMENT, "email": pro.email, "name": "Mallory",
                    "roles": "admin", "code": "noord", "organisation": "noord"} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            assert response.status_code == 403, (method, url, response.status_code)
            walked += 1
    assert walked >= 25
    assert snapshot() == before and count(AuditEvent) == audit_rows


@pytest.mark.parametrize("q", ["%", "_", "%zuid%", "\\%", "*"])
def test_wildcards_in_the_search_find_only_the_organisations_members(app, client, world, q):
    session_for(client, world["org_admin"])
    page = client.get("/admin/people", query_string={"q": q}).get_data(as_text=True)
    assert world["stranger"].email not in page and world["nobody"].email not in page
    assert world["deployment"].email not in page


@pytest.mark.parametrize("token", ["none", "another session's"])
def test_no_post_of_the_console_works_without_this_sessions_csrf_token(app, client, world, make_portal, token):
    """As the deployment admin, who may do everything: every POST route, with every field a form would send."""
    pro = world["pro"]
    portal = make_portal("Apotheekportaal")
    message = send("email", pro.email, "login_code", user=pro, code="KXRTWP", minutes=5, portal="Apotheekportaal")
    message.status, message.attempts = "dead", settings().messaging.max_attempts
    db.session.commit()
    fill = {"sub": pro.sub, "client_id": portal.client_id, "code": "noord", "message_id": str(message.id)}
    other = english_browser(app)
    session_for(other, world["nobody"])
    theirs = token_of(other, "/account/profile")
    session_for(client, world["deployment"])
    before, audit_rows = snapshot(), count(AuditEvent)
    posted = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "POST" not in rule.methods:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: fill[m.group(1)], rule.rule)
        data = {"role": admins.HELPDESK, "email": pro.email, "name": "Mallory", "roles": "admin", "code": "mallory",
                "kind": "other", "portal": portal.client_id, "redirect_uris": "https://evil.example/cb"}
        if token != "none":
            data["csrf_token"] = theirs
        response = client.post(url, data=data)
        assert response.status_code == 400, (url, response.status_code)
        posted += 1
    assert posted >= 17
    assert snapshot() == before and count(AuditEvent) == audit_rows


# --- the audit: people outside the organisation in a member's rows -------------------------------------------------


def test_an_organisation_admin_reads_a_members_acts_for_an_outsider_without_the_outsiders_address(app, client,
                                                                                                 world):
    from idp.audit import EventTag
    from tests.flows.test_admin_audit import event

    pro, stranger = world["pro"], world["stranger"]
    event(EventTag.DELEGATION_SIGN_IN, about=stranger, by=pro, delegate=pro.sub, principal=stranger.sub)
    session_for(client, world["org_admin"])
    page = client.get("/admin/audit", query_string={"event": str(EventTag.DELEGATION_SIGN_IN)})
    shown = page.get_data(as_text=True)
    assert pro.email in shown and stranger.sub in shown  # the member's row, its principal pseudonymous
    assert stranger.email not in shown
    # The deployment admin reads it whole.
    whole = english_browser(app)
    session_for(whole, world["deployment"])
    assert stranger.email in whole.get("/admin/audit", query_string={
        "event": str(EventTag.DELEGATION_SIGN_IN)}).get_data(as_text=True)
