"""`idp users find|show|edit|enable|reset-factors|sessions|revoke|erase` as an administrator uses them (issue 16
part 3): the real console script in a subprocess, on a database the test filled through the real services and
sign-in flow (the `app` fixture: SQLite, and PostgreSQL when IDP_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import getpass
import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from idp import clock, delegation, sessions
from idp.accounts import activation, factors
from idp.audit import EventTag, record
from idp.extensions import db
from idp.models import (
    AuditEvent,
    Consent,
    Delegation,
    Factor,
    LoginFailure,
    OutboxMessage,
    RecoveryCode,
    SsoSession,
    Token,
    TrustedDevice,
    User,
)
from idp.runtime import crypto
from idp.security import lockout
from idp.security.logins import login_key
from idp.sessions import devices
from tests.conftest import ISSUER
from tests.helpers import RelyingParty, browser
from tests.mfa_helpers import SignIn
from tests.unit.test_cli import dev_env, ok, ok_json, refused

PASSWORD = "correct horse battery"


@pytest.fixture
def cli_env(app, tmp_path, database_url) -> dict[str, str]:
    """The CLI's settings for the database the `app` fixture made (same secrets, same issuer)."""
    return {**dev_env(tmp_path, database_url), "IDP_SERVER_ISSUER": ISSUER}


def settle() -> None:
    """Commit the test's work and forget what it loaded: the CLI (another process) writes next."""
    db.session.commit()
    db.session.remove()


def run_json(env, *args):
    settle()
    return ok_json(env, *args)


def fresh_user(email: str) -> User:
    db.session.remove()
    return db.session.scalar(select(User).where(User.email == email))


def rows(tag: EventTag) -> list[AuditEvent]:
    db.session.remove()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == str(tag)).order_by(AuditEvent.id)))


def lock(user: User) -> None:
    for _ in range(5):
        attempt = lockout.begin_attempt(user.email)
        lockout.record_failure(user.email, attempt, user)
    db.session.commit()


# --- find --------------------------------------------------------------------------------------------------

def test_find_by_part_of_name_email_username_or_organisation_with_status(cli_env, make_user):
    anna = make_user("anna@example.org", name="Anna de Vries", organisation="Zorggroep Noord")
    make_user("bob@example.org", name="Bob van den Berg", username="bvdb")
    pending = make_user("piet@zorg.example", None, name="Piet Zorg")
    activation.send_link(pending)
    pending.activation_pending = True
    gone = make_user("dora@example.org", name="Dora Zorgvlied")
    gone.disabled_at = clock.now()
    locked = make_user("lotte@example.org", name="Lotte Zorgman")
    lock(locked)
    anna_sub = anna.sub

    assert [p["sub"] for p in run_json(cli_env, "users", "find", "ZORGGROEP")] == [anna_sub]
    assert [p["email"] for p in run_json(cli_env, "users", "find", "BvDb")] == ["bob@example.org"]
    everyone = {p["email"]: p["status"] for p in run_json(cli_env, "users", "find", "zorg")}
    assert everyone == {"anna@example.org": "active", "piet@zorg.example": "pending",
                        "dora@example.org": "disabled", "lotte@example.org": "locked"}
    for status, email in (("pending", "piet@zorg.example"), ("disabled", "dora@example.org"),
                          ("locked", "lotte@example.org"), ("active", "anna@example.org")):
        assert [p["email"] for p in ok_json(cli_env, "users", "find", "zorg", "--status", status)] == [email]
    assert len(ok_json(cli_env, "users", "find", "example", "--limit", "2")) == 2  # bounded
    assert ok_json(cli_env, "users", "find", "100%") == []  # a wildcard is a character like any other
    assert refused(cli_env, "users", "find", "   ") == "error: give 1-320 characters to search for"


# --- show ---------------------------------------------------------------------------------------------------

def test_show_tells_everything_the_console_will_and_no_secret(cli_env, app, make_user, make_portal):
    anna = make_user("anna@example.org", name="Anna de Vries", phone="+31612345678", phone_verified=True,
                     username="anna", organisation="Zorggroep Noord")
    portal = make_portal("Huisartsportaal")
    RelyingParty(browser(app), portal).tokens("anna", PASSWORD)
    anna = fresh_user("anna@example.org")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    factors.add_confirmed(anna, "totp", secret=secret)
    factors.new_recovery_codes(anna)
    devices.trust(anna, days=30, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", ip="192.0.2.7")
    child = delegation.create_principal("Sam de Vries", clock.now().date() - timedelta(days=8 * 365),
                                        "helpdesk", clock.now())
    delegation.grant_parental("helpdesk", anna, child, [], [], "passport", clock.now())
    anna_sub, child_sub = anna.sub, child.sub

    shown = run_json(cli_env, "users", "show", "anna@example.org")
    assert (shown["sub"], shown["status"], shown["name"], shown["organisation"], shown["organisation_name"]) == (
        anna_sub, "active", "Anna de Vries", "zorggroep-noord", "Zorggroep Noord")
    assert shown["locked_since"] is None and shown["disabled"] is False and shown["pending_activation"] is False
    assert [(f["kind"], f["confirmed"]) for f in shown["factors"]] == [("totp", True)]
    assert shown["recovery_codes_left"] > 0
    assert [d["device"] for d in shown["trusted_devices"]] == [devices.describe(
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")]
    assert len(shown["sessions"]) == 1 and shown["sessions"][0]["portals"] == [portal.client_id]
    assert [p["client_id"] for p in shown["portals_used"]] == [portal.client_id]
    assert shown["last_sign_in"] is not None
    assert [(d["role"], d["other"], d["status"]) for d in shown["delegations"]] == [
        ("delegate", child_sub, "active")]
    assert "login:session:started" in [e["event"] for e in shown["recent_events"]]
    text = json.dumps(shown)
    assert secret not in text and "password_hash" not in text and "$2b$" not in text
    assert "status: active" in ok(cli_env, "users", "show", "anna")


def test_show_says_since_when_locked_and_until_when_an_activation_waits(cli_env, make_user):
    locked = make_user("lotte@example.org")
    lock(locked)
    waiting = make_user("piet@example.org", None)
    waiting.activation_pending = True
    activation.send_link(waiting)
    settle()
    shown = ok_json(cli_env, "users", "show", "lotte@example.org")
    assert shown["status"] == "locked" and shown["locked_since"] is not None
    shown = ok_json(cli_env, "users", "show", "piet@example.org")
    assert shown["status"] == "pending" and shown["pending_until"] > clock.now().isoformat()


# --- edit, enable, disable ------------------------------------------------------------------------------------

def test_edit_changes_what_an_admin_may_and_a_new_address_is_unverified(cli_env, make_user):
    make_user("anna@example.org", name="Anna de Vries", locale="nl")
    make_user("bob@example.org", username="bob")
    born = (clock.now().date() - timedelta(days=40 * 365)).isoformat()
    changed = run_json(cli_env, "users", "edit", "anna@example.org", "--name", "Anna Jansen", "--email",
                       "anna.jansen@example.org", "--username", "ajansen", "--roles", "professional,helpdesk",
                       "--birth-date", born, "--locale", "en", "--as", "helpdesk-piet")
    assert changed["changed"] == ["date_of_birth", "email", "locale", "name", "roles", "username"]
    assert changed["email_verified"] is False
    anna = fresh_user("anna.jansen@example.org")
    assert (anna.name, anna.username, anna.roles, anna.date_of_birth.isoformat(), anna.locale) == (
        "Anna Jansen", "ajansen", ["helpdesk", "professional"], born, "en")
    assert anna.email_verified is False
    [event] = rows(EventTag.USER_UPDATED)
    assert event.actor == "helpdesk-piet" and event.subject_user_id == anna.id
    assert "anna" not in json.dumps(event.details).lower()  # the fields named, never their values

    assert refused(cli_env, "users", "edit", "ajansen", "--email", "BOB@example.org") == (
        "error: a user with e-mail BOB@example.org already exists")
    assert refused(cli_env, "users", "edit", "ajansen", "--username", "BOB") == "error: username BOB is taken"
    assert refused(cli_env, "users", "edit", "ajansen", "--roles", "Admin!").startswith("error: a role is")
    assert refused(cli_env, "users", "edit", "ajansen", "--birth-date", "1980-02-30").startswith(
        "error: --birth-date must be a real date")
    assert fresh_user("anna.jansen@example.org").username == "ajansen"  # a refusal changed nothing
    assert ok_json(cli_env, "users", "edit", "ajansen", "--name", "Anna Jansen")["changed"] == []


def test_disable_and_enable_are_audited_as_the_operating_system_user(cli_env, make_user):
    make_user("anna@example.org")
    settle()
    assert ok_json(cli_env, "users", "disable", "anna@example.org")["disabled"] is True
    assert fresh_user("anna@example.org").disabled_at is not None
    assert ok_json(cli_env, "users", "enable", "anna@example.org")["enabled"] is True
    assert fresh_user("anna@example.org").disabled_at is None
    assert "was not disabled" in ok(cli_env, "users", "enable", "anna@example.org")
    [disabled], [enabled] = rows(EventTag.USER_DISABLED), rows(EventTag.USER_ENABLED)
    assert disabled.actor == enabled.actor == getpass.getuser() != "cli"
    assert ok_json(cli_env, "users", "unlock", "anna@example.org", "--as", "helpdesk-piet")["unlocked"] is False
    [unlocked] = rows(EventTag.ACCOUNT_UNLOCKED)
    assert unlocked.actor == "helpdesk-piet"


# --- second factors --------------------------------------------------------------------------------------------

def test_reset_factors_removes_factors_codes_and_devices_and_tells_the_person(cli_env, app, make_user,
                                                                            make_portal):
    strict = make_portal("Huisarts", mfa="required")
    strict = SimpleNamespace(client_id=strict.client_id, redirect_uris=list(strict.redirect_uris), secret=None)
    anna = make_user("anna@example.org", phone="+31612345678", phone_verified=True)
    factors.add_confirmed(anna, "sms", phone_number="+31612345678")
    factors.add_confirmed(anna, "totp")
    factors.new_recovery_codes(anna)
    devices.trust(anna, days=30, user_agent="Firefox", ip="192.0.2.7")
    removed = run_json(cli_env, "users", "reset-factors", "anna@example.org", "--as", "helpdesk-piet")
    assert removed["factors"] == ["sms", "totp"] and removed["devices"] == 1 and removed["recovery_codes"] > 0
    anna = fresh_user("anna@example.org")
    assert db.session.scalars(select(Factor).where(Factor.user_id == anna.id)).all() == []
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == anna.id)).all() == []
    assert devices.list_for(anna) == []
    notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "factors_reset"))
    assert crypto().decrypt(notice.recipient_encrypted) == "anna@example.org"
    [event] = rows(EventTag.MFA_RESET)
    assert event.actor == "helpdesk-piet" and event.details["factors"] == ["sms", "totp"]
    assert ok_json(cli_env, "users", "show", "anna@example.org")["factors"] == []
    # The next sign-in at a portal that requires a second factor sets one up again.
    client = browser(app)
    sign_in = SignIn(client, RelyingParty(client, strict).login_url())
    sign_in.password("anna@example.org")
    assert sign_in.stage == "enrol"


# --- sessions, sign out ----------------------------------------------------------------------------------------

def test_sessions_then_revoke_one_then_all_tells_the_portal_and_revokes_tokens(cli_env, app, make_user, make_portal):
    from tests.conformance.live import LogoutReceiver

    receiver = LogoutReceiver().start()
    try:
        make_user("anna@example.org")
        portal = make_portal("Huisartsportaal", backchannel_logout_uri=receiver.url)
        first = RelyingParty(browser(app), portal).tokens("anna@example.org", PASSWORD)
        RelyingParty(browser(app), portal).tokens("anna@example.org", PASSWORD)
        first_sid = RelyingParty(browser(app), portal).decode_id_token(first["id_token"])["sid"]
        client_id = portal.client_id
        listed = run_json(cli_env, "users", "sessions", "anna@example.org")
        assert len(listed) == 2 and all(s["portals"] == [client_id] for s in listed)

        done = ok_json(cli_env, "users", "revoke", "anna@example.org", "--session", first_sid, "--as", "helpdesk")
        assert (done["sessions_ended"], done["tokens_revoked"], done["portal_logouts_left"]) == (1, 1, 0)
        from idp.runtime import keyring

        assert keyring().verify(receiver.next_token()).claims["sid"] == first_sid
        db.session.remove()
        assert db.session.scalar(select(SsoSession).where(SsoSession.sid == first_sid)).ended_at is not None
        assert [s["sid"] for s in ok_json(cli_env, "users", "sessions", "anna@example.org")] != [first_sid]
        assert len(ok_json(cli_env, "users", "sessions", "anna@example.org")) == 1

        assert refused(cli_env, "users", "revoke", "anna@example.org", "--session", first_sid).startswith(
            "error: no live session")
        done = ok_json(cli_env, "users", "revoke", "anna@example.org")
        assert (done["sessions_ended"], done["tokens_revoked"]) == (1, 1)
        receiver.next_token()
        assert ok_json(cli_env, "users", "sessions", "anna@example.org") == []
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Token).where(Token.revoked_at.is_(None))) == 0
        assert [e.actor for e in rows(EventTag.USER_SIGNED_OUT)] == ["helpdesk", getpass.getuser()]
    finally:
        receiver.stop()


def test_someone_elses_session_cannot_be_ended_through_a_person(cli_env, app, make_user, make_portal):
    make_user("anna@example.org")
    make_user("bob@example.org")
    portal = make_portal()
    RelyingParty(browser(app), portal).tokens("bob@example.org", PASSWORD)
    settle()
    bobs = db.session.scalar(select(SsoSession.sid))
    settle()
    assert refused(cli_env, "users", "revoke", "anna@example.org", "--session", bobs).startswith(
        "error: no live session")
    assert sessions.is_alive(db.session.scalar(select(SsoSession).where(SsoSession.sid == bobs)))


# --- erase (AVG) -------------------------------------------------------------------------------------------------

ERIKA = {"email": "Erika.Wismeijer@example.org", "name": "Erika Wismeijer", "username": "ewismeijer",
         "phone": "+31687654321", "born": date(1979, 3, 14)}


def personal_needles() -> list[str]:
    return [ERIKA["email"].lower(), ERIKA["name"].lower(), "wismeijer", ERIKA["username"], ERIKA["phone"],
            "0687654321", ERIKA["born"].isoformat(), "14-03-1979"]


def every_value():
    """(table, column, value as text) for every cell of every table, encrypted cells decrypted."""
    db.session.remove()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list) \
                    else str(value)
                if column.endswith("_encrypted"):
                    text = crypto().decrypt(value)
                yield table.name, column, text


def test_erase_leaves_no_personal_data_in_any_table(cli_env, app, make_user, make_portal):
    erika = make_user(ERIKA["email"], name=ERIKA["name"], username=ERIKA["username"], phone=ERIKA["phone"],
                      phone_verified=True, date_of_birth=ERIKA["born"], organisation="Thuiszorg West")
    make_user("someone@example.org", name="Someone Else")
    apotheek = make_portal("Apotheek", first_party=False)  # asks consent: a consent row
    rp = RelyingParty(browser(app), apotheek)
    tokens = rp.tokens(ERIKA["username"], PASSWORD)
    wrong = RelyingParty(browser(app), apotheek)
    wrong.submit_password(wrong.login_url(), ERIKA["email"], "not her password")  # a failure, typed address
    erika = fresh_user(ERIKA["email"])
    factors.add_confirmed(erika, "sms", phone_number=ERIKA["phone"])
    factors.new_recovery_codes(erika)
    devices.trust(erika, days=30, user_agent="Firefox", ip="192.0.2.7")
    child = delegation.create_principal("Sam Jansen", clock.now().date() - timedelta(days=6 * 365),
                                        "helpdesk", clock.now())
    delegation.grant_parental("helpdesk", erika, child, [], [], "passport of Erika Wismeijer seen", clock.now())
    # A row written before typed names were hashed, as a production database holds them.
    record(EventTag.LOGIN_PASSWORD_FAILURE, outcome="failure", user_id=erika.id, login=ERIKA["email"],
           note=f"typed by {ERIKA['name']}")
    erika_id, sub = erika.id, erika.sub
    apotheek = SimpleNamespace(client_id=apotheek.client_id, redirect_uris=list(apotheek.redirect_uris),
                               secret=apotheek.secret)
    settle()
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 1
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 1
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.subject_user_id == erika_id))
    settle()

    assert refused(cli_env, "users", "erase", ERIKA["email"]) == "error: erasing cannot be undone: add --yes"
    erased = ok_json(cli_env, "users", "erase", ERIKA["email"], "--yes", "--as", "privacy-officer")
    assert erased["sub"] == sub and erased["erased"] is True

    found = [(t, c) for t, c, text in every_value() for needle in personal_needles() if needle in text.lower()]
    assert found == []
    hashed = {login_key(ERIKA["email"]), login_key(ERIKA["username"])}  # her typed names in the audit trail
    assert [c for _t, c, text in every_value() if any(h in text for h in hashed)] == []
    user = db.session.get(User, erika_id)
    assert user.sub == sub and user.email.endswith("@erased.invalid") and user.password_hash is None
    assert user.no_login and user.disabled_at is not None
    for model in (Consent, Factor, RecoveryCode, TrustedDevice, Token, SsoSession):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == erika_id)) == 0
    assert db.session.scalar(select(Delegation.status)) == "revoked"
    # The trail stays, under the pseudonym: every row about her is still there, and one more says who erased.
    after = db.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.subject_user_id == erika_id))
    assert after > audit_before
    [event] = rows(EventTag.USER_ERASED)
    assert event.actor == "privacy-officer" and event.subject_user_id == erika_id
    assert "someone@example.org" in [v for _t, c, v in every_value() if c == "email"]  # others untouched
    # She cannot sign in, by any name she had; her tokens no longer work; a second erase is refused.
    again = RelyingParty(browser(app), apotheek)
    for login in (ERIKA["email"], ERIKA["username"], user.email):
        page = again.submit_password(again.login_url(), login, PASSWORD)
        assert page.status_code == 200
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert refused(cli_env, "users", "erase", sub, "--yes").startswith("error: user")
    assert refused(cli_env, "users", "show", ERIKA["email"]) == f"error: no user {ERIKA['email']!r}"


# --- typed login names in the audit trail ---------------------------------------------------------------------------

def test_typed_login_names_of_failed_sign_ins_are_kept_as_keyed_hashes(app, make_user, rp):
    make_user("anna@example.org", username="anna")
    for typed in ("anna@example.org", "ANNA", "nobody@example.org", "nobody@example.org"):
        rp.submit_password(rp.login_url(), typed, "wrong password")
    failures = rows(EventTag.LOGIN_PASSWORD_FAILURE)
    assert len(failures) == 4
    text = json.dumps([f.details for f in failures]).lower()
    assert "anna" not in text and "nobody" not in text
    assert all("login" not in f.details for f in failures)
    # Still tied together: the same typed name gives the same hash, and an admin can look one up.
    hashes = [f.details["login_hash"] for f in failures]
    assert hashes == [login_key("anna@example.org"), login_key("anna"), login_key("nobody@example.org"),
                      login_key("nobody@example.org")]
    assert hashes[1] == login_key("Anna")


# --- the library commands, documented ------------------------------------------------------------------------------

def test_db_and_limiter_say_what_they_are_for(cli_env):
    assert "idp init" in ok(cli_env, "db", "--help")
    assert "idp users unlock" in ok(cli_env, "limiter", "--help")
    listing = ok(cli_env, "--help")
    assert "Database migrations (Alembic)" in listing and "Rate limits" in listing
