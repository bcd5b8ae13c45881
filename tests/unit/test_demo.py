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
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert {p.email for p in DEMO_USERS} == set(users)
    wilma, mila, henk = users["w.bakker@example.org"], users["mila@example.org"], users["h.jansen@example.org"]
    assert wilma.must_change_password and wilma.username == "wbakker"
    assert henk.username == "hjansen" and not henk.must_change_password and henk.phone_verified
    assert mila.password_hash is None and mila.activation_pending and mila.date_of_birth.isoformat() == "1987-04-12"
    assert list(notes) == ["mila@example.org"] and "/activate/" in notes["mila@example.org"]
    link = db.session.scalar(select(AccountLink).where(AccountLink.user_id == mila.id))
    from idp.portals.registry import get

    assert link.client_id == get("demo-ggz").client_id  # the link belongs to Mijn Helder

    again = seed(app)  # a restart keeps everyone and gives Mila a fresh link (the earlier one stops working)
    assert {u.email: u.id for u in db.session.scalars(select(User))} == {e: u.id for e, u in users.items()}
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
