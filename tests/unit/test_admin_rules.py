"""Who may manage whom (issue 16 part 1): `admins.may` for every role × action × whose person, as a table;
`visible_people` as the query the console's search will use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import organisations
from idp.accounts.admins import DEPLOYMENT, HELPDESK, ORGANISATION, Action, Admin, may, operator, visible_people
from idp.extensions import db
from idp.models import User

OWN, OTHER = 1, 2
A = Action
EVERYTHING = frozenset(Action)
HELPDESK_WORK = frozenset({A.FIND, A.VIEW_AUDIT, A.UNLOCK, A.RESEND_ACTIVATION, A.RESET_FACTORS})
OWN_MEMBERS_WORK = HELPDESK_WORK | {A.CREATE_PERSON, A.EDIT_PERSON, A.SET_ROLES, A.DISABLE, A.SIGN_OUT,
                                    A.REMOVE_MEMBER}
LOOK_ONLY = frozenset({A.FIND, A.VIEW_AUDIT})
NOTHING: frozenset[Action] = frozenset()

ADMINS = {
    "deployment": Admin(role=DEPLOYMENT, name="beheer"),
    "helpdesk": Admin(role=HELPDESK, name="helpdesk"),
    "organisation": Admin(role=ORGANISATION, name="beheerder", organisation_id=OWN),
    "organisation without one": Admin(role=ORGANISATION, name="kapot", organisation_id=None),
    "unknown role": Admin(role="superuser", name="x"),
    "no admin": None,
}
# whom: (the person's organisation, whether they hold an admin role); None: asked without a person
TARGETS = {
    "own member": (OWN, False),
    "other organisation's member": (OTHER, False),
    "member of none": (None, False),
    "own organisation's admin": (OWN, True),
    "other organisation's admin": (OTHER, True),
    "nobody": None,
}
# What each admin may do, by whom it is done to. Written out, not derived from the module's table.
EXPECTED: dict[str, dict[str, frozenset[Action]]] = {
    "deployment": dict.fromkeys(TARGETS, EVERYTHING),
    "helpdesk": {
        "own member": HELPDESK_WORK, "other organisation's member": HELPDESK_WORK, "member of none": HELPDESK_WORK,
        "own organisation's admin": LOOK_ONLY, "other organisation's admin": LOOK_ONLY, "nobody": frozenset({A.FIND}),
    },
    "organisation": {
        "own member": OWN_MEMBERS_WORK, "other organisation's member": NOTHING, "member of none": NOTHING,
        "own organisation's admin": LOOK_ONLY, "other organisation's admin": NOTHING,
        "nobody": frozenset({A.FIND, A.CREATE_PERSON}),
    },
    "organisation without one": {**dict.fromkeys(TARGETS, NOTHING), "nobody": frozenset({A.FIND, A.CREATE_PERSON})},
    "unknown role": dict.fromkeys(TARGETS, NOTHING),
    "no admin": dict.fromkeys(TARGETS, NOTHING),
}


def test_the_table_covers_every_role_and_target():
    assert set(EXPECTED) == set(ADMINS)
    assert all(set(row) == set(TARGETS) for row in EXPECTED.values())


@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("who", list(ADMINS))
def test_may(who, target, action):
    whom = TARGETS[target]
    person = None if whom is None else User(email="p@example.org", organisation_id=whom[0])
    is_admin = whom is not None and whom[1]
    assert may(ADMINS[who], action, person, is_admin) is (action in EXPECTED[who][target])


def test_what_helpdesk_and_organisation_admins_may_never_do():
    """The issue's words: no portal changes and no role changes for the helpdesk; organisations, portals,
    admin roles, messages and erasure are the deployment admin's alone."""
    for who in ("helpdesk", "organisation"):
        for target in TARGETS:
            person = None if TARGETS[target] is None else User(organisation_id=TARGETS[target][0])
            for action in (A.MANAGE_PORTALS, A.MANAGE_ADMINS, A.MANAGE_ORGANISATIONS, A.MANAGE_MESSAGES, A.ERASE,
                           A.ADD_MEMBER):
                assert not may(ADMINS[who], action, person)
    assert not may(ADMINS["helpdesk"], A.SET_ROLES, User(organisation_id=OWN))


@pytest.fixture
def org_pair(app):
    admin = operator("beheer")
    pair = (organisations.create(admin, "Zorg A", "care_provider", clock.now(), email_domains=["zorg-a.example"]),
            organisations.create(admin, "Zorg B", "supplier", clock.now()))
    db.session.commit()
    return pair


def test_visible_people_is_the_organisations_members_for_its_admin(app, make_user, org_pair):
    own, other = org_pair
    mine = make_user("mine@zorg-a.example", org=own)
    theirs = make_user("theirs@zorg-b.example", org=other)
    loose = make_user("loose@example.org")

    def seen(admin):
        return set(db.session.scalars(select(User.email).where(visible_people(admin))))

    everyone = {mine.email, theirs.email, loose.email}
    assert seen(Admin(role=DEPLOYMENT, name="beheer")) == everyone
    assert seen(Admin(role=HELPDESK, name="helpdesk")) == everyone
    assert seen(Admin(role=ORGANISATION, name="a", organisation_id=own.id)) == {mine.email}
    assert seen(Admin(role=ORGANISATION, name="b", organisation_id=None)) == set()
    assert seen(Admin(role="superuser", name="x")) == set()
    assert seen(None) == set()
