"""A full disk under the instance folder (issue 18 part 5), on SQLite: a small tmpfs of the test's own (mounting
one needs root; without it the test is skipped) filled to the last byte. A person sees a calm page, nothing is
half-written (the database, the file transport's outbox, the dev-mode secrets), and with space again everything
works without a restart."""

from __future__ import annotations

import errno
import json
import re
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from idp import clock, create_app
from idp.accounts.users import create_user
from idp.extensions import db
from idp.messaging import deliver_due, send
from idp.models import LoginFailure, OutboxMessage
from idp.settings import load
from tests.conftest import base_settings
from tests.flows.account_helpers import PASSWORD
from tests.flows.test_reset import ask_link
from tests.helpers import RelyingParty

SOMETHING_WENT_WRONG_NL = "Er ging iets mis"


@pytest.fixture
def disk(tmp_path):
    """An 8 MB file system of the test's own."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"a small file system of the test's own needs root (mount -t tmpfs): {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system to its last byte; the filler file, to be removed when space returns."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out, pytest.raises(OSError, match="No space left"):
        _write_forever(out)
    return filler


def _write_forever(out) -> None:
    while True:
        out.write(b"\0" * 4096)


def lines_of(path: Path) -> list[dict]:
    text = path.read_text() if path.exists() else ""
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def settings(disk, sqlite_template):
    """The instance folder, with the database and the file transport's outbox in it, on the small disk."""
    shutil.copy(sqlite_template, disk / "idp.sqlite")
    return base_settings(disk, f"sqlite:///{disk}/idp.sqlite")


def test_a_full_instance_folder(app, client, portal, user, disk):
    rp = RelyingParty(client, portal)
    ask_link(client, user.email)  # a reset mail waits in the queue
    login = rp.login_url()
    filler = fill(disk)

    refused = rp.submit_password(login, user.email, "wrong")
    page = re.sub(r"\s+", " ", refused.get_data(as_text=True))
    assert refused.status_code == 500 and SOMETHING_WENT_WRONG_NL in page and "Traceback" not in page
    with pytest.raises(OperationalError, match="database or disk is full"):
        deliver_due()  # the claim cannot be written: `idp worker` counts a failed pass and tries again later
    db.session.rollback()
    with pytest.raises(OSError) as full:  # a dev-mode start that must make its secrets: refused, not half-done
        load(environ={"IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_INSTANCE_PATH": str(disk / "other"),
                      "IDP_DATABASE_URL": "sqlite://"})
    assert full.value.errno == errno.ENOSPC
    with sqlite3.connect(disk / "idp.sqlite") as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0
    assert lines_of(disk / "outbox.jsonl") == []

    filler.unlink()
    assert deliver_due()["sent"] == 1
    [mail] = lines_of(disk / "outbox.jsonl")
    assert mail["to"] == user.email and "/reset/" in mail["body"]
    assert "code" in rp.callback(rp.submit_password(login, user.email, PASSWORD))
    again = load(environ={"IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_INSTANCE_PATH": str(disk / "other"),
                          "IDP_DATABASE_URL": "sqlite://"})
    assert again.server.secret_key and again.server.field_encryption_keys()


def test_the_file_transport_on_a_full_disk_leaves_no_half_line(disk, tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "idp.sqlite")  # the database has room; the outbox's disk has none
    app = create_app(base_settings(tmp_path, f"sqlite:///{tmp_path}/idp.sqlite",
                                   messaging={"file_path": str(disk / "outbox.jsonl")}))
    outbox = disk / "outbox.jsonl"
    with app.app_context():
        user = create_user("anna@example.org", PASSWORD)
        send("email", user.email, "password_changed", user=user, locale="en")
        db.session.commit()
        deliver_due()
        filler = fill(disk)
        for _ in range(20):  # the file's last block still takes a few lines; then one does not fit
            send("email", user.email, "password_changed", user=user, locale="en")
            db.session.commit()
            if deliver_due()["retried"]:
                break
        else:
            pytest.fail("the full disk took every message")
        written = lines_of(outbox)  # whole lines only: the one that did not fit left nothing behind

        filler.unlink()
        assert deliver_due(clock.now() + timedelta(hours=1))["sent"] == 1
        after = lines_of(outbox)
        assert after[:len(written)] == written and len(after) == len(written) + 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status != "sent")) == 0
        db.session.remove()
        db.engine.dispose()
