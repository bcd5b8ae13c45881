"""Issue 15: when a delegation is revoked or ends, the portal sessions acting under it end at once.

Petra signs in at the patient portal for Kim (her daughter, 14, with her own login and consent) and at the
pharmacy as herself, in one SSO session. Each portal's back-channel endpoint is a real HTTP server on a
loopback port that validates the logout token against the provider's JWKS (tests/oidc/backchannel_receiver.py);
the first delivery attempt is made inline. Dates of birth are today's date N years back; the clock moves
relative to them, never to a calendar day.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from idp import clock
from idp.audit import EventTag
from idp.delegation import AgeRules, grant_parental, record_child_consent
from idp.delegation.ages import birthday
from idp.extensions import db
from idp.messaging.queue import INLINE
from idp.models import Delegation, SessionClient, SsoSession, Token, User
from idp.models import delegation as d
from tests.flows.account_helpers import Account, sign_in
from tests.flows.page import Page
from tests.helpers import RelyingParty, audit_events, browser, csrf_token
from tests.oidc.backchannel_receiver import BackchannelReceiver

ADMIN = "helpdesk-anna"
CHECKED = "passport and birth certificate seen at the desk"
PASSWORD = "correct horse battery"
RULES = AgeRules()


def years_ago(years: int, days: int = 0) -> date:
    return birthday(RULES.today(clock.now()), -years) + timedelta(days=days)


@pytest.fixture(autouse=True)
def inline_delivery(app):
    app.config[INLINE] = True


@pytest.fixture
def listening(make_portal, client):
    """make(name, **kw) -> (portal, receiver): a portal whose back-channel logout URI is a live receiver."""
    opened: list[BackchannelReceiver] = []

    def make(name: str, **kw):
        receiver = BackchannelReceiver().__enter__()
        opened.append(receiver)
        portal = make_portal(name, backchannel_logout_uri=receiver.uri, **kw)
        receiver.client_id, receiver.algorithms = portal.client_id, [portal.id_token_alg]
        receiver.jwks = client.get("/jwks.json").get_json()
        return portal, receiver

    yield make
    for receiver in opened:
        receiver.__exit__()


@pytest.fixture
def patient_portal(listening):
    return listening("Patiëntenportaal", profile={"delegation": "true"})


@pytest.fixture
def pharmacy(listening):
    return listening("Apotheek")  # offers no delegation: Petra is there as herself


@pytest.fixture
def parent(make_user):
    return make_user("ouder@example.org", PASSWORD, name="Petra Ouder")


def kim_of(make_user, parent: User, portal, born: date) -> tuple[User, Delegation]:
    """Kim, with a login of her own, and Petra's delegation for her with Kim's own consent."""
    kim = make_user("kim@example.org", PASSWORD, name="Kim Ouder", date_of_birth=born)
    delegation = grant_parental(ADMIN, parent, kim, [portal.client_id], ["profile", "offline_access"], CHECKED,
                                clock.now())
    record_child_consent(delegation, clock.now(), by_child=kim)
    db.session.commit()
    return kim, delegation


class Petra:
    """Petra's browser: signed in at the patient portal for Kim, then at the pharmacy as herself (SSO)."""

    def __init__(self, client, patient_portal, pharmacy):
        self.at_portal = RelyingParty(client, patient_portal)
        self.at_pharmacy = RelyingParty(client, pharmacy)
        response = self.at_portal.submit_password(self.at_portal.login_url(), "ouder@example.org", PASSWORD)
        assert response.status_code == 302 and response.location.startswith("/login/"), response.location
        self.for_kim = self.exchange(self.at_portal, self.choose(response.location, "Kim Ouder"))
        self.as_herself = self.exchange(self.at_pharmacy, self.at_pharmacy.authorize())

    def choose(self, url: str, who: str):
        html = self.at_portal.client.get(url).get_data(as_text=True)
        assert 'name="stage" value="choose_person"' in html  # "for whom?"
        value = next(b.attrs["value"] for b in Page(html).all("button") if who in b.text)
        return self.at_portal.client.post(url, data={"csrf_token": csrf_token(html), "stage": "choose_person",
                                                     "person": value})

    @staticmethod
    def exchange(rp: RelyingParty, response) -> dict:
        tokens = rp.exchange(rp.callback(response)["code"])
        assert tokens.status_code == 200, tokens.get_json()
        return {**tokens.get_json(), "claims": rp.decode_id_token(tokens.get_json()["id_token"])}


def parts(sid: str) -> dict[str, int | None]:
    """The portals taking part in the session: client_id -> the delegation acted under."""
    db.session.expire_all()
    session = db.session.scalar(select(SsoSession).where(SsoSession.sid == sid))
    return {part.client.client_id: part.delegation_id for part in session.clients}


def assert_portal_session_ended(petra: Petra, kim: User, parent: User, delegation: Delegation,
                                portal_bc: BackchannelReceiver, pharmacy_bc: BackchannelReceiver) -> None:
    """What a revocation or an end must do, seen from both portals."""
    sid = petra.for_kim["claims"]["sid"]
    # The patient portal hears of it about the person its ID tokens named: Kim, in the session's sid.
    [told] = portal_bc.accepted
    assert (told["sub"], told["sid"]) == (kim.sub, sid) == (petra.for_kim["claims"]["sub"], sid)
    assert told["aud"] == petra.at_portal.portal.client_id
    assert portal_bc.rejected == []
    # What the delegation bought is refused: the refresh token and the access token.
    refused = petra.at_portal.refresh(petra.for_kim["refresh_token"])
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_grant")
    assert petra.at_portal.userinfo(petra.for_kim["access_token"]).status_code == 401
    db.session.expire_all()
    assert db.session.scalars(select(Token).where(Token.delegation_id == delegation.id,
                                                  Token.revoked_at.is_(None))).all() == []
    # Petra's own session and her part at the pharmacy as herself stay; the patient portal's part is gone.
    assert parts(sid) == {petra.at_pharmacy.portal.client_id: None}
    assert db.session.scalar(select(SsoSession).where(SsoSession.sid == sid)).ended_at is None
    assert pharmacy_bc.posts == []
    assert petra.at_pharmacy.userinfo(petra.as_herself["access_token"]).get_json()["sub"] == parent.sub
    again = petra.at_pharmacy.refresh(petra.as_herself["refresh_token"])
    assert again.status_code == 200, again.get_json()
    assert petra.at_pharmacy.decode_id_token(again.get_json()["id_token"])["sub"] == parent.sub
    # Audited with both people, for the portal and session that ended.
    [row] = audit_events(EventTag.DELEGATION_PORTAL_LOGGED_OUT)
    assert row.subject_user_id == kim.id and row.client_id == petra.at_portal.portal.client_id
    assert (row.details["delegate"], row.details["principal"], row.details["sid"]) == (parent.sub, kim.sub, sid)
    assert row.details["backchannel"] is True
    [revoked] = [r for r in audit_events(EventTag.TOKEN_REVOKED) if r.details.get("delegation_id") == delegation.id]
    assert revoked.subject_user_id == kim.id and revoked.details["tokens"] >= 1


def test_kim_withdraws_on_her_account_page_and_the_portal_session_for_her_ends(
        app, client, make_user, parent, patient_portal, pharmacy):
    (portal, portal_bc), (shop, pharmacy_bc) = patient_portal, pharmacy
    kim, delegation = kim_of(make_user, parent, portal, years_ago(14))
    petra = Petra(client, portal, shop)
    assert petra.for_kim["claims"]["sub"] == kim.sub and petra.for_kim["claims"]["act"]["sub"] == parent.sub
    assert parts(petra.for_kim["claims"]["sid"]) == {portal.client_id: delegation.id, shop.client_id: None}

    account = Account(browser(app))
    sign_in(account.client, "kim@example.org")
    account.open("/account/delegations")
    done = account.change(f"/account/delegations/{delegation.id}/revoke", confirmed="yes")
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Delegation, delegation.id).status == d.REVOKED
    assert_portal_session_ended(petra, kim, parent, delegation, portal_bc, pharmacy_bc)
    assert audit_events(EventTag.DELEGATION_PORTAL_LOGGED_OUT)[0].details["why"] == "revoked"

    # The next visit to the patient portal asks nothing about Kim: Petra is there as herself again.
    callback = petra.at_portal.callback(petra.at_portal.authorize())
    claims = petra.at_portal.decode_id_token(petra.at_portal.exchange(callback["code"]).get_json()["id_token"])
    assert claims["sub"] == parent.sub and "act" not in claims


def test_petra_stopping_and_an_admin_revoking_end_it_the_same_way(
        app, client, make_user, parent, patient_portal, pharmacy):
    (portal, portal_bc), (shop, pharmacy_bc) = patient_portal, pharmacy
    kim, delegation = kim_of(make_user, parent, portal, years_ago(14))
    petra = Petra(client, portal, shop)
    account = Account(browser(app))  # Petra on another device
    sign_in(account.client, "ouder@example.org")
    account.open("/account/delegations")
    assert account.change(f"/account/delegations/{delegation.id}/stop", confirmed="yes").status_code == 303
    assert_portal_session_ended(petra, kim, parent, delegation, portal_bc, pharmacy_bc)

    # The CLI door: a new delegation, a new sign-in for Kim, an admin revokes it.
    again = grant_parental(ADMIN, parent, kim, [portal.client_id], ["profile", "offline_access"], CHECKED,
                           clock.now())
    record_child_consent(again, clock.now(), by_child=kim)
    db.session.commit()
    chooser = petra.at_portal.authorize(prompt="select_account")
    for_kim = Petra.exchange(petra.at_portal, petra.choose(chooser.location, "Kim Ouder"))
    result = app.test_cli_runner().invoke(args=["delegations", "revoke", str(again.id), "--as", "admin-bert",
                                                "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == d.REVOKED
    assert [t["sub"] for t in portal_bc.accepted] == [kim.sub, kim.sub]
    assert portal_bc.accepted[-1]["sid"] == for_kim["claims"]["sid"]
    assert petra.at_portal.refresh(for_kim["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert pharmacy_bc.posts == []


def test_the_expiry_job_at_the_sixteenth_birthday_ends_the_portal_session(
        app, client, make_user, parent, patient_portal, pharmacy, time_machine):
    (portal, portal_bc), (shop, pharmacy_bc) = patient_portal, pharmacy
    born = years_ago(16, days=1)  # 15 today, 16 from tomorrow
    turns_sixteen = RULES.parental_end(born)
    time_machine.move_to(turns_sixteen - timedelta(minutes=2), tick=False)
    kim, delegation = kim_of(make_user, parent, portal, born)
    petra = Petra(client, portal, shop)
    assert petra.for_kim["claims"]["sub"] == kim.sub

    time_machine.move_to(turns_sixteen + timedelta(minutes=1), tick=False)
    result = app.test_cli_runner().invoke(args=["delegations", "expire", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["expired"] == 1
    db.session.expire_all()
    assert db.session.get(Delegation, delegation.id).status == d.EXPIRED
    assert_portal_session_ended(petra, kim, parent, delegation, portal_bc, pharmacy_bc)
    assert audit_events(EventTag.DELEGATION_PORTAL_LOGGED_OUT)[0].details["why"] == "expired"


def test_someone_elses_delegation_id_changes_nothing(app, client, make_user, parent, patient_portal, pharmacy):
    (portal, portal_bc), (shop, pharmacy_bc) = patient_portal, pharmacy
    kim, delegation = kim_of(make_user, parent, portal, years_ago(14))
    petra = Petra(client, portal, shop)
    make_user("ander@example.org", PASSWORD, name="Piet Ander", date_of_birth=years_ago(70))
    outsider = Account(browser(app))
    sign_in(outsider.client, "ander@example.org")
    outsider.open("/account/delegations")
    for action in ("revoke", "stop"):  # as if he were Kim, then as if he were Petra
        response = outsider.change(f"/account/delegations/{delegation.id}/{action}", confirmed="yes")
        assert response.status_code == 303
        page = outsider.open("/account/delegations").get_data(as_text=True)
        assert "Er is niets veranderd." in page

    db.session.expire_all()
    assert db.session.get(Delegation, delegation.id).status == d.ACTIVE
    assert portal_bc.posts == [] and pharmacy_bc.posts == []
    assert parts(petra.for_kim["claims"]["sid"]) == {portal.client_id: delegation.id, shop.client_id: None}
    assert db.session.scalars(select(Token).where(Token.delegation_id == delegation.id,
                                                  Token.revoked_at.is_not(None))).all() == []
    assert petra.at_portal.userinfo(petra.for_kim["access_token"]).get_json()["sub"] == kim.sub
    refreshed = petra.at_portal.refresh(petra.for_kim["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert audit_events(EventTag.DELEGATION_PORTAL_LOGGED_OUT) == []
    assert db.session.scalars(select(SessionClient).where(SessionClient.delegation_id == delegation.id)).all()


def test_logging_out_tells_each_portal_about_the_person_its_id_tokens_named(
        client, make_user, parent, patient_portal, pharmacy):
    (portal, portal_bc), (shop, pharmacy_bc) = patient_portal, pharmacy
    kim, _delegation = kim_of(make_user, parent, portal, years_ago(14))
    petra = Petra(client, portal, shop)
    sid = petra.for_kim["claims"]["sid"]
    response = client.get("/logout?" + urlencode({"id_token_hint": petra.as_herself["id_token"],
                                                  "post_logout_redirect_uri": shop.post_logout_redirect_uris[0]}))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert [(t["sub"], t["sid"]) for t in portal_bc.accepted] == [(kim.sub, sid)]
    assert [(t["sub"], t["sid"]) for t in pharmacy_bc.accepted] == [(parent.sub, sid)]
