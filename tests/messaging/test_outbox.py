"""send() writes the message with the change that causes it: rendered in the person's language, encrypted."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.messaging import Sender, dead_letters, erase_old, read, render, retry_dead, send
from idp.models import OutboxMessage

LOGIN_MAIL = {"code": "CGMDPP", "minutes": 5, "portal": "Huisartsportaal",
              "change_password_url": "http://localhost/password/change"}


def raw_rows() -> list[dict]:
    return [dict(row) for row in db.session.execute(text("SELECT * FROM outbox_message")).mappings()]


def test_send_writes_an_encrypted_row_without_the_code(user):
    message = send("email", user.email, "login_code", user=user, **LOGIN_MAIL)
    db.session.commit()
    [row] = raw_rows()
    assert not any("CGMDPP" in str(value) or user.email in str(value) for value in row.values())
    assert row["status"] == "pending" and row["attempts"] == 0 and row["user_id"] == user.id
    assert row["channel"] == "email" and row["template"] == "login_code"
    to, subject, body = read(message)
    assert to == user.email and "CGMDPP" in body and "CGMDPP" not in subject
    assert "http://localhost/password/change" in body


def test_send_commits_with_the_change_that_caused_it(user):
    send("sms", "+31612345678", "login_code", user=user, code="4821-305917", minutes=5, portal="P")
    db.session.rollback()
    assert raw_rows() == []
    send("sms", "+31612345678", "login_code", user=user, code="4821-305917", minutes=5, portal="P")
    db.session.commit()
    assert len(raw_rows()) == 1


def test_sms_is_one_line_without_a_subject(user):
    message = send("sms", "+31612345678", "login_code", user=user, locale="en",
                   code="4821-305917", minutes=5, portal="Huisartsportaal")
    _, subject, body = read(message)
    assert subject is None and "\n" not in body
    assert body.startswith("4821-305917 ") and "Huisartsportaal" in body and "5 minutes" in body


def test_login_code_mail_in_english(app):
    subject, body = render("email", "login_code", "en", **LOGIN_MAIL)
    assert subject == "Your sign-in code for Huisartsportaal"
    assert "Your code is CGMDPP" in body and "valid for 5 minutes" in body
    assert "Did you not try to sign in? Change your password.\nhttp://localhost/password/change" in body


def test_login_code_mail_in_dutch(app):
    # Needs the Dutch catalog entries of the messaging templates (idp/translations).
    subject, body = render("email", "login_code", "nl", **LOGIN_MAIL)
    assert subject == "Uw inlogcode voor Huisartsportaal"
    assert "Uw code is CGMDPP" in body and "5 minuten geldig" in body
    assert "Heeft u niet geprobeerd in te loggen? Wijzig dan uw wachtwoord.\nhttp://localhost/password/change" \
        in body


def test_the_language_is_the_callers_then_the_users_then_the_default(make_user):
    english = make_user(locale="en")
    dutch = make_user(locale="nl")

    def body(to, **kw) -> str:
        return read(send("email", to, "recovery_codes_created", account_url="http://x", **kw))[2]

    assert "Sign-in service" in body(english.email, user=english)
    assert "Inlogdienst" in body(dutch.email, user=dutch)
    assert "Sign-in service" in body(dutch.email, user=dutch, locale="en")
    assert "Inlogdienst" in body("x@example.org")  # no user: the default language (nl)


@pytest.mark.parametrize(("channel", "template", "context"), [
    ("email", "login_code", LOGIN_MAIL),
    ("sms", "login_code", {"code": "305917", "minutes": 1, "portal": "P"}),
    ("email", "enrol_code", {"code": "KXRTWP", "minutes": 5}),
    ("sms", "enrol_code", {"code": "305917", "minutes": 5}),
    ("email", "factor_added", {"factor": "SMS to +31 6 ••• ••• 78", "account_url": "http://localhost/account"}),
    ("email", "factor_removed", {"factor": "Authenticator app", "account_url": "http://localhost/account"}),
    ("email", "recovery_code_used", {"remaining": 1, "account_url": "http://localhost/account"}),
    ("email", "recovery_codes_created", {"account_url": "http://localhost/account"}),
])
@pytest.mark.parametrize("locale", ["nl", "en"])
def test_every_template_renders_in_both_languages(app, channel, template, context, locale):
    subject, body = render(channel, template, locale, **context)
    for value in context.values():
        assert str(value) in body
    if channel == "email":
        assert subject and str(context.get("code", "never in a subject")) not in subject
        assert body.rstrip().endswith("Inlogdienst" if locale == "nl" else "Sign-in service")
        assert "helpdesk" in body or "password" in body or "wachtwoord" in body
    else:
        assert subject is None and "\n" not in body and len(body) <= 160


def test_unknown_channel_or_template_is_refused(app):
    with pytest.raises(InvalidInput):
        send("fax", "x", "login_code")
    with pytest.raises(InvalidInput):
        send("email", "x@example.org", "../base")
    with pytest.raises(InvalidInput):
        send("email", "  ", "recovery_codes_created", account_url="http://x")


def test_old_texts_are_erased_but_pending_ones_kept(app, frozen):
    sent = send("email", "a@example.org", "recovery_codes_created", account_url="http://x")
    waiting = send("email", "b@example.org", "recovery_codes_created", account_url="http://x")
    db.session.flush()
    sent.status, sent.sent_at = "sent", frozen + timedelta(minutes=1)
    db.session.commit()
    assert erase_old(now=frozen + timedelta(hours=24)) == 0  # retention is 24 hours
    assert erase_old(now=frozen + timedelta(hours=24, minutes=2)) == 1
    db.session.commit()
    db.session.expire_all()
    assert read(sent) == ("a@example.org", sent.subject, "")
    assert read(waiting)[2] != ""


def test_dead_letters_are_listed_and_can_be_retried(app, time_machine):
    message = send("email", "a@example.org", "recovery_codes_created", account_url="http://x")
    other = send("email", "b@example.org", "recovery_codes_created", account_url="http://x")
    db.session.flush()
    message.status, message.attempts, message.last_error = "dead", 8, "SMTP ConnectionRefusedError"
    db.session.commit()
    assert dead_letters() == [message]
    retried = retry_dead(message.id)
    db.session.commit()
    assert retried.status == "pending" and retried.attempts == 0 and dead_letters() == []
    with pytest.raises(NotFound):
        retry_dead(other.id)


def test_a_dead_letter_whose_text_was_erased_cannot_be_retried(app):
    message = send("email", "a@example.org", "recovery_codes_created", account_url="http://x")
    db.session.flush()
    message.status, message.body_encrypted = "dead", None
    db.session.commit()
    with pytest.raises(InvalidInput):
        retry_dead(message.id)
    assert db.session.scalar(select(OutboxMessage.status)) == "dead"


# --- a message for a portal (issue 14): signed by its organisation, in its form of address -------------------

EVERY_PARAM = {"code": "305917", "minutes": 5, "portal": "Jongerenportaal", "account_url": "http://localhost/account",
               "change_password_url": "http://localhost/account", "factor": "Authenticator app", "remaining": 2,
               "contact": "088 123 45 67", "cooldown_minutes": 15, "email": "sam@example.org",
               "activate_url": "http://localhost/activate/x", "hours": 72, "organisation": "Zorgverzekeraar Zuid",
               "reset_url": "http://localhost/reset", "url": "http://localhost/reset/x", "password": "abcd-efgh-jkmn",
               "login": "sam", "sign_in_url": "http://localhost/login", "name": "Els de Vries", "days": 14,
               "accept_url": "http://localhost/account/delegations", "other": "Els de Vries", "role": "principal",
               "end_date": "2027-01-01", "adult_from": 16}
TEMPLATES = [(channel, path.stem) for channel, folder in (("email", "mail"), ("sms", "sms"))
             for path in sorted((Path(__file__).parents[2] / "templates" / folder).glob("*.txt"))]
FORMAL_WORDS = re.compile(r"\b(?:u|uw)\b", re.IGNORECASE)


def test_every_template_is_tested_here():
    assert ("email", "reset_link") in TEMPLATES and ("sms", "login_code") in TEMPLATES and len(TEMPLATES) >= 16


@pytest.mark.parametrize(("channel", "template"), TEMPLATES)
def test_every_message_for_a_je_portal_says_je_and_is_signed_by_it(app, channel, template):
    sender = Sender("Zorgverzekeraar Zuid", "je")
    subject, body = render(channel, template, "nl", sender, **EVERY_PARAM)
    assert FORMAL_WORDS.findall(f"{subject or ''} {body}") == []
    assert re.search(r"\b(?:je|jij|jouw|jou)\b", f"{subject or ''} {body}", re.IGNORECASE)
    if channel == "email":
        assert "Zorgverzekeraar Zuid" in subject
        assert body.rstrip().endswith("\nZorgverzekeraar Zuid") and "Inlogdienst" not in body
    else:
        assert "Zorgverzekeraar Zuid" in body or "Jongerenportaal" in body


@pytest.mark.parametrize(("channel", "template"), TEMPLATES)
def test_the_same_message_for_a_u_portal_says_u_and_one_for_no_portal_is_the_sign_in_services(app, channel, template):
    subject, body = render(channel, template, "nl", Sender("Huisartsen Oost"), **EVERY_PARAM)
    assert FORMAL_WORDS.search(f"{subject or ''} {body}")
    assert not re.search(r"\b(?:je|jij|jouw|jou)\b", f"{subject or ''} {body}", re.IGNORECASE)
    unsigned_subject, unsigned = render(channel, template, "nl", **EVERY_PARAM)
    if channel == "email":
        assert body.rstrip().endswith("\nHuisartsen Oost") and "Huisartsen Oost" in subject
        assert unsigned.rstrip().endswith("\nInlogdienst") and "Huisartsen Oost" not in unsigned_subject


def test_english_has_one_form_of_address_and_the_portals_signature(app):
    subject, body = render("email", "reset_link", "en", Sender("Zorgverzekeraar Zuid", "je"), **EVERY_PARAM)
    assert subject == "Zorgverzekeraar Zuid: Choose a new password"
    assert "Someone, probably you, asked for a link" in body
    assert body.rstrip().endswith("\nZorgverzekeraar Zuid")
