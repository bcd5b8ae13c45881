"""Clients kept in memory for the OAuth endpoints (idp/portals/cache.py): read once, then no SELECT per token
request; a change committed in this process counts at once, a change made elsewhere within the TTL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, update

from idp import clock
from idp.extensions import db
from idp.models import Client, Token
from idp.portals import registry
from idp.portals.cache import TTL_SECONDS
from tests.helpers import RelyingParty

CC = {"grant_type": "client_credentials"}


@pytest.fixture
def service(client, make_portal):
    return RelyingParty(client, make_portal("Declaratieservice", service=True, redirect_uris=[],
                                            post_logout_redirect_uris=[]))


@pytest.fixture
def client_selects(app):
    """The SELECTs that read the client table, as they are sent."""
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM client" in statement:
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


def _refused(response) -> None:
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_a_client_is_read_once_then_served_from_memory(service, client_selects, frozen):
    first = service.token_request(CC)
    assert first.status_code == 200, first.get_json()
    read = len(client_selects)
    assert read >= 1
    second = service.token_request(CC)
    assert second.status_code == 200, second.get_json()
    assert len(client_selects) == read  # no SELECT of the client for the second token
    # The token row still names its client.
    row = db.session.query(Token).order_by(Token.id.desc()).first()
    assert row.client.client_id == service.portal.client_id


def test_an_unknown_client_id_is_looked_up_every_time(service, client_selects):
    from tests.helpers import basic_auth

    for _ in range(2):
        _refused(service.client.post("/token", headers=basic_auth("nobody", "secret"), data=CC))
    assert len(client_selects) == 2


def test_disabling_counts_at_once_in_the_process_that_disabled(service, frozen):
    assert service.token_request(CC).status_code == 200  # now in memory
    portal = registry.get(service.portal.client_id)
    assert registry.disable(portal, clock.now())
    db.session.commit()
    _refused(service.token_request(CC))
    registry.enable(portal)
    db.session.commit()
    assert service.token_request(CC).status_code == 200


def test_a_secret_rotated_here_replaces_the_cached_one_at_once(service, frozen):
    assert service.token_request(CC).status_code == 200
    old = service.portal.secret
    new = registry.rotate_secret(registry.get(service.portal.client_id))
    db.session.commit()
    _refused(service.token_request(CC))  # still the old secret on the test object
    service.portal.secret = new
    assert service.token_request(CC).status_code == 200
    service.portal.secret = old
    _refused(service.token_request(CC))


def test_a_client_disabled_elsewhere_is_refused_within_the_ttl(service, frozen, time_machine):
    assert service.token_request(CC).status_code == 200  # now in memory
    # Another process (another worker, `idp clients disable`) changes the row: this one is not told.
    with db.engine.begin() as conn:
        conn.execute(update(Client).where(Client.client_id == service.portal.client_id)
                     .values(disabled_at=clock.now()))
    meanwhile = service.token_request(CC)
    assert meanwhile.status_code == 200  # the documented window: the copy in memory is younger than the TTL
    time_machine.shift(timedelta(seconds=TTL_SECONDS + 1))
    _refused(service.token_request(CC))
    _refused(service.introspect(meanwhile.get_json()["access_token"]))


def test_a_clock_set_back_does_not_keep_a_copy_alive(service, frozen, time_machine):
    assert service.token_request(CC).status_code == 200
    with db.engine.begin() as conn:
        conn.execute(update(Client).where(Client.client_id == service.portal.client_id)
                     .values(disabled_at=clock.now()))
    time_machine.shift(timedelta(seconds=-60))
    _refused(service.token_request(CC))
