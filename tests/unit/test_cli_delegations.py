"""`idp delegations` and `idp users add-principal` as an administrator uses them: the real console script in a
subprocess, on a database `idp init` prepared (issue 15 parts 1 and 2). Dates are relative to today."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, text

from idp.delegation import AgeRules, birthday
from tests.unit import test_cli
from tests.unit.test_cli import ok, ok_json, refused

env = test_cli.env
fresh = test_cli.fresh
initialised = test_cli.initialised
PASSWORD = "correct horse battery"


def today():
    return AgeRules().today(datetime.now(UTC))


def years_ago(years: int, days: int = 0) -> str:
    return (today().replace(year=today().year - years) + timedelta(days=days)).isoformat()


def audit_rows(env, tag: str) -> list[tuple]:
    engine = create_engine(env["IDP_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, subject_user_id, details FROM audit_event WHERE tag = :tag "
                                 "ORDER BY id"), {"tag": tag}).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def portal(env, delegation: bool = True) -> str:
    args = ["clients", "add", "--name", "Patiëntenportaal", "--redirect-uri", "http://127.0.0.1:9001/callback"]
    if delegation:
        args += ["--profile", "delegation=true"]
    return ok_json(env, *args)["client_id"]


def test_a_parent_a_child_without_login_and_the_whole_round_trip(env):
    client_id = portal(env)
    parent = ok_json(env, "users", "add", "--email", "ouder@example.org", "--password", PASSWORD,
                     "--name", "Petra Ouder")
    child = ok_json(env, "users", "add-principal", "--name", "Sam Kind", "--birth-date", years_ago(8),
                    "--as", "helpdesk-anna")
    assert child["no_login"] is True and child["date_of_birth"] == years_ago(8)
    shown = ok_json(env, "users", "show", child["sub"])
    assert shown["name"] == "Sam Kind" and shown["email"].endswith("@no-login.invalid")

    added = ok_json(env, "delegations", "add", "--delegate", "ouder@example.org", "--principal", child["sub"],
                    "--portal", client_id, "--scope", "profile", "--evidence", "passport seen at the desk",
                    "--as", "helpdesk-anna")
    assert (added["delegate"], added["principal"], added["basis"], added["status"]) == (
        parent["sub"], child["sub"], "parental", "active")
    assert (added["portals"], added["scopes"], added["granted_by"], added["usable_now"]) == (
        [client_id], ["profile"], "helpdesk-anna", True)
    sixteenth = birthday(date.fromisoformat(years_ago(8)), 16)
    assert added["ends_at"] == AgeRules().start_of(sixteenth).isoformat()  # midnight in Amsterdam, in UTC

    listed = ok_json(env, "delegations", "list", "--person", "ouder@example.org")
    assert [row["id"] for row in listed] == [added["id"]]
    assert ok_json(env, "delegations", "show", str(added["id"]))["principal_name"] == "Sam Kind"
    assert f"id={added['id']}" in ok(env, "delegations", "list")

    revoked = ok_json(env, "delegations", "revoke", str(added["id"]), "--reason", "custody changed",
                      "--as", "helpdesk-bob")
    assert (revoked["status"], revoked["revoked_by"], revoked["reason"], revoked["usable_now"]) == (
        "revoked", "helpdesk-bob", "custody changed", False)
    assert revoked["not_usable_because"] == "revoked"
    assert refused(env, "delegations", "revoke", str(added["id"])) == \
        f"error: delegation {added['id']} is already revoked"

    [(actor, _subject, details)] = audit_rows(env, "delegation:granted")
    details = details if isinstance(details, dict) else json.loads(details)
    assert actor == "helpdesk-anna" and details["admin"] == "helpdesk-anna"  # never just "cli"
    assert (details["delegate"], details["principal"]) == (parent["sub"], child["sub"])
    [(_, _, revoked_details)] = audit_rows(env, "delegation:revoked")
    assert "helpdesk-bob" in str(revoked_details)


def test_a_child_of_14_waits_for_consent_recorded_from_a_form(env):
    portal(env)
    ok(env, "users", "add", "--email", "ouder@example.org", "--password", PASSWORD, "--name", "Petra Ouder")
    ok(env, "users", "add", "--email", "kim@example.org", "--password", PASSWORD, "--name", "Kim Kind",
       "--birth-date", years_ago(14))
    added = ok_json(env, "delegations", "add", "--delegate", "ouder@example.org", "--principal", "kim@example.org",
                    "--evidence", "passport seen")
    assert (added["status"], added["usable_now"], added["not_usable_because"]) == (
        "pending", False, "child_consent_needed")
    assert added["portals"] == "all offering delegation" and added["granted_by"]  # the OS user by default
    consented = ok_json(env, "delegations", "consent", str(added["id"]), "--form", "form 2026-7", "--as", "bob")
    assert (consented["status"], consented["usable_now"], consented["child_consent_how"],
            consented["child_consent_recorded_by"]) == ("active", True, "signed_form", "bob")


def test_from_16_only_written_consent_and_refusals_in_one_line(env):
    business = portal(env, delegation=False)
    ok(env, "users", "add", "--email", "ouder@example.org", "--password", PASSWORD, "--name", "Petra Ouder")
    ok(env, "users", "add", "--email", "jan@example.org", "--password", PASSWORD, "--name", "Jan Zestien",
       "--birth-date", years_ago(16))
    assert refused(env, "delegations", "add", "--delegate", "ouder@example.org", "--principal", "jan@example.org",
                   "--evidence", "passport seen").startswith("error: Jan Zestien is 16: from 16 only their own")
    assert refused(env, "delegations", "add", "--delegate", "ouder@example.org", "--principal", "jan@example.org",
                   "--basis", "written_consent", "--evidence", "signed", "--portal", business) == \
        f"error: portal {business} does not offer delegation (its profile: delegation=false)"
    added = ok_json(env, "delegations", "add", "--delegate", "ouder@example.org", "--principal", "jan@example.org",
                    "--basis", "written_consent", "--evidence", "signed consent form seen",
                    "--until", (today() + timedelta(days=30)).isoformat())
    assert (added["basis"], added["status"], added["granted_how"]) == ("written_consent", "active", "admin_consent")
    assert added["valid_until"] == added["ends_at"]
    assert refused(env, "users", "add-principal", "--name", "X", "--birth-date", "2020-02-30") == \
        "error: --birth-date must be a real date as YYYY-MM-DD, not '2020-02-30'"
    assert refused(env, "delegations", "show", "999") == "error: no delegation 999"


def test_expire_marks_what_ended_and_tells_once(env):
    ok(env, "users", "add", "--email", "ouder@example.org", "--password", PASSWORD, "--name", "Petra Ouder")
    ok(env, "users", "add", "--email", "kim@example.org", "--password", PASSWORD, "--name", "Kim Kind",
       "--birth-date", years_ago(16, days=5))
    added = ok_json(env, "delegations", "add", "--delegate", "ouder@example.org", "--principal", "kim@example.org",
                    "--evidence", "passport seen")
    ok(env, "delegations", "consent", str(added["id"]), "--form", "form 1")
    assert ok_json(env, "delegations", "expire") == {"expired": 0, "ending_notices": 2, "ended_notices": 0}
    assert ok_json(env, "delegations", "expire") == {"expired": 0, "ending_notices": 0, "ended_notices": 0}
    assert len(audit_rows(env, "delegation:notice:sent")) == 1
