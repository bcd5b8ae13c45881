"""The development inbox: in dev mode it shows what was sent, codes readable and links clickable; else 404."""

from __future__ import annotations

import pytest

from idp.extensions import db
from idp.messaging import send
from idp.web.inbox import segments


def test_dev_inbox_shows_the_latest_messages_newest_first(client, user):
    send("email", user.email, "login_code", user=user, locale="en", code="CGMDPP", minutes=5,
         portal="Huisartsportaal", change_password_url="http://localhost/password/change")
    send("sms", "+31612345678", "login_code", user=user, locale="en", code="4821-305917", minutes=5,
         portal="P")
    db.session.commit()
    page = client.get("/dev/inbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("+31612345678") < html.index(user.email)  # newest first
    assert "<strong><code>4821-305917</code></strong>" in html
    assert "<strong><code>CGMDPP</code></strong>" in html
    assert '<a href="http://localhost/password/change">http://localhost/password/change</a>' in html
    assert "Your sign-in code for Huisartsportaal" in html and "pending" in html
    assert 'href="/dev/inbox"' in html  # refresh
    assert page.headers["Cache-Control"] == "no-store"


def test_dev_inbox_shows_mail_and_sms_but_no_backchannel_logout(app, client, user, make_portal):
    from idp import clock, sessions
    from idp.messaging import read
    from idp.messaging.queue import INLINE
    from idp.models import OutboxMessage
    from tests.oidc.backchannel_receiver import closed_port_uri

    app.config[INLINE] = True
    portal = make_portal(backchannel_logout_uri=closed_port_uri())
    session, _ = sessions.start(user, amr=["pwd"], acr=None, auth_time=clock.now())
    sessions.add_client(session, portal)
    mail = send("email", user.email, "recovery_codes_created", user=user, locale="en", account_url="http://x")
    [logout] = sessions.end(session)
    db.session.commit()
    token = read(logout)[2]
    assert db.session.get(OutboxMessage, logout.id).status == "pending"  # queued, and not yet delivered

    html = client.get("/dev/inbox").get_data(as_text=True)
    assert f'id="message-{mail.id}"' in html
    assert f'id="message-{logout.id}"' not in html and token not in html and portal.client_id not in html


def test_dev_inbox_escapes_what_it_shows(client, user):
    send("email", user.email, "factor_added", user=user, locale="en", factor="<script>alert(1)</script>",
         account_url="http://localhost/account")
    db.session.commit()
    html = client.get("/dev/inbox").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_dev_inbox_when_empty(client):
    assert client.get("/dev/inbox").status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"server": {"dev_mode": False, "issuer": "https://idp.example"}}])
def test_dev_inbox_does_not_exist_outside_dev_mode(client, user):
    send("email", user.email, "recovery_codes_created", user=user, account_url="http://x")
    db.session.commit()
    page = client.get("/dev/inbox", base_url="https://idp.example")
    assert page.status_code == 404 and user.email not in page.get_data(as_text=True)


def test_codes_and_links_are_picked_out_of_a_line():
    assert segments("Code 4821-305917, see https://idp.example/a?b=1 or CGMDPP.") == [
        ("text", "Code "), ("code", "4821-305917"), ("text", ", see "), ("link", "https://idp.example/a?b=1"),
        ("text", " or "), ("code", "CGMDPP"), ("text", ".")]
