"""Issue 18: every form under /account and /admin refuses a post without its CSRF token, and one carrying the
token of another browser's session, and nothing changes: no row of any table (not only a 400).

The routes come from the app's url_map; TARGETS says, for each, what its URL points at and a form that would
do the change. A POST route missing from TARGETS fails `test_every_post_route_under_account_and_admin_is_walked`:
a new form cannot go unwalked. The browser has a fresh password proof, so no password page stands between a
post that got past the CSRF check and its change. With the CSRF check switched off, 35 of the 43 forms below
change a row (so their test would fail); the other forms reach no change in this scene (the live password
rules are read-only; Dora's SMS factor exists already; an admin's own account is not deleted here; a consent
nobody asked for; the portal and new-person forms need more fields): for those the walk shows the refusal only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from idp import clock, sessions
from idp.accounts import links, reauth
from idp.delegation import invitations
from idp.extensions import db
from idp.models import Consent, Factor, OutboxMessage, User
from idp.sessions import devices
from tests.flows.admin_helpers import make_world
from tests.helpers import csrf_token, english_browser

Scene = dict


def _session(client, person: User):
    """A browser signed in as `person` with a second factor (without the sign-in pages)."""
    from idp.runtime import settings

    session, token = sessions.start(person, amr=["pwd", "sms", "mfa"], acr=settings().mfa.acr_mfa,
                                    auth_time=clock.now() - timedelta(seconds=30))
    db.session.commit()
    client.set_cookie(sessions.cookie_name(False), token)
    with client.session_transaction() as store:  # the password was just confirmed: no password page
        store[reauth.KEY] = {"sid": session.sid, "at": clock.timestamp(clock.now())}
    return session


# Each route: (the URL from the scene, the form that would make its change). A change that needs a code or a
# link first still leaves a row behind when the post gets through (the code's mail, the code row).
TARGETS: dict[str, tuple[Callable[[Scene], str], dict[str, str]]] = {
    "/account/data/download": (lambda s: "/account/data/download", {}),
    "/account/delegations/<int:delegation_id>/accept": (
        lambda s: f"/account/delegations/{s['invited_me']}/accept", {}),
    "/account/delegations/<int:delegation_id>/consent": (
        lambda s: f"/account/delegations/{s['i_invited']}/consent", {}),
    "/account/delegations/<int:delegation_id>/revoke": (
        lambda s: f"/account/delegations/{s['i_invited']}/revoke", {"confirmed": "yes"}),
    "/account/delegations/<int:delegation_id>/stop": (
        lambda s: f"/account/delegations/{s['invited_me']}/stop", {"confirmed": "yes"}),
    "/account/delegations/invite": (lambda s: "/account/delegations/invite", {
        "name": "Karel", "email": "karel@example.org", "relation": "family", "portal": ""}),
    "/account/delete": (lambda s: "/account/delete", {"confirmed": "yes", "confirm": "yes"}),
    "/account/devices/<int:device_id>/revoke": (lambda s: f"/account/devices/{s['device']}/revoke", {}),
    "/account/devices/revoke-all": (lambda s: "/account/devices/revoke-all", {}),
    "/account/email/<token>": (lambda s: f"/account/email/{s['email_token']}", {}),
    "/account/factors/<int:factor_id>/remove": (lambda s: f"/account/factors/{s['factor']}/remove",
                                                {"confirmed": "yes"}),
    "/account/factors/email": (lambda s: "/account/factors/email", {"action": "send", "email": "d2@example.org"}),
    "/account/factors/sms": (lambda s: "/account/factors/sms", {"action": "send", "phone": "+31612999999"}),
    "/account/factors/totp": (lambda s: "/account/factors/totp", {"action": "start"}),
    "/account/password": (lambda s: "/account/password", {
        "current_password": "correct horse battery", "new_password": "Blauwe fiets 42 lente",
        "confirm_password": "Blauwe fiets 42 lente"}),
    # Read-only (live feedback on a typed password): the walk proves only that it is refused too.
    "/account/password/rules": (lambda s: "/account/password/rules", {"password": "x"}),
    "/account/portals/<int:client_pk>/revoke": (lambda s: f"/account/portals/{s['portal']}/revoke",
                                                {"confirmed": "yes"}),
    "/account/profile/email": (lambda s: "/account/profile/email", {"email": "dora.new@example.org"}),
    "/account/profile/name": (lambda s: "/account/profile/name", {"name": "Someone Else", "given_name": "Some",
                                                                  "family_name": "Else"}),
    "/account/profile/phone": (lambda s: "/account/profile/phone", {"action": "send", "phone": "+31612999998"}),
    "/account/recovery-codes": (lambda s: "/account/recovery-codes", {}),
    "/account/sessions/<int:session_id>/end": (lambda s: f"/account/sessions/{s['other_session']}/end", {}),
    "/account/sessions/end-others": (lambda s: "/account/sessions/end-others", {}),
    "/admin/messages/<int:message_id>/retry": (lambda s: f"/admin/messages/{s['message']}/retry",
                                               {"confirmed": "yes"}),
    "/admin/messages/retry-all": (lambda s: "/admin/messages/retry-all", {"confirmed": "yes"}),
    "/admin/organisations/<code>/edit": (lambda s: "/admin/organisations/noord/edit", {
        "code": "noord", "name": "Zorggroep Oost", "kind": "care_provider", "email_domains": ""}),
    "/admin/organisations/new": (lambda s: "/admin/organisations/new", {
        "name": "Zorggroep West", "kind": "care_provider", "code": "west"}),
    "/admin/people/<sub>/admin-role": (lambda s: f"/admin/people/{s['nobody']}/admin-role",
                                       {"role": "helpdesk", "confirmed": "yes"}),
    "/admin/people/<sub>/disable": (lambda s: f"/admin/people/{s['nobody']}/disable",
                                    {"confirmed": "yes", "reason": "probe"}),
    "/admin/people/<sub>/edit": (lambda s: f"/admin/people/{s['nobody']}/edit", {
        "email": "nina@example.org", "name": "Nina Anders"}),
    "/admin/people/<sub>/enable": (lambda s: f"/admin/people/{s['disabled']}/enable", {"confirmed": "yes"}),
    "/admin/people/<sub>/erase": (lambda s: f"/admin/people/{s['nobody']}/erase",
                                  {"email": "nina@example.org"}),
    "/admin/people/<sub>/remove-admin": (lambda s: f"/admin/people/{s['helpdesk']}/remove-admin",
                                         {"confirmed": "yes"}),
    "/admin/people/<sub>/resend-activation": (lambda s: f"/admin/people/{s['pending']}/resend-activation",
                                              {"confirmed": "yes"}),
    "/admin/people/<sub>/reset-factors": (lambda s: f"/admin/people/{s['nobody']}/reset-factors",
                                          {"confirmed": "yes"}),
    "/admin/people/<sub>/sign-out": (lambda s: f"/admin/people/{s['nobody']}/sign-out", {"confirmed": "yes"}),
    "/admin/people/<sub>/unlock": (lambda s: f"/admin/people/{s['nobody']}/unlock", {"confirmed": "yes"}),
    "/admin/people/new": (lambda s: "/admin/people/new", {"email": "nieuw@example.org", "name": "Nieuw"}),
    "/admin/portals/<client_id>/disable": (lambda s: f"/admin/portals/{s['client_id']}/disable",
                                           {"confirmed": "yes"}),
    "/admin/portals/<client_id>/edit": (lambda s: f"/admin/portals/{s['client_id']}/edit", {"name": "Anders"}),
    "/admin/portals/<client_id>/enable": (lambda s: f"/admin/portals/{s['disabled_client_id']}/enable",
                                          {"confirmed": "yes"}),
    "/admin/portals/<client_id>/rotate-secret": (lambda s: f"/admin/portals/{s['client_id']}/rotate-secret",
                                                 {"confirmed": "yes"}),
    "/admin/portals/new": (lambda s: "/admin/portals/new", {
        "name": "Nieuw portaal", "redirect_uris": "https://nieuw.example/callback"}),
}


def _post_routes(app) -> list[str]:
    return sorted(r.rule for r in app.url_map.iter_rules()
                  if "POST" in (r.methods or ()) and r.rule.startswith(("/account", "/admin")))


def test_every_post_route_under_account_and_admin_is_walked(app):
    routes = _post_routes(app)
    assert len(routes) > 30  # the walk found the forms
    assert sorted(TARGETS) == routes


@pytest.fixture
def scene(app, make_portal, make_user):
    """Dora (a deployment admin with an SMS factor) and what her forms point at; each form has a real target."""
    from idp.accounts import activation, users
    from idp.accounts.users import create_user
    from idp.models import Client

    world = make_world()
    dora, now = world["deployment"], clock.now()
    dora.date_of_birth = world["nobody"].date_of_birth = date(1970, 5, 1)  # adults decide who acts for them
    portal, closed = make_portal("Huisartsportaal"), make_portal("Gesloten portaal")
    db.session.add(Consent(user_id=dora.id, client_id=portal.id, scopes=["openid"], granted_at=now))
    users.disable(world["stranger"])
    closed_row = db.session.get(Client, closed.id)
    closed_row.disabled_at = now
    pending = create_user("nog.niet@example.org", None, email_verified=False)
    activation.send_link(pending)
    device, _ = devices.trust(dora, days=7, user_agent="Firefox", ip="127.0.0.1")
    other, _ = sessions.start(dora, amr=["pwd"], acr=None, auth_time=now)
    _, email_url = links.issue_for_new_address(links.EMAIL_CHANGE, dora, "dora.elders@example.org")
    i_invited = invitations.invite(dora, "piet@noord.example", "Piet", [], [], "family", now)
    invited_me = invitations.invite(world["nobody"], dora.email, "Dora", [], [], "family", now)
    factor = db.session.scalar(select(Factor).where(Factor.user_id == dora.id))
    message = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    message.status = "dead"
    db.session.commit()
    return {
        "dora": dora, "invited_me": invited_me.id, "i_invited": i_invited.id, "device": device.id,
        "email_token": email_url.rsplit("/", 1)[1], "factor": factor.id, "portal": portal.id,
        "other_session": other.id, "message": message.id, "nobody": world["nobody"].sub,
        "helpdesk": world["helpdesk"].sub, "pending": pending.sub, "disabled": world["stranger"].sub,
        "client_id": portal.client_id, "disabled_client_id": closed.client_id,
    }


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    db.session.expire_all()
    rows = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*order)).all()]
    return rows


@pytest.mark.parametrize("route", sorted(TARGETS))
def test_a_form_without_its_own_csrf_token_changes_nothing(app, scene, route):
    url, form = TARGETS[route][0](scene), TARGETS[route][1]
    victim = english_browser(app)
    _session(victim, scene["dora"])
    assert victim.get("/account").status_code == 200  # the victim's browser is signed in
    attacker = english_browser(app)
    _session(attacker, db.session.get(User, make_world_person(scene)))
    foreign = csrf_token(attacker.get("/account").get_data(as_text=True))
    before = _snapshot()
    for token in (None, foreign, "forged"):
        data = dict(form) if token is None else {**form, "csrf_token": token}
        response = victim.post(url, data=data)
        assert response.status_code == 400, (route, response.status_code)
        assert dict(response.headers).get("Content-Disposition") is None  # no download either
        assert _snapshot() == before, route


def make_world_person(scene: Scene) -> int:
    """The attacker: a signed-in person of their own (someone without any role)."""
    return db.session.scalar(select(User.id).where(User.sub == scene["nobody"]))
