"""`idp demo`'s registry of the five seed portals, their demo people, their ports and the banner (issue 14 part 5)."""

from __future__ import annotations

import importlib

import click
import pytest
from sqlalchemy import select

from idp import demo
from idp.demo import DEMO_POLICIES, DEMO_PORTALS, DEMO_USERS, banner, check_ports, register_portals, seed
from idp.extensions import db
from idp.models import AccountLink, User


@pytest.fixture
def settings_overrides():
    return {"password_policies": DEMO_POLICIES}


def test_five_portals_one_per_seed_each_on_its_own_port():
    assert [(p.client_id, p.seed, p.offset) for p in DEMO_PORTALS] == [
        ("demo-patient", "003", 1), ("demo-ordering", "000", 2), ("demo-business", "001", 3),
        ("demo-elderly", "002", 4), ("demo-ggz", "004", 5)]
    for portal in DEMO_PORTALS:
        assert callable(importlib.import_module(portal.package).create_app)
        assert portal.people and all(any(u.email == email for u in DEMO_USERS) for email in portal.people)


@pytest.mark.parametrize(("port", "said"), [
    (65531, "ports 65531-65536, within 1-65535"),  # the GGZ portal takes port + 5
    (6661, "browsers refuse to open port 6665"),  # the elderly-care portal on port + 4
    (6660, "browsers refuse to open port 6665"),  # the GGZ portal on port + 5
])
def test_the_ports_of_the_new_portals_are_checked_too(port, said):
    with pytest.raises(click.BadParameter, match=said):
        check_ports(port)


def test_the_highest_port_that_leaves_room_for_five_portals_is_taken():
    assert check_ports(65530) is None


def test_each_portal_is_registered_with_its_seeds_options(app):
    portals = {p.client_id: p for p in register_portals(app, 5000)}
    from idp.portals import profile
    from idp.portals.registry import get

    elderly, ggz, patient, business = (get(i) for i in ("demo-elderly", "demo-ggz", "demo-patient", "demo-business"))
    assert (elderly.mfa, elderly.mfa_factors, elderly.trusted_device_days, elderly.password_policy) == (
        "every", ["sms"], 0, "elderly_care")
    assert "EVV'er" in elderly.help_contact
    chosen = profile.of(elderly)
    assert (chosen.sign_in_with, chosen.sms_prefix, chosen.reset_asks_username) == ("username", True, True)
    assert chosen.sign_in_url == "http://127.0.0.1:5004/login" == portals["demo-elderly"].url + "/login"

    assert (ggz.mfa, ggz.mfa_factors, ggz.trusted_device_days, ggz.password_policy) == (
        "required", ["email", "totp"], 7, "mental_health")
    chosen = profile.of(ggz)
    assert (chosen.sign_in_with, chosen.email_code_length, chosen.activation_phone) == ("username", 6, False)
    assert chosen.sign_in_url == "http://127.0.0.1:5005/login"

    chosen = profile.of(patient)  # seed 003: link, SMS code, then the password
    assert (chosen.activation_phone, chosen.activation_order, patient.password_policy) == (
        True, "phone_first", "gp_practice")
    chosen = profile.of(business)  # seed 001 as before: the phone never released, set again after a reset
    assert chosen.reset_phone and chosen.withheld_claims == ("phone_number", "phone_number_verified")


def test_a_restart_brings_a_changed_demo_portal_back_to_the_demos_options(app):
    from idp.portals import profile
    from idp.portals.registry import get, update

    register_portals(app, 5000)
    elderly = get("demo-elderly")
    update(elderly, mfa="optional", factors=["email"], trusted_device_days=30, password_policy="standard",
           help_contact="someone else", profile={"sms_prefix": "false", "logo_url": "http://127.0.0.1/logo.png"})
    db.session.commit()

    register_portals(app, 5200)  # another --port too
    db.session.expire_all()
    elderly = get("demo-elderly")
    assert (elderly.mfa, elderly.mfa_factors, elderly.trusted_device_days, elderly.password_policy) == (
        "every", ["sms"], 0, "elderly_care")
    assert "EVV'er" in elderly.help_contact
    assert profile.of(elderly).sms_prefix is True
    assert profile.of(elderly).logo_url == ""  # what the demo does not set is the default again
    assert elderly.redirect_uris == ["http://127.0.0.1:5204/callback"]


def test_the_demo_people_are_made_as_their_seeds_say_and_kept(app):
    register_portals(app, 5000)
    notes = seed(app)
    users = {u.email: u for u in db.session.scalars(select(User)) if not u.no_login}
    assert {p.email for p in DEMO_USERS} == set(users)
    assert [u.name for u in db.session.scalars(select(User).where(User.no_login.is_(True)))] == ["Sem de Vries"]
    wilma, mila, henk = users["w.bakker@example.org"], users["mila@example.org"], users["h.jansen@example.org"]
    assert wilma.must_change_password and wilma.username == "wbakker"
    assert henk.username == "hjansen" and not henk.must_change_password and henk.phone_verified
    assert mila.password_hash is None and mila.activation_pending and mila.date_of_birth.isoformat() == "1987-04-12"
    assert list(notes) == ["mila@example.org"] and "/activate/" in notes["mila@example.org"]
    link = db.session.scalar(select(AccountLink).where(AccountLink.user_id == mila.id))
    from idp.portals.registry import get

    assert link.client_id == get("demo-ggz").client_id  # the link belongs to Mijn Helder

    again = seed(app)  # a restart keeps everyone and gives Mila a fresh link (the earlier one stops working)
    assert {u.email: u.id for u in db.session.scalars(select(User)) if not u.no_login} == {
        e: u.id for e, u in users.items()}
    assert again["mila@example.org"] != notes["mila@example.org"]


def test_the_banner_prints_all_five_portals_with_their_people(app, settings):
    portals = register_portals(app, 5000)
    notes = seed(app)
    printed = "\n".join(banner(settings, notes, 5000, portals))
    for portal, url in (("Huisartsenpraktijk De Linde", 5001), ("Samen zorgen bestellen", 5002),
                        ("Zakelijk Portaal", 5003), ("Mijn Avondrood", 5004), ("Mijn Helder", 5005)):
        assert f"{portal}" in printed and f"http://127.0.0.1:{url}" in printed
    lines = printed.splitlines()
    avondrood = next(i for i, line in enumerate(lines) if "Mijn Avondrood" in line)
    assert lines[avondrood + 1].split()[:2] == ["hjansen", "Zonnebloem-7"]
    assert lines[avondrood + 2].split()[:3] == ["wbakker", "Tijdelijk-4821", "(temporary)"]
    helder = next(i for i, line in enumerate(lines) if "Mijn Helder" in line)
    assert lines[helder + 1].split()[:2] == ["sdewit", "Zeewind!Helder-2026"]
    assert notes["mila@example.org"] in lines[helder + 2] and "date of birth 12-04-1987" in lines[helder + 2]
    assert "seed 002" in lines[avondrood] and "seed 004" in lines[helder]
    assert "parent@example.org" in printed  # not at a portal: listed under the account page
    assert demo.DEMO_TOTP_SECRET in printed


# --- issue 15: acting for someone else -------------------------------------------------------------------------

def stories() -> dict[tuple[str, str], tuple[str, int]]:
    """(delegate, principal) -> (status, the principal's age today) of every delegation in the database."""
    from idp import clock
    from idp.delegation.ages import AgeRules, age_on
    from idp.models import Delegation

    db.session.expire_all()  # seed works in an app context (a database session) of its own
    today = AgeRules.from_settings().today(clock.now())
    return {(x.delegate.name, x.principal.name): (x.status, age_on(x.principal.date_of_birth, today))
            for x in db.session.scalars(select(Delegation))}


def test_the_families_are_made_once_with_their_ages_and_keep_them_a_year_later(app, frozen, time_machine):
    from datetime import timedelta

    from idp import clock
    from idp.delegation import principals_of
    from idp.models import Delegation

    register_portals(app, 5000)
    seed(app)
    told = {
        ("Anna de Vries", "Sem de Vries"): ("active", 8),
        ("Anna de Vries", "Lotte de Vries"): ("pending", 14),
        ("Anna de Vries", "Daan de Vries"): ("expired", 17),
        ("Ingrid Mulder", "Gerrit Mulder"): ("active", 86),
    }
    assert stories() == told
    anna = db.session.scalar(select(User).where(User.email == "anna@example.org"))
    assert [x.principal.name for x in principals_of(anna, "demo-patient", clock.now())] == ["Sem de Vries"]
    ingrid = db.session.scalar(select(User).where(User.username == "imulder"))
    assert [x.principal.name for x in principals_of(ingrid, "demo-elderly", clock.now())] == ["Gerrit Mulder"]
    sem = db.session.scalar(select(User).where(User.name == "Sem de Vries"))
    assert (sem.no_login, sem.given_name, sem.family_name) == (True, "Sem", "de Vries")
    ids = {x.id for x in db.session.scalars(select(Delegation))}

    time_machine.shift(timedelta(days=400))  # the demo database kept for more than a year, then started again
    seed(app)
    assert {x.id for x in db.session.scalars(select(Delegation))} == ids  # nothing made twice
    assert stories() == told  # the ages the banner promises still hold
    assert [x.principal.name for x in principals_of(anna, "demo-patient", clock.now())] == ["Sem de Vries"]


def test_the_banner_tells_who_acts_for_whom_and_how_it_stands(app, settings):
    portals = register_portals(app, 5000)
    printed = "\n".join(banner(settings, seed(app), 5000, portals))
    lines = printed.splitlines()
    linde = next(i for i, line in enumerate(lines) if "Huisartsenpraktijk De Linde" in line)
    assert [line.split()[0] for line in lines[linde + 1:linde + 5]] == [
        "patient@example.org", "anna@example.org", "anna+lotte@example.org", "anna+daan@example.org"]
    assert "Anna de Vries for Sem de Vries (8, no login of their own): parental, active" in printed
    assert "Anna de Vries for Lotte de Vries (14): parental, waiting for Lotte's consent" in printed
    assert "Anna de Vries for Daan de Vries (17): parental, ended at the 16th birthday" in printed
    assert "Ingrid Mulder for Gerrit Mulder (86): contact person (family), active" in printed


# --- issue 16: the console's admins ---------------------------------------------------------------------------

def test_the_console_admins_get_their_roles_and_organisations_once(app, settings):
    from idp.accounts import admins, people
    from idp.demo_admins import DEMO_ADMINS
    from idp.models import AdminRole

    portals = register_portals(app, 5000)
    notes = seed(app)
    with app.app_context():
        held = {(u.username or u.email): (r.role, r.organisation.code if r.organisation else None) for u, r in
                db.session.execute(select(User, AdminRole).join(AdminRole, AdminRole.user_id == User.id))}
        assert held == {"beheer@idp.example.org": ("deployment", None), "helpdesk@idp.example.org": ("helpdesk", None),
                        "admin@business.example.org": ("organisation", "rijnmond-bouw"),
                        "everhoeven": ("organisation", "avondrood")}
        evv = admins.admin_of(db.session.scalar(select(User).where(User.username == "everhoeven")))
        seen = {u.username for u in people.find("example.org", status=None, now=demo.clock.now(),
                                                within=admins.visible_people(evv))}
        assert seen == {"everhoeven", "hjansen", "wbakker", "gmulder"}  # the home's clients, not Ingrid or Anna
        bram = admins.admin_of(db.session.scalar(select(User).where(User.email == "admin@business.example.org")))
        assert not admins.may(bram, admins.Action.MANAGE_PORTALS, None)
        count = db.session.query(AdminRole).count()
    seed(app)  # a restart changes nothing
    with app.app_context():
        assert db.session.query(AdminRole).count() == count == 4
    printed = "\n".join(banner(settings, notes, 5000, portals))
    console = printed[printed.index("/admin"):]
    for item in DEMO_ADMINS:
        assert item.login in console and item.work in console
    assert "Sleutelbos-2026" in console and demo.DEMO_TOTP_SECRET in console
