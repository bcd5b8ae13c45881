"""Lockout (issue 4 part 7, seed 000): five wrong passwords lock a name until the helpdesk unlocks it."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import create_engine, func, select, text

from idp.audit import EventTag
from idp.extensions import db
from idp.models import LoginFailure
from idp.security import lockout
from idp.security.logins import login_key
from tests.helpers import RelyingParty, audit_events, tomorrow_at
from tests.mfa_helpers import SignIn, messages

# The CLI test's fixtures (a database `idp init` prepared) and its ways of running the command.
from tests.unit.test_cli import env, fresh, initialised, ok, refused  # noqa: F401

RIGHT = "correct horse battery"
WRONG = "not my password"
LOCKED = "This account is locked because a wrong password was entered too many times."
NOT_CORRECT = "The e-mail address or password is not correct."
GENERIC_HELP = "For help, contact the organisation that gave you access."


@pytest.fixture
def anna(make_user):
    return make_user("anna@example.org", RIGHT, name="Anna de Vries", username="anna", locale="en")


def sign_in(rp: RelyingParty, **extra) -> SignIn:
    """A new sign-in page of this portal, in English (the default language is Dutch)."""
    return SignIn(rp.client, rp.login_url(ui_locales="en", prompt="login", **extra))


def wrong_passwords(attempt: SignIn, login: str, times: int):
    for _ in range(times):
        response = attempt.password(login, WRONG)
    return response


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def comparable(response, uid: str, login: str) -> str:
    """The body without what differs by nature: the CSRF token, the sign-in's uid and the typed name."""
    body = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="TOKEN"',
                  response.get_data(as_text=True))
    return body.replace(uid, "UID").replace(login, "LOGIN")


def test_locked_after_five_wrong_passwords(app, rp, anna):
    attempt = sign_in(rp)
    fourth = wrong_passwords(attempt, "anna@example.org", 4)
    assert NOT_CORRECT in text_of(fourth) and LOCKED not in text_of(fourth)
    assert not messages(app, template="account_locked")

    fifth = attempt.password("anna@example.org", WRONG)
    assert fifth.status_code == 200 and LOCKED in text_of(fifth) and GENERIC_HELP in text_of(fifth)
    assert 'role="alert"' in text_of(fifth)

    sixth = attempt.password("anna@example.org", RIGHT)  # the right password does not help now
    assert sixth.status_code == 200 and LOCKED in text_of(sixth)
    assert attempt.stage == "password"

    [locked] = audit_events(EventTag.ACCOUNT_LOCKED)
    assert locked.subject_user_id == anna.id and locked.client_id == rp.portal.client_id
    assert "login_hash" not in locked.details and locked.details["failures"] == 5
    assert audit_events(EventTag.LOGIN_PASSWORD_FAILURE)[-1].details["reason"] == "locked"
    assert not audit_events(EventTag.LOGIN_PASSWORD_SUCCESS)

    [mail] = messages(app, to="anna@example.org", template="account_locked")
    assert mail["subject"] == f"{rp.portal.name}: Your account is locked"  # whose mail it is
    body = " ".join(mail["body"].split())
    assert "too many times" in body and rp.portal.name in body
    assert "until the helpdesk unlocks it" in body and GENERIC_HELP in body
    assert "someone may be trying to guess your password" in body
    assert RIGHT not in body and WRONG not in body


def test_the_lock_holds_for_the_username_and_in_a_new_sign_in_too(rp, anna):
    wrong_passwords(sign_in(rp), "Anna@Example.ORG", 5)  # the e-mail address in any case is one name
    again = sign_in(rp).password("anna@example.org", RIGHT)
    assert again.status_code == 200 and LOCKED in text_of(again)
    # Counting is per account: the username is locked with it.
    assert LOCKED in text_of(sign_in(rp).password("anna", RIGHT))


def test_unknown_names_lock_the_same_way_with_the_same_response(app, client, portal, anna):
    rp = RelyingParty(client, portal)
    known, unknown = sign_in(rp), sign_in(rp)
    for login, attempt in (("anna@example.org", known), ("nobody@example.org", unknown)):
        fifth = wrong_passwords(attempt, login, 5)
        assert fifth.status_code == 200 and LOCKED in text_of(fifth)
    known_answer = known.password("anna@example.org", RIGHT)
    unknown_answer = unknown.password("nobody@example.org", RIGHT)
    assert known_answer.status_code == unknown_answer.status_code == 200
    assert (comparable(known_answer, known.url.rsplit("/", 1)[1], "anna@example.org")
            == comparable(unknown_answer, unknown.url.rsplit("/", 1)[1], "nobody@example.org"))
    assert sorted(known_answer.headers.keys()) == sorted(unknown_answer.headers.keys())

    # Only the real account hears of it; the unknown name is recorded by its keyed hash alone.
    assert [m["to"] for m in messages(app, template="account_locked")] == ["anna@example.org"]
    for_anna, for_nobody = audit_events(EventTag.ACCOUNT_LOCKED)
    assert for_anna.subject_user_id == anna.id
    assert for_nobody.subject_user_id is None
    assert for_nobody.details["login_hash"] == login_key("nobody@example.org")
    assert "nobody" not in str(for_nobody.details)


def test_a_success_in_between_resets_the_count(rp, anna):
    attempt = sign_in(rp)
    wrong_passwords(attempt, "anna@example.org", 4)
    assert attempt.password("anna@example.org", RIGHT).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0

    attempt = sign_in(rp)
    fourth = wrong_passwords(attempt, "anna@example.org", 4)
    assert NOT_CORRECT in text_of(fourth)
    assert LOCKED in text_of(attempt.password("anna@example.org", WRONG))


def test_unlock_lets_the_person_sign_in_again(rp, anna):
    wrong_passwords(sign_in(rp), "anna", 5)  # the username counts for the account
    assert lockout.login_locked("anna@example.org")

    assert lockout.unlock(anna) == 1
    db.session.commit()
    [unlocked] = audit_events(EventTag.ACCOUNT_UNLOCKED)
    assert unlocked.subject_user_id == anna.id and unlocked.details["was_locked"] is True
    assert not lockout.login_locked("anna@example.org")
    assert sign_in(rp).password("anna@example.org", RIGHT).status_code == 302


@pytest.mark.parametrize("settings_overrides", [{"lockout": {"cooldown_minutes": 15}}])
def test_with_a_cooldown_the_lock_ends_by_itself(app, rp, anna):
    start = tomorrow_at(9)
    with time_machine.travel(start, tick=False):
        assert LOCKED in text_of(wrong_passwords(sign_in(rp), "anna@example.org", 5))
    [mail] = messages(app, to="anna@example.org", template="account_locked")
    assert "You can try again after 15 minutes." in " ".join(mail["body"].split())

    with time_machine.travel(start + timedelta(minutes=14, seconds=59), tick=False):
        assert LOCKED in text_of(sign_in(rp).password("anna@example.org", RIGHT))
    with time_machine.travel(start + timedelta(minutes=15), tick=False):
        # The count starts from 0 again: one wrong password is just a wrong password.
        attempt = sign_in(rp)
        assert NOT_CORRECT in text_of(attempt.password("anna@example.org", WRONG))
        assert db.session.scalar(select(LoginFailure.failures)) == 1
        assert attempt.password("anna@example.org", RIGHT).status_code == 302


@pytest.mark.parametrize("settings_overrides", [{"lockout": {"help_contact": "servicedesk@zorg.example"}}])
def test_the_help_contact_of_the_portal_is_shown(client, make_portal, anna):
    contact = "Bel de helpdesk: 088 123 45 67"
    own = RelyingParty(client, make_portal("Ziekenhuisportaal", help_contact=contact))
    page = text_of(wrong_passwords(sign_in(own), "anna@example.org", 5))
    assert LOCKED in page and f"For help, contact {contact}." in page
    assert "servicedesk@zorg.example" not in page

    # A portal without its own contact shows the deployment's.
    other = RelyingParty(client, make_portal("Apotheekportaal"))
    page = text_of(wrong_passwords(sign_in(other), "nobody@example.org", 5))
    assert "For help, contact servicedesk@zorg.example." in page


@pytest.mark.parametrize("settings_overrides", [{"lockout": {"max_failures": 3}}])
def test_the_number_of_failures_is_a_setting(rp, anna):
    attempt = sign_in(rp)
    assert NOT_CORRECT in text_of(wrong_passwords(attempt, "anna@example.org", 2))
    assert LOCKED in text_of(attempt.password("anna@example.org", WRONG))


def test_a_disabled_account_locks_without_mail(app, rp, anna):
    from idp.accounts.users import disable

    disable(anna)
    db.session.commit()
    assert LOCKED in text_of(wrong_passwords(sign_in(rp), "anna@example.org", 5))
    assert len(audit_events(EventTag.ACCOUNT_LOCKED)) == 1
    assert not messages(app, template="account_locked")


def test_concurrent_attempts_get_no_more_checks_than_allowed_and_lock_once(app, anna):
    """Eight password attempts at the same moment (max_failures 5): each is counted before its password is
    checked, so exactly five are checked, one of them is the last, and the others are refused as locked."""
    barrier = threading.Barrier(8)
    results: list[lockout.Attempt] = []

    def fail_once():
        with app.app_context():
            barrier.wait()
            for _ in range(20):  # SQLite allows one writer: a busy database is tried again
                try:
                    results.append(lockout.begin_attempt("anna@example.org"))
                    return
                except Exception as error:
                    db.session.rollback()
                    if "locked" not in str(error):
                        raise

    threads = [threading.Thread(target=fail_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    assert sum(attempt.allowed for attempt in results) == 5
    assert sum(attempt.last for attempt in results) == 1
    row = db.session.scalar(select(LoginFailure))
    assert row.failures == 5 and row.locked_at is not None


def test_parallel_sign_ins_check_no_more_passwords_than_the_allowance(app, make_portal, anna):
    """The probe's race: four browsers post a wrong password at once when one try is left. Only one of them
    has its password checked; the others are answered "locked" without it (issue 13)."""
    portal = make_portal("Zorgportaal")
    attempt = sign_in(RelyingParty(app.test_client(), portal))
    wrong_passwords(attempt, "anna@example.org", 4)
    pages = [sign_in(RelyingParty(app.test_client(), portal)) for _ in range(4)]
    barrier = threading.Barrier(4)
    answers: list[str] = []

    def post(page: SignIn):
        barrier.wait()
        answers.append(text_of(page.password("anna@example.org", WRONG)))

    threads = [threading.Thread(target=post, args=(page,)) for page in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = [e for e in audit_events(EventTag.LOGIN_PASSWORD_FAILURE) if e.details["reason"] != "locked"]
    assert len(checked) == 5  # the four before, and one of the four at once
    assert len(answers) == 4 and all(LOCKED in answer for answer in answers)
    assert len(audit_events(EventTag.ACCOUNT_LOCKED)) == 1


# --- the `idp users unlock` command, as an operator runs it -------------------------------------------

def test_users_unlock_command(env):  # noqa: F811
    ok(env, "users", "add", "--email", "anna@example.org", "--password", RIGHT, "--username", "anna")
    engine = create_engine(env["IDP_DATABASE_URL"])
    from idp import create_app
    from idp.settings import load

    app = create_app(load(environ=env))
    with app.app_context():
        for name in ("anna@example.org", "nobody@example.org"):
            db.session.add(LoginFailure(login_hash=login_key(name), failures=5,
                                        last_failure_at=datetime.now(UTC), locked_at=datetime.now(UTC)))
        db.session.commit()
        db.engine.dispose()

    assert ok(env, "users", "unlock", "anna").strip() == "unlocked anna@example.org"
    again = ok(env, "users", "unlock", "anna@example.org").strip()
    assert again == "anna@example.org was not locked; nothing to clear"
    assert refused(env, "users", "unlock", "nobody@example.org") == "error: no user 'nobody@example.org'"
    with engine.connect() as conn:
        # Only the unknown name's row is left.
        assert conn.execute(text("SELECT count(*) FROM login_failure")).scalar_one() == 1
        tags = [r[0] for r in conn.execute(text("SELECT tag FROM audit_event WHERE tag LIKE 'account:%'"))]
    engine.dispose()
    assert tags == ["account:unlocked", "account:unlocked"]


def test_the_email_and_the_username_share_one_count(app, client, portal, make_user):
    """Guessing with the username after the e-mail address does not buy another five tries."""
    from idp.security import lockout
    from tests.helpers import RelyingParty

    make_user("jan@example.org", "correct horse battery", username="jan.jansen")
    rp = RelyingParty(client, portal)
    for login in ("jan@example.org", "jan.jansen", "JAN@example.org", "jan.jansen", "jan@example.org"):
        rp.submit_password(rp.authorize().location, login, "wrong password")
    assert lockout.login_locked("jan@example.org")
    response = rp.submit_password(rp.authorize().location, "jan.jansen", "correct horse battery")
    assert response.status_code == 200  # locked: no way in, not even with the right password


# --- the same name in other forms (issue 13) ------------------------------------------------------------

FULLWIDTH_EMAIL = "\uff41\uff4e\uff4e\uff41@example.org"  # ａｎｎａ@example.org
FULLWIDTH_USERNAME = "\uff41\uff4e\uff4e\uff41"  # ａｎｎａ
NBSP = "\u00a0"
IDEOGRAPHIC_SPACE = "\u3000"


@pytest.mark.parametrize("forms", [
    [FULLWIDTH_EMAIL, "ANNA@EXAMPLE.ORG", NBSP + "anna@example.org" + NBSP, FULLWIDTH_USERNAME,
     IDEOGRAPHIC_SPACE + "Anna@Example.org" + IDEOGRAPHIC_SPACE],
    [FULLWIDTH_EMAIL, "ANNA", NBSP + "anna@example.org" + NBSP, "ANNA", IDEOGRAPHIC_SPACE + "anna" + NBSP],
], ids=["nfkc and e-mail case", "with the username upper-cased"])
def test_five_wrong_tries_in_nfkc_and_case_forms_lock_the_plain_name(rp, anna, forms):
    attempt = sign_in(rp)
    for typed in forms:
        fifth = attempt.password(typed, WRONG)
        assert fifth.status_code == 200 and attempt.stage == "password"

    for plain in ("anna@example.org", "anna"):
        again = sign_in(rp).password(plain, RIGHT)
        assert again.status_code == 200 and LOCKED in text_of(again), (plain, again.status_code, again.location)
    assert not audit_events(EventTag.LOGIN_PASSWORD_SUCCESS)
    assert lockout.login_locked("anna@example.org")
    assert LOCKED in text_of(fifth)


def test_a_username_is_case_insensitive_like_the_address(rp, anna):
    """"ANNA" is the account "anna" (as "ANNA@EXAMPLE.ORG" is anna@example.org): one account, one count."""
    response = sign_in(rp).password("ANNA", RIGHT)
    assert response.status_code == 302 and "/login/" not in response.location
    [success] = audit_events(EventTag.LOGIN_PASSWORD_SUCCESS)
    assert success.subject_user_id == anna.id
