"""Every file the provider writes in its instance folder is owner-only (0600), the folder 0700, from the moment
they exist (issue 13: the SQLite database and the outbox file hold codes and links in plain text)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import pytest

from idp import create_app
from idp.messaging import transports
from idp.settings import load
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_SECRET_KEY


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The usual umask (022) makes files world-readable unless the code asks otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def settings_in(folder, **env):
    return load(environ={"IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_ISSUER": "http://localhost",
                         "IDP_SERVER_INSTANCE_PATH": str(folder), "IDP_DATABASE_URL": "sqlite:///idp.db", **env})


def test_a_new_instance_folder_database_and_dev_secrets_are_private(tmp_path):
    folder = tmp_path / "instance"
    app = create_app(settings_in(folder))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()  # SQLite has written the database (and its journal came and went)
    assert mode(folder) == 0o700
    assert mode(folder / "idp.db") == 0o600
    assert mode(folder / "dev-secrets.toml") == 0o600


def test_an_existing_world_readable_database_is_made_private_at_start(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "idp.db").touch(mode=0o644)
    os.chmod(folder / "idp.db", 0o644)
    create_app(settings_in(folder, IDP_SERVER_SECRET_KEY=TEST_SECRET_KEY,
                           IDP_SERVER_ENCRYPTION_KEY=TEST_ENCRYPTION_KEY))
    assert mode(folder / "idp.db") == 0o600


def test_the_file_transport_writes_its_outbox_owner_only(tmp_path):
    path = tmp_path / "outbox" / "outbox.jsonl"
    envelope = transports.Envelope("sms", "+31612345678", None, "Uw code is 123456", datetime.now(UTC))
    transports.to_file(envelope, path)
    assert mode(path) == 0o600
    assert "123456" in path.read_text()
