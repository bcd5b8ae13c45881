"""Signing keys: rotation (`idp keys rotate`), the published JWKS, and keys held in memory between requests."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from joserfc import jws
from sqlalchemy import event, select

from idp import clock
from idp.audit import EventTag
from idp.extensions import db
from idp.models import SigningKey
from idp.oidc.keys import KeyRing, rotate
from idp.runtime import crypto, keyring
from tests.helpers import RelyingParty, query
from tests.oidc.logout_helpers import PASSWORD, audit

TOKEN_LIFE = timedelta(minutes=10)
PUBLISH = timedelta(seconds=600)  # keys.publish_seconds by default
GRACE = timedelta(minutes=5)  # idp.oidc.keys keeps a retired key this much longer, for clock skew


@pytest.fixture
def frozen():
    with time_machine.travel(clock.now(), tick=False) as traveller:
        yield traveller


def kid_of(token: str) -> str:
    return jws.extract_compact(token.encode()).headers()["kid"]


def published_kids(client) -> set[str]:
    return {key["kid"] for key in client.get("/jwks.json").get_json()["keys"]}


def fresh_id_token(rp: RelyingParty) -> str:
    """A new ID token in the running SSO session (no password asked)."""
    response = rp.exchange(query(rp.authorize(prompt="none").location)["code"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id_token"]


def active_kid(alg: str) -> str:
    return db.session.scalar(select(SigningKey.kid).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None)))


@pytest.fixture
def first_token(rp, user):
    return rp.tokens(user.email, PASSWORD)["id_token"]


def test_after_rotation_the_new_key_signs_and_the_old_stays_published(client, rp, first_token):
    old_kid = kid_of(first_token)

    [new_key] = rotate(crypto(), TOKEN_LIFE, ("RS256",))
    db.session.commit()

    token = fresh_id_token(rp)
    assert kid_of(token) == new_key.kid != old_kid
    assert {old_kid, new_key.kid} <= published_kids(client)
    assert rp.decode_id_token(first_token)["sub"] == rp.decode_id_token(token)["sub"]  # both still verify


def test_old_key_leaves_the_jwks_once_its_tokens_are_dead(client, rp, first_token, frozen):
    old_kid = kid_of(first_token)
    rotate(crypto(), TOKEN_LIFE, ("RS256",))
    db.session.commit()
    assert old_kid in published_kids(client)

    frozen.shift(TOKEN_LIFE + GRACE - timedelta(seconds=1))
    assert old_kid in published_kids(client)

    frozen.shift(timedelta(seconds=1))
    assert old_kid not in published_kids(client)
    assert active_kid("RS256") in published_kids(client)


def test_rotation_of_all_algorithms_covers_es256_portals(client, user, make_portal):
    rp = RelyingParty(client, make_portal(id_token_alg="ES256"))
    old_kid = kid_of(rp.tokens(user.email, PASSWORD)["id_token"])

    keys = {key.alg: key.kid for key in rotate(crypto(), TOKEN_LIFE)}
    db.session.commit()

    assert set(keys) == {"RS256", "ES256"}
    assert kid_of(fresh_id_token(rp)) == keys["ES256"] != old_kid


def test_rotation_is_audited(first_token):
    old_kid = kid_of(first_token)
    [new_key] = rotate(crypto(), TOKEN_LIFE, ("RS256",))
    db.session.commit()

    [rotated] = audit(EventTag.KEY_ROTATED)
    assert rotated.details == {"alg": "RS256", "kid": new_key.kid, "retired": [old_kid],
                               "signs_from": new_key.signs_from.isoformat()}


def test_a_rolled_back_rotation_never_signs(client, rp, first_token):
    old_kid = kid_of(first_token)
    [new_key] = rotate(crypto(), TOKEN_LIFE, ("RS256",))
    new_kid = new_key.kid
    db.session.rollback()

    assert kid_of(fresh_id_token(rp)) == old_kid
    assert new_kid not in published_kids(client)


def test_idp_keys_rotate_command_publishes_first_and_signs_after_the_publish_interval(app, client, rp, first_token,
                                                                                      frozen):
    old_kid = kid_of(first_token)
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--alg", "RS256"])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    new = db.session.scalar(select(SigningKey).where(SigningKey.alg == "RS256", SigningKey.retired_at.is_(None)))
    assert new.signs_from == new.created_at + PUBLISH  # keys.publish_seconds, 600 by default
    assert result.output.strip() == f"RS256: {new.kid} is published now and signs from {new.signs_from.isoformat()}"
    assert new.kid in published_kids(client)
    assert kid_of(fresh_id_token(rp)) == old_kid

    frozen.shift(PUBLISH)
    assert kid_of(fresh_id_token(rp)) == new.kid
    assert old_kid in published_kids(client)

    listed = {k["kid"]: k["state"] for k in json.loads(
        app.test_cli_runner().invoke(args=["keys", "list", "--json"]).output)}
    assert (listed[old_kid], listed[new.kid]) == ("published", "signing")


def test_a_rotated_key_is_in_the_jwks_before_it_signs(client, rp, first_token, frozen):
    old_kid = kid_of(first_token)
    [new_key] = rotate(crypto(), TOKEN_LIFE, ("RS256",), publish_for=PUBLISH)
    db.session.commit()
    new_kid = new_key.kid

    assert {old_kid, new_kid} <= published_kids(client)
    assert kid_of(fresh_id_token(rp)) == old_kid  # portals may still hold a key set without the new key

    frozen.shift(PUBLISH - timedelta(seconds=1))
    assert kid_of(fresh_id_token(rp)) == old_kid

    frozen.shift(timedelta(seconds=1))  # every cached key set has had the new key for the whole interval
    token = fresh_id_token(rp)
    assert kid_of(token) == new_kid
    assert {old_kid, new_kid} <= published_kids(client)
    assert rp.decode_id_token(first_token)["sub"] == rp.decode_id_token(token)["sub"]


def test_the_replaced_key_stays_published_for_its_tokens_life_after_it_stops_signing(client, rp, first_token,
                                                                                      frozen):
    old_kid = kid_of(first_token)
    [new_key] = rotate(crypto(), TOKEN_LIFE, ("RS256",), publish_for=PUBLISH)
    db.session.commit()
    new_kid = new_key.kid

    frozen.shift(PUBLISH - timedelta(seconds=1))
    last_old_token = fresh_id_token(rp)  # the last token the old key signs
    assert kid_of(last_old_token) == old_kid

    frozen.shift(timedelta(seconds=1) + TOKEN_LIFE + GRACE - timedelta(seconds=1))
    assert old_kid in published_kids(client)
    assert rp.decode_id_token(last_old_token)["sub"]

    frozen.shift(timedelta(seconds=1))
    assert old_kid not in published_kids(client)
    assert new_kid in published_kids(client)
    assert kid_of(fresh_id_token(rp)) == new_kid


def test_a_second_rotation_within_the_interval_keeps_every_key_published_until_it_may_sign(client, rp, first_token,
                                                                                         frozen):
    old_kid = kid_of(first_token)
    [first] = rotate(crypto(), TOKEN_LIFE, ("RS256",), publish_for=PUBLISH)
    db.session.commit()
    first_kid = first.kid
    frozen.shift(timedelta(seconds=10))
    [second] = rotate(crypto(), TOKEN_LIFE, ("RS256",), publish_for=PUBLISH)
    db.session.commit()
    second_kid = second.kid

    assert {old_kid, first_kid, second_kid} <= published_kids(client)
    frozen.shift(PUBLISH - timedelta(seconds=10))  # the first new key's turn, until the second's starts
    assert kid_of(fresh_id_token(rp)) == first_kid
    frozen.shift(timedelta(seconds=10))
    assert kid_of(fresh_id_token(rp)) == second_kid


def test_keys_are_not_read_from_the_database_per_request(client, rp, first_token):
    key_queries = []

    def count(conn, cursor, statement, *args):
        if "signing_key" in statement.lower():
            key_queries.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(10):
            assert client.get("/jwks.json").status_code == 200
        fresh_id_token(rp)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert key_queries == []


def test_another_worker_picks_up_a_rotation_after_its_ttl(rp, first_token):
    old_kid = kid_of(first_token)
    patient, eager = KeyRing(crypto(), ttl=3600), KeyRing(crypto(), ttl=0)
    assert patient.signing_key("RS256").kid == eager.signing_key("RS256").kid == old_kid

    [new_key] = rotate(crypto(), TOKEN_LIFE, ("RS256",))
    db.session.commit()

    assert patient.signing_key("RS256").kid == old_kid  # still valid: the old key stays published
    assert eager.signing_key("RS256").kid == new_key.kid
    assert keyring().signing_key("RS256").kid == new_key.kid  # this worker rotated: at once


def test_jwks_is_cacheable_and_public_only(client):
    response = client.get("/jwks.json")

    assert response.status_code == 200
    assert "max-age=" in response.headers["Cache-Control"]
    assert "public" in response.headers["Cache-Control"]
    for key in response.get_json()["keys"]:
        assert key["use"] == "sig" and key["alg"] in {"RS256", "ES256"}
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
