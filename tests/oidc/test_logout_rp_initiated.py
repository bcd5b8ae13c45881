"""RP-initiated logout (OIDC RP-Initiated Logout 1.0) at the end_session_endpoint /logout."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from idp import clock
from idp.audit import EventTag
from idp.extensions import db
from idp.models import SsoSession
from tests.helpers import RelyingParty, query
from tests.oidc.forged_hints import FORGERIES, forge
from tests.oidc.logout_helpers import PASSWORD, audit, confirm_page, end_session


@pytest.fixture
def settings_overrides():
    # Long enough that an ID token can expire while the SSO session is still alive.
    return {"session": {"idle_minutes": 120}, "tokens": {"id_token_seconds": 300}}


@pytest.fixture
def signed_in(rp, user):
    """Anna signed in at the portal: the portal's ID token."""
    return rp.tokens(user.email, PASSWORD)["id_token"]


def sso_session(rp, id_token: str) -> SsoSession:
    sid = rp.decode_id_token(id_token)["sid"]
    session = db.session.scalar(select(SsoSession).where(SsoSession.sid == sid))
    db.session.refresh(session)
    return session


def still_signed_in(rp) -> bool:
    """Would the portal get a code without asking Anna anything?"""
    response = rp.authorize(prompt="none")
    return "code" in query(response.location)


def sso_cookie_cleared(response) -> bool:
    return any(h.startswith("idp_sso=;") and "Max-Age=0" in h for h in response.headers.getlist("Set-Cookie"))


def test_logout_with_only_hint_and_redirect_uri(client, rp, signed_in):
    target = rp.portal.post_logout_redirect_uris[0]
    response = end_session(client, id_token_hint=signed_in, post_logout_redirect_uri=target)

    assert response.status_code == 302
    assert response.location == target
    assert sso_cookie_cleared(response)
    assert sso_session(rp, signed_in).ended_at is not None
    assert not still_signed_in(rp)


def test_state_is_echoed_on_the_redirect(client, rp, signed_in):
    target = rp.portal.post_logout_redirect_uris[0]
    response = end_session(client, id_token_hint=signed_in, post_logout_redirect_uri=target,
                           client_id=rp.portal.client_id, state="af0ifjsldkj")

    assert response.status_code == 302
    assert response.location == target + "?state=af0ifjsldkj"


def test_logout_by_post_form(client, rp, signed_in):
    target = rp.portal.post_logout_redirect_uris[0]
    response = end_session(client, "POST", id_token_hint=signed_in, post_logout_redirect_uri=target)

    assert response.status_code == 302 and response.location == target
    assert sso_session(rp, signed_in).ended_at is not None


def test_expired_hint_still_names_the_client_but_the_person_confirms(client, rp, signed_in):
    """An expired ID token may come from a log or a copied link (issue 13): it names the portal, whose
    address is followed, but the person is asked first."""
    target = rp.portal.post_logout_redirect_uris[0]
    with time_machine.travel(clock.now() + timedelta(minutes=30)):  # the ID token lived 5 minutes
        assert still_signed_in(rp)
        page = end_session(client, id_token_hint=signed_in, post_logout_redirect_uri=target)
        assert page.status_code == 200 and "Wilt u uitloggen?" in page.get_data(as_text=True)
        assert still_signed_in(rp)  # nothing ended before the answer

        token = confirm_page(client, f"/logout?post_logout_redirect_uri={target}&id_token_hint={signed_in}")[1]
        response = end_session(client, "POST", csrf_token=token, confirm="yes", id_token_hint=signed_in,
                               post_logout_redirect_uri=target)
        assert response.status_code == 302 and response.location == target
        assert not still_signed_in(rp)


def test_logout_is_audited(client, rp, user, signed_in):
    end_session(client, id_token_hint=signed_in)

    [event] = audit(EventTag.LOGOUT)
    assert event.subject_user_id == user.id
    assert event.client_id == rp.portal.client_id
    assert event.details["sid"] == rp.decode_id_token(signed_in)["sid"]


def test_without_redirect_uri_the_person_sees_they_are_logged_out(client, rp, signed_in):
    response = end_session(client, id_token_hint=signed_in)

    assert response.status_code == 200
    assert "U bent uitgelogd" in response.get_data(as_text=True)
    assert sso_cookie_cleared(response)


@pytest.mark.parametrize("registered_where", ["nowhere", "other portal", "longer path", "extra query"])
def test_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(client, rp, make_portal, signed_in,
                                                                       registered_where):
    own = rp.portal.post_logout_redirect_uris[0]
    target = {
        "nowhere": "https://evil.example/logged-out",
        "other portal": make_portal().post_logout_redirect_uris[0],
        "longer path": own + "/../../evil",
        "extra query": own + "?next=https://evil.example",
    }[registered_where]

    response = end_session(client, id_token_hint=signed_in, post_logout_redirect_uri=target, state="s")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "post_logout_redirect_uri" in response.get_data(as_text=True)
    assert still_signed_in(rp)


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:9001/logged-out/",  # trailing slash
    "http://127.0.0.1:9001/LOGGED-OUT",  # path case
    "https://127.0.0.1:9001/logged-out",  # the scheme alone
    "http://127.0.0.1:9999/logged-out",  # other port
    "http://127.0.0.1:9001/logged-out/x",  # a bare extra segment
    "http://127.0.0.1:9001/logged-outx",  # a prefix of the path
    "http://127.0.0.1:9001/logged-out/../logged-out",
    "http://127.0.0.1:9001/x/../logged-out",
    "http://127.0.0.1:9001/logged-out#x",  # a fragment
    "http://127.0.0.1:9001/logged-out#",
    "http://user@127.0.0.1:9001/logged-out",  # userinfo
    "http://127.0.0.1:9001@evil.example/logged-out",  # the registered authority as userinfo
    "http://127.0.0.1:9001/%6cogged-out",  # an encoded letter
    "http://127.0.0.1:9001/logged-out%2F",  # an encoded slash
    "http://localhost:9001/logged-out",  # another name for the same host
    "http://[::1]:9001/logged-out",
    "http://127.0.0.1:9001/logged-out?",  # an empty query
    "http://127.0.0.1:9001//logged-out",
])
def test_a_near_miss_of_the_registered_redirect_uri_gets_an_error_page_never_a_redirect(client, rp, signed_in,
                                                                                        target):
    assert rp.portal.post_logout_redirect_uris == ["http://127.0.0.1:9001/logged-out"]
    response = end_session(client, id_token_hint=signed_in, post_logout_redirect_uri=target, state="s")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "post_logout_redirect_uri" in response.get_data(as_text=True)
    assert not sso_cookie_cleared(response)
    assert sso_session(rp, signed_in).ended_at is None
    assert still_signed_in(rp)


@pytest.mark.parametrize("target", [
    "HTTPS://PORTAL.EXAMPLE/logged-out",  # scheme and host case
    "https://PORTAL.example/logged-out",  # host case alone
    "https://portal.example./logged-out",
    "https://evil.portal.example/logged-out",  # a subdomain
    "https://portal.example.evil.example/logged-out",
    "https://portal.example:443/logged-out",  # the default port said out loud
    "http://portal.example/logged-out",  # the scheme alone
    "https://portal.example/logged-out?",  # an empty query
    "https://portal.example/logged-out#",
    "https://portal.example@evil.example/logged-out",
    "https://evil.example@portal.example/logged-out",  # userinfo before the right host
])
def test_a_near_miss_at_a_portal_registered_by_host_name_gets_an_error_page(client, make_portal, user, target):
    portal = make_portal(redirect_uris=["https://portal.example/callback"],
                         post_logout_redirect_uris=["https://portal.example/logged-out"])
    rp = RelyingParty(client, portal)
    id_token = rp.tokens(user.email, PASSWORD)["id_token"]

    response = end_session(client, id_token_hint=id_token, post_logout_redirect_uri=target)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "post_logout_redirect_uri" in response.get_data(as_text=True)
    assert sso_session(rp, id_token).ended_at is None
    assert still_signed_in(rp)
    # The control: the URI as registered is followed.
    done = end_session(client, id_token_hint=id_token, post_logout_redirect_uri="https://portal.example/logged-out")
    assert done.status_code == 302 and done.location == "https://portal.example/logged-out"
    assert not still_signed_in(rp)


def test_client_id_must_agree_with_the_hint(client, rp, make_portal, signed_in):
    other = make_portal()
    response = end_session(client, id_token_hint=signed_in, client_id=other.client_id,
                           post_logout_redirect_uri=other.post_logout_redirect_uris[0])

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "client_id" in response.get_data(as_text=True)
    assert still_signed_in(rp)


def test_redirect_uri_needs_a_known_client(client, rp, signed_in):
    response = end_session(client, post_logout_redirect_uri=rp.portal.post_logout_redirect_uris[0])

    assert response.status_code == 400 and "Location" not in response.headers
    assert still_signed_in(rp)


@pytest.mark.parametrize("hint", ["tampered", "garbage", "logout token"])
def test_a_hint_we_did_not_issue_as_id_token_is_refused(client, rp, signed_in, hint):
    if hint == "tampered":
        header, payload, signature = signed_in.split(".")
        value = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature])
    elif hint == "garbage":
        value = "not-a-jwt"
    else:
        from idp.messaging.backchannel import logout_token

        value = logout_token(rp.portal, sso_session(rp, signed_in))

    response = end_session(client, id_token_hint=value, post_logout_redirect_uri=rp.portal.post_logout_redirect_uris[0])

    assert response.status_code == 400 and "Location" not in response.headers
    assert "id_token_hint" in response.get_data(as_text=True)
    assert still_signed_in(rp)


def test_without_hint_the_person_is_asked_first(client, rp, signed_in):
    target = rp.portal.post_logout_redirect_uris[0]
    page = end_session(client, client_id=rp.portal.client_id, post_logout_redirect_uri=target, state="xyz")

    assert page.status_code == 200
    assert "Wilt u uitloggen?" in page.get_data(as_text=True)
    assert not sso_cookie_cleared(page)
    assert still_signed_in(rp)

    token = confirm_page(client, f"/logout?client_id={rp.portal.client_id}&post_logout_redirect_uri={target}"
                                 "&state=xyz")[1]
    response = end_session(client, "POST", csrf_token=token, confirm="yes", client_id=rp.portal.client_id,
                           post_logout_redirect_uri=target, state="xyz")

    assert response.status_code == 302 and response.location == target + "?state=xyz"
    assert sso_cookie_cleared(response)
    assert sso_session(rp, signed_in).ended_at is not None


def test_confirmation_without_csrf_token_changes_nothing(client, rp, signed_in):
    response = end_session(client, "POST", confirm="yes")

    assert response.status_code == 400
    assert not sso_cookie_cleared(response)
    assert still_signed_in(rp)


def test_a_link_without_hint_cannot_log_out_by_get(client, rp, signed_in):
    response = end_session(client, confirm="yes")

    assert response.status_code == 200 and "Wilt u uitloggen?" in response.get_data(as_text=True)
    assert still_signed_in(rp)


def test_nothing_to_end_without_a_session(client, portal):
    target = portal.post_logout_redirect_uris[0]
    response = end_session(client, client_id=portal.client_id, post_logout_redirect_uri=target)

    assert response.status_code == 302 and response.location == target
    assert audit(EventTag.LOGOUT) == []


def test_hint_for_someone_else_does_not_end_this_browsers_session(app, client, rp, make_user, signed_in):
    make_user("bert@example.org")
    elsewhere = app.test_client()  # Bert, in his own browser
    bert_at_portal = RelyingParty(elsewhere, rp.portal)
    bert_token = bert_at_portal.tokens("bert@example.org", PASSWORD)["id_token"]
    target = rp.portal.post_logout_redirect_uris[0]

    page = end_session(client, id_token_hint=bert_token, post_logout_redirect_uri=target)

    assert page.status_code == 200 and "Wilt u uitloggen?" in page.get_data(as_text=True)
    assert not sso_cookie_cleared(page)
    assert still_signed_in(rp)  # Anna, in this browser
    assert still_signed_in(bert_at_portal)  # Bert's session, in his browser, waits for the answer here

    token = confirm_page(client, f"/logout?post_logout_redirect_uri={target}&id_token_hint={bert_token}")[1]
    response = end_session(client, "POST", csrf_token=token, confirm="yes", id_token_hint=bert_token,
                           post_logout_redirect_uri=target)

    assert response.status_code == 302 and response.location == target
    assert not still_signed_in(rp)
    assert not still_signed_in(bert_at_portal)  # confirmed, with a live ID token of his session's portal


def test_a_hint_whose_session_lives_in_another_browser_ends_it_only_when_confirmed(app, client, rp, signed_in):
    """Not the portal's own session context (issue 13): whoever holds the ID token is asked first."""
    other_browser = app.test_client()
    target = rp.portal.post_logout_redirect_uris[0]
    page = end_session(other_browser, id_token_hint=signed_in, post_logout_redirect_uri=target)
    assert page.status_code == 200 and "Wilt u uitloggen?" in page.get_data(as_text=True)
    assert sso_session(rp, signed_in).ended_at is None and still_signed_in(rp)

    token = confirm_page(other_browser, f"/logout?post_logout_redirect_uri={target}&id_token_hint={signed_in}")[1]
    response = end_session(other_browser, "POST", csrf_token=token, confirm="yes", id_token_hint=signed_in,
                           post_logout_redirect_uri=target)
    assert response.status_code == 302 and response.location == target
    assert sso_session(rp, signed_in).ended_at is not None
    assert not still_signed_in(rp)


def test_an_expired_hint_never_ends_a_session_in_another_browser(app, client, rp, signed_in):
    """An old ID token (from a log, say) proves no live portal session: confirming elsewhere ends nothing."""
    other_browser = app.test_client()
    target = rp.portal.post_logout_redirect_uris[0]
    with time_machine.travel(clock.now() + timedelta(minutes=30)):
        token = confirm_page(other_browser,
                             f"/logout?post_logout_redirect_uri={target}&id_token_hint={signed_in}")[1]
        response = end_session(other_browser, "POST", csrf_token=token, confirm="yes", id_token_hint=signed_in,
                               post_logout_redirect_uri=target)
        assert response.status_code == 302 and response.location == target
        assert sso_session(rp, signed_in).ended_at is None
        assert still_signed_in(rp)


def test_ended_session_cookie_is_worthless(client, rp, signed_in):
    cookie = client.get_cookie("idp_sso").value
    end_session(client, id_token_hint=signed_in)

    client.set_cookie("idp_sso", cookie)  # replayed, e.g. from a copied cookie jar
    assert not still_signed_in(rp)


def test_confirmation_page_carries_the_request(client, rp, signed_in):
    target = rp.portal.post_logout_redirect_uris[0]
    html = end_session(client, client_id=rp.portal.client_id, post_logout_redirect_uri=target,
                       state="s1", ui_locales="en").get_data(as_text=True)

    for name, value in (("client_id", rp.portal.client_id), ("post_logout_redirect_uri", target),
                        ("state", "s1"), ("ui_locales", "en")):
        assert f'name="{name}" value="{value}"' in html


@pytest.mark.parametrize("how", FORGERIES)
@pytest.mark.parametrize("with_target", [True, False])
def test_anna_s_real_claims_under_alg_none_or_hs256_are_refused(client, rp, signed_in, how, with_target):
    hint = forge(client, rp.portal, signed_in, how)
    assert hint.split(".")[1] == signed_in.split(".")[1]  # her real claims: iss, sub, aud, sid
    target = rp.portal.post_logout_redirect_uris[0] if with_target else None

    response = end_session(client, id_token_hint=hint, post_logout_redirect_uri=target, state="s")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "id_token_hint" in response.get_data(as_text=True)
    assert not sso_cookie_cleared(response)
    assert sso_session(rp, signed_in).ended_at is None
    assert audit(EventTag.LOGOUT) == []
    assert still_signed_in(rp)
