"""One error model: a UserFacingError raised below a view is rendered by one handler, with its message, status,
page and help contact, and nothing the request wrote stands."""

from __future__ import annotations

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp import clock
from idp.errors import UserFacingError
from idp.extensions import db
from idp.models import User


class _Refused(UserFacingError):
    message = _l("This sign-in has expired")  # a message id that has a Dutch translation
    status = 409
    help = True


def _route(app, path: str, portal=None):
    """A view that writes a row, then fails the way a domain module does."""

    def view():
        now = clock.now()
        db.session.add(User(email="half-written@example.org", created_at=now, updated_at=now))
        db.session.flush()
        raise _Refused(client=portal)

    app.add_url_rule(path, path.strip("/").replace("/", "_") or "root", view)


def test_the_handler_renders_message_status_and_the_portals_help_contact_and_keeps_nothing(app, make_portal):
    portal = make_portal("Zorgportaal", help_contact="de helpdesk van Zorgportaal, 088 123 45 67")
    _route(app, "/broken-step", portal)
    response = app.test_client().get("/broken-step", headers={"Accept-Language": "nl"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'role="alert">Deze inlogpagina is verlopen</p>' in page
    assert "Voor hulp kunt u contact opnemen met de helpdesk van Zorgportaal, 088 123 45 67." in page
    assert db.session.scalar(select(User).where(User.email == "half-written@example.org")) is None


@pytest.mark.parametrize("settings_overrides", [{"lockout": {"help_contact": "servicedesk@example.org"}}])
def test_without_a_portal_the_deployments_contact_is_named(app):
    _route(app, "/broken-too")
    page = app.test_client().get("/broken-too", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "For help, contact servicedesk@example.org." in page


def test_an_api_path_gets_the_error_as_json(app):
    _route(app, "/userinfo/broken")
    response = app.test_client().get("/userinfo/broken", headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert response.get_json() == {"error": "invalid_request", "error_description": "This sign-in has expired"}


def test_a_dead_link_is_its_flows_own_page_through_the_same_handler(client):
    response = client.get("/reset/not-a-real-token", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<h1>This link no longer works</h1>" in page
    assert "Only the newest link we sent you works, once, for a short time." in page
