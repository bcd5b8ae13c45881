"""Encryption keys as a list, and `idp keys rotate-encryption` (issue 17 part 3).

The story an operator lives: the provider runs under key A; they put a new key B in front ([B, A]), everything
written before still reads and new values go under B; `idp keys rotate-encryption` moves every stored value to B;
then A leaves the configuration ([B], with A as server.hash_key so stored hashes still match) and everything
still reads. A key taken out too early is named, in one line, by the CLI, /health/ready and the log.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, inspect, select

from idp import clock, create_app
from idp.extensions import db
from idp.models import Factor, OutboxMessage, SigningKey, Token, User
from idp.models.link import AccountLink
from idp.rekeying import ENCRYPTED_COLUMNS, column_name
from idp.runtime import crypto, keyring
from idp.security.crypto import DecryptionError, _derive, key_id
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.helpers import RelyingParty

KEY_A = TEST_ENCRYPTION_KEY  # what every test app runs under
KEY_B = "second-encryption-key-0123456789-abcdefghijklmnop"
KEY_C = "third-encryption-key-0123456789-abcdefghijklmnopq"
PASSWORD = "correct horse battery"
PHONE = "+31612345678"
LEGACY_PHONE = "+31687654321"


def legacy_sealed(value: str) -> str:
    """A value as the single-key version stored it: a bare Fernet token under the key derived from key A."""
    return Fernet(base64.urlsafe_b64encode(_derive(KEY_A, b"idp field encryption"))).encrypt(value.encode()).decode()


def app_under(settings, keys: list[str], hash_key: str = ""):
    """Another process on the same database, configured with these encryption keys (newest first)."""
    other = create_app(settings.replace(server={"encryption_key": "", "encryption_keys": keys, "hash_key": hash_key}))
    other.config["TESTING"] = True
    return other


@pytest.fixture
def stored(app, make_user, make_portal):
    """One value in every encrypted column, written under key A; one phone number as the old version wrote it."""
    person = make_user("anna@example.org", PASSWORD, phone=PHONE, phone_verified=True)
    legacy = make_user("bob@example.org", PASSWORD)
    legacy.phone_encrypted = legacy_sealed(LEGACY_PHONE)
    now = clock.now()
    db.session.add(Factor(user_id=person.id, kind="totp", secret_encrypted=crypto().encrypt("JBSWY3DPEHPK3PXP"),
                          replacement_encrypted=crypto().encrypt("+31600000000"), created_at=now, confirmed_at=now))
    db.session.add(OutboxMessage(channel="email", template="test", user_id=person.id,
                                 recipient_encrypted=crypto().encrypt(person.email),
                                 body_encrypted=crypto().encrypt("your code is 123456"), status="failed",
                                 attempts=1, created_at=now, next_attempt_at=now + timedelta(days=1)))
    db.session.add(AccountLink(purpose="register", token_hash="0" * 64, email_hash="1" * 64,
                               email_encrypted=crypto().encrypt("new@example.org"), attempts=0, created_at=now,
                               expires_at=now + timedelta(hours=1)))
    db.session.commit()
    return {"person": person.id, "legacy": legacy.id, "portal": make_portal()}


def cli(other, args: list[str]):
    """`idp ...` in a process configured as `other` (the test's own app context would otherwise be the one used)."""
    with other.app_context():
        result = other.test_cli_runner().invoke(args=args)
        db.session.remove()
        return result


def everything_reads(other) -> dict[str, object]:
    """Every encrypted value decrypted under `other`'s keys, a JWKS and a signing key loaded."""
    with other.app_context():
        seen: dict[str, object] = {}
        for column in ENCRYPTED_COLUMNS:
            values = db.session.scalars(select(column).where(column.is_not(None))).all()
            seen[column_name(column)] = sorted(crypto().decrypt(v) for v in values)
        keyring().reload()
        seen["signing"] = keyring().signing_key("RS256").kid
        db.session.remove()
        return seen


def sealed_under(other) -> set[str]:
    """The key ids the stored values name ("legacy" for a bare Fernet token)."""
    with other.app_context():
        ids = set()
        for column in ENCRYPTED_COLUMNS:
            for value in db.session.scalars(select(column).where(column.is_not(None))):
                ids.add(value.split(":")[0] if ":" in value else "legacy")
        db.session.remove()
        return ids


def test_every_encrypted_column_of_the_models_is_rotated():
    """A new *_encrypted column must be added to ENCRYPTED_COLUMNS, or rotation would leave it under the old key."""
    covered = {column_name(c) for c in ENCRYPTED_COLUMNS}
    models = {mapper.class_ for mapper in db.Model.registry.mappers}
    found = {f"{m.__tablename__}.{a.key}" for m in models for a in inspect(m).column_attrs
             if a.key.endswith("_encrypted")}
    assert found == covered


def test_values_written_under_key_a_read_after_the_config_becomes_b_then_a(app, settings, stored):
    under_a = everything_reads(app)
    both = app_under(settings, [KEY_B, KEY_A])

    assert everything_reads(both) == under_a
    assert under_a["user_account.phone_encrypted"] == sorted([PHONE, LEGACY_PHONE])
    with both.app_context():  # new values go under B
        assert crypto().encrypt("x").startswith(key_id(KEY_B) + ":")
        person = db.session.get(User, stored["person"])
        assert crypto().decrypt(person.phone_encrypted) == PHONE


def test_rotate_encryption_moves_everything_to_the_newest_key_so_it_alone_reads_it(app, settings, stored):
    under_a = everything_reads(app)
    both = app_under(settings, [KEY_B, KEY_A])

    result = cli(both, ["keys", "rotate-encryption", "--batch-size", "2", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    counts = {c["column"]: c["reencrypted"] for c in report["columns"]}
    assert counts == {"signing_key.private_jwk_encrypted": 2, "user_account.phone_encrypted": 2,
                      "factor.secret_encrypted": 1, "factor.replacement_encrypted": 1,
                      "outbox_message.recipient_encrypted": 1, "outbox_message.body_encrypted": 1,
                      "account_link.email_encrypted": 1}
    assert (report["key_id"], report["reencrypted"], report["current"]) == (key_id(KEY_B), 9, 0)
    assert report["hash_key"] == f"oldest encryption key {key_id(KEY_A)}"
    assert sealed_under(both) == {key_id(KEY_B)}

    only_b = app_under(settings, [KEY_B], hash_key=KEY_A)
    assert everything_reads(only_b) == under_a
    # The stored hashes (password sessions, the portal's secret, codes) still match: a whole sign-in works.
    with only_b.app_context():
        portal = db.session.merge(stored["portal"])
        portal.secret = stored["portal"].secret
        rp = RelyingParty(only_b.test_client(), portal)
        assert rp.decode_id_token(rp.tokens("bob@example.org", PASSWORD)["id_token"])["sub"]
        db.session.remove()


def test_rotate_encryption_again_changes_nothing(app, settings, stored):
    both = app_under(settings, [KEY_B, KEY_A])
    first = cli(both, ["keys", "rotate-encryption"])
    with both.app_context():
        before = {column_name(c): db.session.scalars(select(c).order_by(c.class_.id)).all() for c in ENCRYPTED_COLUMNS}
        db.session.remove()

    again = cli(both, ["keys", "rotate-encryption"])

    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert f"9 value(s) re-encrypted under key {key_id(KEY_B)}" in first.output
    assert "signing_key.private_jwk_encrypted: 0 re-encrypted, 2 already current" in again.output
    assert f"0 value(s) re-encrypted under key {key_id(KEY_B)}" in again.output
    assert "set server.hash_key to it" in again.output
    with both.app_context():
        after = {column_name(c): db.session.scalars(select(c).order_by(c.class_.id)).all() for c in ENCRYPTED_COLUMNS}
        db.session.remove()
    assert after == before


def test_a_missing_key_is_named_by_the_cli_and_nothing_is_half_written(app, settings, stored):
    before = sealed_under(app)
    wrong = app_under(settings, [KEY_C, KEY_B])  # key A, which wrote everything, was taken out

    result = cli(wrong, ["keys", "rotate-encryption"])

    assert result.exit_code == 2
    assert (f"error: cannot decrypt a stored value: it was encrypted under key id {key_id(KEY_A)}, which is not "
            f"in server.encryption_keys (ids configured: {key_id(KEY_C)}, {key_id(KEY_B)})") in result.output
    assert "Traceback" not in result.output
    assert sealed_under(app) == before


def test_a_missing_key_stops_serve_in_one_line_before_it_starts(app, settings, stored):
    wrong = app_under(settings, [KEY_C])

    result = cli(wrong, ["serve", "--bind", "127.0.0.1:0"])

    assert result.exit_code == 2
    assert f"which is not in server.encryption_keys (ids configured: {key_id(KEY_C)})" in result.output
    assert "Booting" not in result.output


def test_a_missing_key_makes_the_provider_not_ready_and_publishes_no_key_set(app, settings, stored):
    wrong = app_under(settings, [KEY_C])
    browser = wrong.test_client()

    ready = browser.get("/health/ready")
    assert ready.status_code == 503
    assert f"encrypted under key id {key_id(KEY_A)}, which is not in server.encryption_keys" in (
        ready.get_json()["failed"]["signing_keys"])

    jwks = browser.get("/jwks.json")  # the key set cannot be built: no half-empty key set is published
    assert jwks.status_code == 503 and b'"keys"' not in jwks.data

    with wrong.app_context():
        person = db.session.get(User, stored["person"])
        with pytest.raises(DecryptionError):
            crypto().decrypt(person.phone_encrypted)
        assert not db.session.scalars(select(SigningKey)).first().private_jwk_encrypted.startswith(key_id(KEY_C))
        db.session.remove()


def test_a_missing_key_at_the_token_endpoint_is_a_clear_503_and_no_token(app, settings, stored, caplog):
    wrong = app_under(settings, [KEY_C], hash_key=KEY_A)  # hashes still match: only the encrypted values fail
    with wrong.app_context():
        portal = db.session.merge(stored["portal"])
        portal.secret = stored["portal"].secret
        rp = RelyingParty(wrong.test_client(), portal)
        callback = rp.sign_in("bob@example.org", PASSWORD)

        response = rp.exchange(callback["code"])

        assert response.status_code == 503
        assert response.get_json() == {"error": "temporarily_unavailable"}
        assert db.session.scalar(select(func.count()).select_from(Token)) == 0
        db.session.remove()
    assert any(f"encrypted under key id {key_id(KEY_A)}, which is not in server.encryption_keys" in r.getMessage()
               for r in caplog.records)


def test_taking_out_the_oldest_key_without_moving_it_to_hash_key_stops_start_up_in_one_line(app, settings, stored):
    assert cli(app, ["keys", "rotate-encryption"]).exit_code == 0  # remembers which key the hashes are made with
    both = app_under(settings, [KEY_B, KEY_A])
    assert cli(both, ["keys", "rotate-encryption"]).exit_code == 0

    forgot = app_under(settings, [KEY_B])  # everything decrypts under B, but the hashes were keyed by A
    for args in (["keys", "rotate-encryption"], ["serve", "--bind", "127.0.0.1:0"]):
        result = cli(forgot, args)
        assert result.exit_code == 2, result.output
        assert (f"error: the stored hashes (client secrets, tokens, codes) were made with key id {key_id(KEY_A)}, "
                f"the configuration gives {key_id(KEY_B)}: set server.hash_key to the key with id {key_id(KEY_A)}"
                ) in result.output

    moved = app_under(settings, [KEY_B], hash_key=KEY_A)
    result = cli(moved, ["keys", "rotate-encryption", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["hash_key"] == "server.hash_key"
