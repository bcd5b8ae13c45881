"""`idp orgs`, `idp admins` and `idp users add --organisation` as an administrator uses them (issue 16 part 1):
the real console script in a subprocess, on a database `idp init` prepared. Every change names the acting
admin (`--as`, else the operating-system user) in the audit trail; what is refused writes nothing."""

from __future__ import annotations

import getpass
import json

from sqlalchemy import create_engine, text

from tests.unit import test_cli
from tests.unit.test_cli import ok, ok_json, refused

env = test_cli.env
fresh = test_cli.fresh
initialised = test_cli.initialised
PASSWORD = "correct horse battery"


def query(env, sql: str, **params) -> list[tuple]:
    engine = create_engine(env["IDP_DATABASE_URL"])
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql), params).all()]
    engine.dispose()
    return rows


def audit(env, tag: str) -> list[tuple]:
    rows = query(env, "SELECT actor, subject_user_id, details FROM audit_event WHERE tag = :tag ORDER BY id", tag=tag)
    return [(actor, subject, details if isinstance(details, dict) else json.loads(details))
            for actor, subject, details in rows]


def test_an_organisation_from_add_to_remove(env):
    added = ok_json(env, "orgs", "add", "--name", "Thuiszorg De Linde", "--kind", "business_customer",
                    "--email-domain", "delinde.example", "--as", "beheer-jan")
    assert (added["code"], added["name"], added["kind"], added["email_domains"], added["members"]) == (
        "thuiszorg-de-linde", "Thuiszorg De Linde", "business_customer", ["delinde.example"], 0)
    assert ok_json(env, "orgs", "show", "thuiszorg-de-linde")["id"] == added["id"]
    assert [o["code"] for o in ok_json(env, "orgs", "list")] == ["thuiszorg-de-linde"]
    assert "code=thuiszorg-de-linde" in ok(env, "orgs", "list")

    updated = ok_json(env, "orgs", "update", "thuiszorg-de-linde", "--code", "delinde", "--name", "De Linde",
                      "--email-domain", "delinde.example", "--email-domain", "linde.example", "--as", "beheer-jan")
    assert (updated["code"], updated["name"], updated["email_domains"]) == (
        "delinde", "De Linde", ["delinde.example", "linde.example"])
    assert ok_json(env, "orgs", "update", "delinde", "--no-email-domains")["email_domains"] == []

    assert ok(env, "orgs", "remove", "delinde", "--as", "beheer-jan").strip() == "removed delinde"
    assert ok_json(env, "orgs", "list") == []
    [(actor, _, created)] = audit(env, "organisation:created")
    assert actor == "cli:beheer-jan" and created["admin"] == "beheer-jan" and created["organisation"] == (
        "thuiszorg-de-linde")
    changes = audit(env, "organisation:updated")
    assert [a for a, _, _ in changes] == ["cli:beheer-jan", f"cli:{getpass.getuser()}"]  # no --as: the OS user
    assert changes[0][2]["changed"]["code"] == ["thuiszorg-de-linde", "delinde"]
    [(actor, _, removed)] = audit(env, "organisation:removed")
    assert actor == "cli:beheer-jan" and removed["organisation"] == "delinde"


def test_members_by_users_add_and_orgs_members(env):
    ok(env, "orgs", "add", "--name", "Zorggroep Avondrood", "--code", "avondrood", "--kind", "care_provider",
       "--email-domain", "avondrood.example")
    evv = ok_json(env, "users", "add", "--email", "evv@avondrood.example", "--password", PASSWORD,
                  "--organisation", "avondrood", "--as", "beheer-jan")
    assert ok_json(env, "users", "show", evv["sub"])["organisation"] == "avondrood"
    # The old free text: an organisation's name finds it; a new name makes one (kind other), audited.
    ok(env, "users", "add", "--email", "tl@avondrood.example", "--password", PASSWORD,
       "--organisation", "zorggroep avondrood")
    ok(env, "users", "add", "--email", "nieuw@example.org", "--password", PASSWORD,
       "--organisation", "Huisartsenpraktijk De Linde", "--as", "beheer-jan")
    assert ok_json(env, "orgs", "show", "huisartsenpraktijk-de-linde")["kind"] == "other"
    made = [(a, d["organisation"]) for a, _, d in audit(env, "organisation:created")]
    assert made[-1] == ("cli:beheer-jan", "huisartsenpraktijk-de-linde")

    listed = ok_json(env, "orgs", "members", "avondrood")
    assert [m["email"] for m in listed] == ["evv@avondrood.example", "tl@avondrood.example"]
    ok(env, "users", "add", "--email", "henk@avondrood.example", "--password", PASSWORD)
    moved = ok_json(env, "orgs", "members", "avondrood", "--add", "henk@avondrood.example",
                    "--remove", "tl@avondrood.example", "--as", "evv-beheer")
    assert [m["email"] for m in moved] == ["evv@avondrood.example", "henk@avondrood.example"]
    [(actor, _, added)] = audit(env, "organisation:member:added")
    assert actor == "cli:evv-beheer" and added["organisation"] == "avondrood"
    [(actor, _, _)] = audit(env, "organisation:member:removed")
    assert actor == "cli:evv-beheer"


def test_what_is_refused_writes_nothing(env):
    ok(env, "orgs", "add", "--name", "Zorggroep Avondrood", "--code", "avondrood", "--kind", "care_provider",
       "--email-domain", "avondrood.example")
    ok(env, "users", "add", "--email", "evv@avondrood.example", "--password", PASSWORD, "--organisation", "avondrood")
    ok(env, "users", "add", "--email", "kees@example.org", "--password", PASSWORD)
    before = query(env, "SELECT (SELECT count(*) FROM audit_event), (SELECT count(*) FROM organisation), "
                        "(SELECT count(*) FROM user_account), (SELECT count(*) FROM admin_role)")
    assert refused(env, "orgs", "add", "--name", "Avondrood 2", "--code", "avondrood", "--kind", "supplier") == (
        "error: organisation code avondrood is taken")
    assert refused(env, "orgs", "add", "--name", "X", "--code", "X Y", "--kind", "supplier").startswith(
        "error: not an organisation code: 'x y'")
    assert refused(env, "orgs", "show", "nergens") == "error: no organisation 'nergens'"
    assert refused(env, "users", "add", "--email", "p@gmail.example", "--password", PASSWORD,
                   "--organisation", "avondrood") == (
        "error: p@gmail.example is not an address of Zorggroep Avondrood (@avondrood.example)")
    assert refused(env, "orgs", "members", "avondrood", "--add", "kees@example.org") == (
        "error: kees@example.org is not an address of Zorggroep Avondrood (@avondrood.example)")
    assert refused(env, "orgs", "members", "avondrood", "--remove", "kees@example.org") == (
        "error: kees@example.org is not a member of avondrood")
    assert refused(env, "orgs", "remove", "avondrood") == (
        "error: organisation avondrood still has members: move them first")
    assert refused(env, "orgs", "update", "avondrood", "--email-domain", "elders.example") == (
        "error: 1 member(s) have an address outside these domains, first evv@avondrood.example: move them first")
    assert refused(env, "admins", "grant", "kees@example.org", "organisation") == (
        "error: kees@example.org is not a member of an organisation: an organisation admin manages their own")
    assert refused(env, "admins", "revoke", "kees@example.org") == "error: kees@example.org holds no admin role"
    assert query(env, "SELECT (SELECT count(*) FROM audit_event), (SELECT count(*) FROM organisation), "
                      "(SELECT count(*) FROM user_account), (SELECT count(*) FROM admin_role)") == before


def test_admin_roles_grant_list_revoke(env):
    ok(env, "orgs", "add", "--name", "Thuiszorg De Linde", "--code", "delinde", "--kind", "business_customer")
    ok(env, "users", "add", "--email", "beheerder@delinde.example", "--password", PASSWORD, "--organisation", "delinde")
    ok(env, "users", "add", "--email", "helpdesk@example.org", "--password", PASSWORD)
    beheerder = ok_json(env, "admins", "grant", "beheerder@delinde.example", "organisation", "--as", "beheer-jan")
    assert (beheerder["role"], beheerder["organisation"], beheerder["granted_by"]) == (
        "organisation", "delinde", "cli:beheer-jan")
    helpdesk = ok_json(env, "admins", "grant", "helpdesk@example.org", "helpdesk", "--as", "beheer-jan")
    assert (helpdesk["role"], helpdesk["organisation"]) == ("helpdesk", None)
    assert [(a["email"], a["role"]) for a in ok_json(env, "admins", "list")] == [
        ("beheerder@delinde.example", "organisation"), ("helpdesk@example.org", "helpdesk")]
    assert [a["email"] for a in ok_json(env, "admins", "list", "--organisation", "delinde")] == [
        "beheerder@delinde.example"]
    assert ok_json(env, "orgs", "show", "delinde")["admins"] == ["beheerder@delinde.example"]
    assert refused(env, "orgs", "members", "delinde", "--remove", "beheerder@delinde.example") == (
        "error: beheerder@delinde.example is an admin of delinde: revoke that role first")

    assert ok(env, "admins", "revoke", "beheerder@delinde.example", "--as", "beheer-piet").strip() == (
        "revoked the admin role of beheerder@delinde.example")
    assert [a["email"] for a in ok_json(env, "admins", "list")] == ["helpdesk@example.org"]
    granted = audit(env, "admin:role:granted")
    assert [(a, d["role"], d.get("organisation")) for a, _, d in granted] == [
        ("cli:beheer-jan", "organisation", "delinde"), ("cli:beheer-jan", "helpdesk", None)]
    [(actor, subject, revoked)] = audit(env, "admin:role:revoked")
    beheerder_id = query(env, "SELECT id FROM user_account WHERE email = 'beheerder@delinde.example'")[0][0]
    assert (actor, subject, revoked["role"]) == ("cli:beheer-piet", beheerder_id, "organisation")
