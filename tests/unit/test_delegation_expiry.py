"""`idp delegations expire`: delegations that ended become expired, and both people are told shortly before and
afterwards, once each (issue 15 part 2). Dates are relative to today."""

from __future__ import annotations

from datetime import timedelta

from idp import clock
from idp.audit import EventTag
from idp.delegation import AgeRules, create_principal, expire, grant_parental, record_child_consent
from idp.extensions import db
from idp.models import delegation as d
from tests.helpers import audit_events
from tests.mfa_helpers import messages

ADMIN = "helpdesk-anna"
RULES = AgeRules()


def today():
    return RULES.today(clock.now())


def noon(day):
    return RULES.start_of(day) + timedelta(hours=12)


def turning(years, on):
    return on.replace(year=on.year - years)


def consented(parent, child):
    delegation = grant_parental(ADMIN, parent, child, [], [], "passport seen", clock.now())
    record_child_consent(delegation, clock.now(), admin=ADMIN, form="form 1")
    db.session.commit()
    return delegation


def test_both_people_are_told_before_and_after_the_16th_birthday_once_each(app, make_user):
    parent = make_user("ouder@example.org", name="Petra Ouder")
    sixteen = today() + timedelta(days=10)
    child = make_user("kim@example.org", name="Kim Kind", date_of_birth=turning(16, sixteen))
    delegation = consented(parent, child)

    assert expire(noon(today() - timedelta(days=5))) == {"expired": 0, "ending_notices": 0, "ended_notices": 0}
    assert expire(clock.now()) == {"expired": 0, "ending_notices": 2, "ended_notices": 0}
    db.session.commit()
    assert delegation.status == d.ACTIVE and delegation.ending_notice_at is not None
    [to_parent] = messages(app, to="ouder@example.org", template="delegation_ending")
    assert "Uw toegang voor Kim Kind stopt binnenkort" in to_parent["subject"]
    assert f"Vanaf {sixteen.isoformat()} kunt u niet meer namens Kim Kind handelen" in to_parent["body"]
    assert "Kim Kind wordt dan 16." in to_parent["body"]
    [to_child] = messages(app, to="kim@example.org", template="delegation_ending")
    assert "De toegang van Petra Ouder tot uw gegevens stopt binnenkort" in to_child["subject"]
    assert "U wordt dan 16. Wilt u dat Petra Ouder toegang houdt?" in to_child["body"]

    assert expire(noon(today() + timedelta(days=1)))["ending_notices"] == 0  # never twice
    assert expire(noon(sixteen)) == {"expired": 1, "ending_notices": 0, "ended_notices": 2}
    db.session.commit()
    assert delegation.status == d.EXPIRED
    [ended] = messages(app, to="ouder@example.org", template="delegation_ended")
    assert f"Sinds {sixteen.isoformat()} kunt u niet meer namens Kim Kind handelen" in ended["body"]
    assert expire(noon(sixteen + timedelta(days=1))) == {"expired": 0, "ending_notices": 0, "ended_notices": 0}
    assert len(messages(app, template="delegation_ended")) == 2

    [expired] = audit_events(EventTag.DELEGATION_EXPIRED)
    assert (expired.subject_user_id, expired.details["delegate"], expired.details["principal"]) == (
        child.id, parent.sub, child.sub)
    assert [e.details["notice"] for e in audit_events(EventTag.DELEGATION_NOTICE_SENT)] == [
        "delegation_ending", "delegation_ended"]


def test_a_missed_job_sends_only_the_notice_afterwards(app, make_user):
    parent = make_user("ouder@example.org", name="Petra Ouder", locale="en")
    child = create_principal("Sam Kind", turning(16, today() + timedelta(days=1)), ADMIN, clock.now())
    delegation = consented(parent, child)
    after = noon(today() + timedelta(days=3))
    assert expire(after) == {"expired": 1, "ending_notices": 0, "ended_notices": 1}  # the child has no address
    db.session.commit()
    assert delegation.ending_notice_at is None and delegation.ended_notice_at == after
    [ended] = messages(app, template="delegation_ended")
    assert ended["to"] == "ouder@example.org"
    assert "Your access for Sam Kind has ended" in ended["subject"]
    assert "Sam Kind has turned 16. From that age only their own written consent" in ended["body"]


def test_a_delegation_never_used_expires_without_notices(app, make_user):
    parent = make_user("ouder@example.org", name="Petra Ouder")
    child = make_user("kim@example.org", name="Kim Kind", date_of_birth=turning(16, today() + timedelta(days=3)))
    pending = grant_parental(ADMIN, parent, child, [], [], "passport seen", clock.now())
    db.session.commit()
    assert pending.status == d.PENDING
    assert expire(clock.now()) == {"expired": 0, "ending_notices": 0, "ended_notices": 0}
    assert expire(noon(today() + timedelta(days=3))) == {"expired": 1, "ending_notices": 0, "ended_notices": 0}
    assert pending.status == d.EXPIRED
    assert messages(app) == []


def test_an_end_date_of_its_own_expires_too(app, make_user):
    parent = make_user("ouder@example.org", name="Petra Ouder")
    child = create_principal("Sam Kind", turning(5, today()), ADMIN, clock.now())
    until = clock.now() + timedelta(days=30)
    delegation = grant_parental(ADMIN, parent, child, [], [], "passport seen", clock.now(), valid_until=until)
    db.session.commit()
    assert expire(until - timedelta(days=13))["ending_notices"] == 1
    db.session.commit()
    [ending] = messages(app, template="delegation_ending")
    assert "wordt dan" not in ending["body"]  # not an age: the end the admin set
    assert expire(until)["expired"] == 1
    assert delegation.status == d.EXPIRED


def test_no_notices_while_the_childs_consent_is_missing(app, make_user):
    parent = make_user("ouder@example.org", name="Petra Ouder")
    twelve = today() + timedelta(days=1)
    child = make_user("kim@example.org", name="Kim Kind", date_of_birth=turning(12, twelve))
    delegation = grant_parental(ADMIN, parent, child, [], [], "passport seen", clock.now())
    db.session.commit()
    assert delegation.status == d.ACTIVE  # under 12 at the grant; from tomorrow it needs the child's consent
    sixteen = twelve.replace(year=twelve.year + 4)
    assert expire(noon(sixteen - timedelta(days=5))) == {"expired": 0, "ending_notices": 0, "ended_notices": 0}
    assert expire(noon(sixteen)) == {"expired": 1, "ending_notices": 0, "ended_notices": 0}
    assert messages(app) == []
