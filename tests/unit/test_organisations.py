"""Organisations and admin roles as services (issue 16 part 1): what the CLI and the console call. Each change
is audited with the acting admin as actor; what is refused leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.accounts import admins, organisations
from idp.accounts.admins import NotAllowed
from idp.accounts.users import create_user
from idp.audit import EventTag
from idp.errors import InvalidInput, NotFound
from idp.extensions import db
from idp.models import AdminRole, AuditEvent, Organisation, User

PASSWORD = "correct horse battery"


def events(tag: EventTag) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == str(tag)).order_by(AuditEvent.id)))


@pytest.fixture
def beheer(app):
    return admins.operator("beheer-jan")


@pytest.fixture
def insurer_customer(beheer):
    org = organisations.create(beheer, "Thuiszorg De Linde B.V.", "business_customer", clock.now(),
                               email_domains=["@DeLinde.example", "linde-zorg.example"])
    db.session.commit()
    return org


def test_an_organisation_is_made_with_a_code_from_its_name_and_audited(beheer, insurer_customer):
    assert (insurer_customer.code, insurer_customer.kind) == ("thuiszorg-de-linde-b-v", "business_customer")
    assert insurer_customer.email_domains == ["delinde.example", "linde-zorg.example"]
    second = organisations.create(beheer, "Thuiszorg De Linde B.V.", "supplier", clock.now())
    assert second.code == "thuiszorg-de-linde-b-v-2"
    [made, _] = events(EventTag.ORGANISATION_CREATED)
    assert (made.actor, made.details["admin"], made.details["organisation"]) == (
        "cli:beheer-jan", "beheer-jan", "thuiszorg-de-linde-b-v")
    assert organisations.get("THUISZORG-DE-LINDE-B-V") is insurer_customer
    assert organisations.get("thuiszorg de linde b.v.") is insurer_customer
    assert organisations.get(str(insurer_customer.id)) is insurer_customer
    with pytest.raises(NotFound):
        organisations.get("nergens")


@pytest.mark.parametrize(("kw", "message"), [
    ({"name": " "}, "needs a name"),
    ({"code": "Zorg A"}, "not an organisation code"),
    ({"code": "123"}, "not an organisation code"),
    ({"kind": "hospital"}, "not a kind of organisation"),
    ({"email_domains": ["not a domain"]}, "not an e-mail domain"),
])
def test_bad_input_is_refused(beheer, kw, message):
    args = {"name": "Zorg A", "kind": "care_provider", **kw}
    with pytest.raises(InvalidInput, match=message):
        organisations.create(beheer, args.pop("name"), args.pop("kind"), clock.now(), **args)


def test_a_taken_code_is_refused(beheer, insurer_customer):
    with pytest.raises(InvalidInput, match="is taken"):
        organisations.create(beheer, "Ander", "supplier", clock.now(), code=insurer_customer.code)


def test_members_need_an_address_at_the_organisations_domains(beheer, insurer_customer, make_user):
    member = make_user("petra@delinde.example", org=insurer_customer)
    assert member.organisation_id == insurer_customer.id and member.organisation == "Thuiszorg De Linde B.V."
    with pytest.raises(InvalidInput, match="is not an address of Thuiszorg De Linde"):
        create_user("petra@gmail.example", PASSWORD, org=insurer_customer)
    outsider = make_user("kees@gmail.example")
    with pytest.raises(InvalidInput, match="is not an address of"):
        organisations.set_membership(beheer, outsider, insurer_customer, clock.now())
    assert outsider.organisation_id is None
    # Narrowing the domains is refused while a member is outside them.
    with pytest.raises(InvalidInput, match="1 member\\(s\\) have an address outside these domains"):
        organisations.update(beheer, insurer_customer, clock.now(), email_domains=["linde-zorg.example"])
    assert insurer_customer.email_domains == ["delinde.example", "linde-zorg.example"]


def test_membership_moves_and_is_audited_both_ways(beheer, insurer_customer, make_user):
    other = organisations.create(beheer, "Leverancier", "supplier", clock.now())
    person = make_user("petra@delinde.example")
    assert organisations.set_membership(beheer, person, insurer_customer, clock.now()) is True
    assert organisations.set_membership(beheer, person, insurer_customer, clock.now()) is False
    assert organisations.set_membership(beheer, person, other, clock.now()) is True  # at most one
    db.session.commit()
    assert [m.email for m in organisations.members(other)] == ["petra@delinde.example"]
    assert organisations.members(insurer_customer) == []
    added = events(EventTag.ORGANISATION_MEMBER_ADDED)
    removed = events(EventTag.ORGANISATION_MEMBER_REMOVED)
    assert [(e.subject_user_id, e.details["organisation"], e.actor) for e in added] == [
        (person.id, insurer_customer.code, "cli:beheer-jan"), (person.id, other.code, "cli:beheer-jan")]
    assert [(e.subject_user_id, e.details["organisation"]) for e in removed] == [(person.id, insurer_customer.code)]


def test_update_reports_and_audits_what_changed(beheer, insurer_customer):
    assert organisations.update(beheer, insurer_customer, clock.now(), name="De Linde", kind="business_customer",
                                code="delinde") == ["name", "code"]
    assert organisations.update(beheer, insurer_customer, clock.now(), name="De Linde") == []
    [changed] = events(EventTag.ORGANISATION_UPDATED)
    assert changed.details["changed"] == {"name": ["Thuiszorg De Linde B.V.", "De Linde"],
                                          "code": ["thuiszorg-de-linde-b-v", "delinde"]}


def test_remove_refuses_while_members_or_admins_remain(beheer, insurer_customer, make_user):
    person = make_user("petra@delinde.example", org=insurer_customer)
    admins.grant(beheer, person, "organisation", clock.now())
    with pytest.raises(InvalidInput, match="still has members"):
        organisations.remove(beheer, insurer_customer)
    with pytest.raises(InvalidInput, match="revoke that role first"):
        organisations.set_membership(beheer, person, None, clock.now())
    admins.revoke(beheer, person)
    organisations.set_membership(beheer, person, None, clock.now())
    organisations.remove(beheer, insurer_customer)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0
    [removed] = events(EventTag.ORGANISATION_REMOVED)
    assert (removed.actor, removed.details["organisation"]) == ("cli:beheer-jan", "thuiszorg-de-linde-b-v")


def test_one_admin_role_each_organisation_admins_tied_to_their_own(beheer, insurer_customer, make_user):
    person = make_user("petra@delinde.example", org=insurer_customer)
    loose = make_user("kees@example.org")
    with pytest.raises(InvalidInput, match="not a member of an organisation"):
        admins.grant(beheer, loose, "organisation", clock.now())
    other = organisations.create(beheer, "Leverancier", "supplier", clock.now())
    with pytest.raises(InvalidInput, match="is not a member of leverancier"):
        admins.grant(beheer, person, "organisation", clock.now(), organisation=other)
    with pytest.raises(InvalidInput, match="only an organisation admin has an organisation"):
        admins.grant(beheer, loose, "helpdesk", clock.now(), organisation=other)
    with pytest.raises(InvalidInput, match="not an admin role"):
        admins.grant(beheer, loose, "root", clock.now())

    admins.grant(beheer, person, "organisation", clock.now())
    admins.grant(beheer, person, "helpdesk", clock.now())  # replaces: one role each
    db.session.commit()
    [held] = db.session.scalars(select(AdminRole)).all()
    assert (held.user_id, held.role, held.organisation_id, held.granted_by) == (
        person.id, "helpdesk", None, "cli:beheer-jan")
    granted = events(EventTag.ADMIN_ROLE_GRANTED)
    assert [(e.subject_user_id, e.details["role"], e.details.get("previous"), e.actor) for e in granted] == [
        (person.id, "organisation", None, "cli:beheer-jan"), (person.id, "helpdesk", "organisation", "cli:beheer-jan")]
    assert admins.revoke(beheer, person) is True
    assert admins.revoke(beheer, person) is False
    db.session.commit()
    assert db.session.scalars(select(AdminRole)).all() == []
    [revoked] = events(EventTag.ADMIN_ROLE_REVOKED)
    assert (revoked.subject_user_id, revoked.details["role"], revoked.actor) == (person.id, "helpdesk",
                                                                                 "cli:beheer-jan")


def test_an_organisation_admin_signed_in_is_held_to_the_rule(beheer, insurer_customer, make_user):
    """The console's admin (admin_of a person): an organisation admin cannot make organisations, grant roles
    or take in someone else's people; the audit names them by their account."""
    beheerder = make_user("beheerder@delinde.example", org=insurer_customer)
    admins.grant(beheer, beheerder, "organisation", clock.now())
    colleague = make_user("collega@delinde.example", org=insurer_customer)
    stranger = make_user("kees@example.org")
    db.session.commit()
    admin = admins.admin_of(beheerder)
    assert (admin.role, admin.organisation_id, admin.user_id, admin.actor) == (
        "organisation", insurer_customer.id, beheerder.id, f"user:{beheerder.sub}")
    with pytest.raises(NotAllowed):
        organisations.create(admin, "Eigen club", "supplier", clock.now())
    with pytest.raises(NotAllowed):
        admins.grant(admin, colleague, "organisation", clock.now())
    with pytest.raises(NotAllowed):
        organisations.set_membership(admin, stranger, insurer_customer, clock.now())
    assert stranger.organisation_id is None
    # Their own member they may take out of the organisation (and then no longer manage).
    organisations.set_membership(admin, colleague, None, clock.now())
    [removed] = events(EventTag.ORGANISATION_MEMBER_REMOVED)
    assert (removed.actor, removed.actor_user_id, removed.subject_user_id) == (
        f"user:{beheerder.sub}", beheerder.id, colleague.id)
    assert admins.admin_of(colleague) is None
    assert admins.admin_of(stranger) is None


def test_a_disabled_person_is_no_admin(beheer, make_user):
    from idp.accounts.users import disable

    person = make_user("helpdesk@example.org")
    admins.grant(beheer, person, "helpdesk", clock.now())
    assert admins.admin_of(person).role == "helpdesk"
    disable(person)
    assert admins.admin_of(person) is None
    with pytest.raises(InvalidInput, match="cannot sign in"):
        admins.grant(beheer, person, "deployment", clock.now())


def test_the_old_free_text_names_an_organisation_or_makes_one(app, beheer, insurer_customer):
    by_code = create_user("a@delinde.example", PASSWORD, organisation=insurer_customer.code)
    by_name = create_user("b@delinde.example", PASSWORD, organisation="  thuiszorg de linde b.v. ")
    new = create_user("c@example.org", PASSWORD, organisation="Huisartsenpraktijk  De Linde")
    db.session.commit()
    assert by_code.organisation_id == by_name.organisation_id == insurer_customer.id
    assert (new.org.code, new.org.kind, new.organisation) == (
        "huisartsenpraktijk-de-linde", "other", "Huisartsenpraktijk De Linde")
    assert db.session.scalar(select(func.count()).select_from(User).where(User.organisation_id.is_(None))) == 0
