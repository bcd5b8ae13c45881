"""Issue 16 part 2: the admin console's messages page (/admin/messages): the deliveries given up on, masked and
without their text; sending one or all again (a confirmation, then a POST with its CSRF token), audited with
the admin as actor; deployment admins only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from idp.accounts.users import phone_of
from idp.audit import EventTag
from idp.extensions import db
from idp.messaging import deliver_due, send, transports
from idp.models import AuditEvent, OutboxMessage
from idp.runtime import settings
from tests.flows.admin_helpers import make_world
from tests.flows.test_admin_console import session_for, token_of
from tests.helpers import audit_events, english_browser

CODE = "305917"


@pytest.fixture
def client(app):
    return english_browser(app)


@pytest.fixture
def world(app):
    return make_world()


def dead(message: OutboxMessage, error: str = "HTTP 503") -> OutboxMessage:
    """Given up on after the last attempt, as the worker leaves it."""
    message.status, message.attempts, message.last_error = "dead", settings().messaging.max_attempts, error
    db.session.commit()
    return message


@pytest.fixture
def undelivered(world):
    pro = world["pro"]
    sms = dead(send("sms", phone_of(pro), "login_code", user=pro, code=CODE, minutes=5, portal="Huisartsportaal"))
    mail = dead(send("email", pro.email, "login_code", user=pro, code="KXRTWP", minutes=5, portal="Huisartsportaal",
                     change_password_url="http://localhost/account/password"), error="SMTP ConnectionRefusedError")
    return {"sms": sms, "mail": mail}


def state(message_id: int) -> tuple[str, int]:
    db.session.expire_all()
    message = db.session.get(OutboxMessage, message_id)
    return message.status, message.attempts


def delivered_to(app, to: str) -> list[dict]:
    path = transports.file_path(settings().messaging)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [m for m in map(json.loads, lines) if m["to"] == to]


def test_the_page_lists_what_was_given_up_on_masked_and_without_its_text(app, client, world, undelivered):
    session_for(client, world["deployment"])
    page = client.get("/admin/messages")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Messages not delivered" in text
    assert "To: •••004" in text and "To: p***@noord.example" in text  # Piet's +31612000004 and e-mail
    assert phone_of(world["pro"]) not in text and world["pro"].email not in text
    assert CODE not in text and "KXRTWP" not in text and "localhost/account/password" not in text
    assert "HTTP 503" in text and "SMTP ConnectionRefusedError" in text and "Kind: login_code" in text
    assert f"/admin/messages/{undelivered['sms'].id}/retry" in text


def test_a_dead_sms_is_sent_again_and_delivered(app, client, world, undelivered):
    admin, pro = world["deployment"], world["pro"]
    sms = undelivered["sms"]
    session_for(client, admin)
    url = f"/admin/messages/{sms.id}/retry"
    confirm = client.get(url)
    assert "Yes, send again" in confirm.get_data(as_text=True) and CODE not in confirm.get_data(as_text=True)
    assert state(sms.id) == ("dead", settings().messaging.max_attempts)  # asking changes nothing

    done = client.post(url, data={"csrf_token": token_of(client, url)})
    assert done.status_code == 302 and done.location.endswith("/admin/messages")
    assert "queued again" in client.get("/admin/messages").get_data(as_text=True)
    assert state(sms.id) == ("pending", 0)
    assert state(undelivered["mail"].id)[0] == "dead"  # only the one asked for
    [retried] = audit_events(EventTag.MESSAGE_RETRIED)
    assert (retried.actor, retried.actor_user_id, retried.subject_user_id) == (f"user:{admin.sub}", admin.id, pro.id)
    assert retried.details["message_id"] == sms.id and CODE not in json.dumps(retried.details)

    assert deliver_due() == {"sent": 1, "retried": 0, "dead": 0, "cancelled": 0}  # the worker's next pass
    assert state(sms.id) == ("sent", 1)
    [delivered] = delivered_to(app, phone_of(pro))
    assert CODE in delivered["body"]
    assert "•••004" not in client.get("/admin/messages").get_data(as_text=True)
    # Piet's own activity page does not show the console's work on the queue.
    theirs = english_browser(app)
    session_for(theirs, pro, mfa=False)
    activity = theirs.get("/account/activity")
    assert activity.status_code == 200 and "message:retried" not in activity.get_data(as_text=True)


def test_send_all_again(app, client, world, undelivered):
    session_for(client, world["deployment"])
    erased = dead(send("email", "old@example.org", "recovery_codes_created", account_url="http://x"))
    erased.body_encrypted = None
    db.session.commit()
    url = "/admin/messages/retry-all"
    assert "2 messages will be sent again" in client.get(url).get_data(as_text=True)
    client.post(url, data={"csrf_token": token_of(client, url)})
    page = client.get("/admin/messages").get_data(as_text=True)
    assert "2 messages are queued again" in page and "1 message is too old to send again" in page
    assert state(undelivered["sms"].id)[0] == state(undelivered["mail"].id)[0] == "pending"
    assert state(erased.id)[0] == "dead"
    assert sorted(e.details["message_id"] for e in audit_events(EventTag.MESSAGE_RETRIED)) == sorted(
        [undelivered["sms"].id, undelivered["mail"].id])


@pytest.mark.parametrize("forged", [None, "forged"])
def test_a_retry_without_a_valid_csrf_token_changes_nothing(app, client, world, undelivered, forged):
    session_for(client, world["deployment"])
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    data = {"csrf_token": forged} if forged else {}
    for url in (f"/admin/messages/{undelivered['sms'].id}/retry", "/admin/messages/retry-all"):
        assert client.post(url, data=data).status_code in (400, 403)
    assert state(undelivered["sms"].id)[0] == state(undelivered["mail"].id)[0] == "dead"
    db.session.expire_all()
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all() == []


@pytest.mark.parametrize("role", ["helpdesk", "org_admin", "nobody"])
def test_only_a_deployment_admin_may(app, client, world, undelivered, role):
    session_for(client, world[role])
    token = token_of(client, "/account/profile")
    sms = undelivered["sms"]
    for url in ("/admin/messages", f"/admin/messages/{sms.id}/retry", "/admin/messages/retry-all"):
        response = client.get(url)
        assert response.status_code == 403 and "To:" not in response.get_data(as_text=True)
        assert client.post(url, data={"csrf_token": token}).status_code in (403, 405)
    assert state(sms.id)[0] == "dead" and audit_events(EventTag.MESSAGE_RETRIED) == []


def test_a_message_no_longer_dead_is_not_sent_twice(app, client, world, undelivered):
    session_for(client, world["deployment"])
    url = f"/admin/messages/{undelivered['sms'].id}/retry"
    token = token_of(client, url)
    client.post(url, data={"csrf_token": token})
    again = client.post(url, data={"csrf_token": token})
    assert "Nothing has been sent again" in client.get(again.location).get_data(as_text=True)
    assert len(audit_events(EventTag.MESSAGE_RETRIED)) == 1
    assert client.get(url).status_code == 302  # the confirmation of something gone sends back to the list


def test_without_a_session_it_asks_to_sign_in(app, world):
    from tests.helpers import browser

    response = browser(app).get("/admin/messages")
    assert response.status_code == 302 and "/authorize?" in response.location
