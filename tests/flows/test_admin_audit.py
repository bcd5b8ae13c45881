"""Issue 16 part 2: the admin console's audit page (/admin/audit) and its CSV export (/admin/audit.csv):
filters narrow the rows, pages of 50 newest first, days in Dutch time, NEN 7513's columns, formulas neutralised,
each admin reads only what the rule (idp.accounts.admins) lets them, and exporting is itself audited."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from idp import audit, clock
from idp.accounts import audit_trail
from idp.audit import EventTag
from idp.extensions import db
from idp.models import AuditEvent, User
from tests.flows.admin_helpers import make_world
from tests.flows.test_admin_console import session_for
from tests.helpers import audit_events, browser, english_browser

AMSTERDAM = audit_trail.ZONE


@pytest.fixture
def client(app):
    return english_browser(app)


@pytest.fixture
def world(app):
    return make_world()


def event(tag: EventTag, *, about: User | None = None, by: User | None = None, actor: str | None = None,
          portal: str | None = None, ip: str | None = None, user_agent: str | None = None,
          outcome: str = "success", **details) -> AuditEvent:
    """One audit row, as the code that records it would write it (`by`: the acting person)."""
    previous = audit.set_origin(audit.Origin(ip=ip, user_agent=user_agent, actor="system"))
    try:
        row = audit.record(tag, outcome=outcome, user_id=about.id if about else None, client_id=portal,
                           actor=actor or (f"user:{by.sub}" if by else None),
                           actor_user_id=by.id if by else None, **details)
    finally:
        audit._origin.reset(previous)
    db.session.commit()
    return row


def shown(response) -> list[tuple[str, str | None, str | None]]:
    """(tag, on whose behalf, from where) of each row on the page, in order."""
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    listed = re.search(r'<ol class="items">(.*?)</ol>', html, re.S)
    if listed is None:
        return []
    rows = []
    for item in re.findall(r"<li>(.*?)</li>", listed.group(1), re.S):
        tag = re.search(r"<code>([^<]+)</code>", item).group(1)
        whom = re.search(r"On behalf of: ([^<(]+)", item)
        where = re.search(r"From: ([^<]+)", item)
        rows.append((unescape(tag), unescape(whom.group(1)).strip() if whom else None,
                     unescape(where.group(1)).strip() if where else None))
    return rows


def tags(response) -> list[str]:
    return [tag for tag, _whom, _where in shown(response)]


def exported(client, query: str = "") -> list[dict]:
    response = client.get("/admin/audit.csv" + query)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    assert tuple(reader.fieldnames) == audit_trail.CSV_COLUMNS
    return list(reader)


@pytest.fixture
def made(world):
    """Rows of every kind: about a member of Noord (Piet), by the helpdesk; about Sara of Zuid; by no person."""
    pro, stranger, helpdesk = world["pro"], world["stranger"], world["helpdesk"]
    return {
        "locked": event(EventTag.ACCOUNT_LOCKED, about=pro, portal="huisarts", ip="192.0.2.10"),
        "reset": event(EventTag.MFA_RESET, about=pro, by=helpdesk, ip="192.0.2.11", admin=helpdesk.email),
        "theirs": event(EventTag.USER_PASSWORD_CHANGED, about=stranger, by=stranger, portal="ggz", ip="192.0.2.12"),
        "key": event(EventTag.KEY_ROTATED, actor="cli:ops", kid="k2"),
    }


MADE = {str(EventTag.ACCOUNT_LOCKED), str(EventTag.MFA_RESET), str(EventTag.USER_PASSWORD_CHANGED),
        str(EventTag.KEY_ROTATED)}


def made_tags(response) -> list[str]:
    return [t for t in tags(response) if t in MADE]


# --- filters ----------------------------------------------------------------------------------------------------


def test_a_deployment_admin_sees_every_row_newest_first(app, client, world, made):
    session_for(client, world["deployment"])
    page = client.get("/admin/audit")
    assert made_tags(page) == ["key:rotated", "user:password:changed", "mfa:factors:reset", "account:locked"]
    text = page.get_data(as_text=True)
    # The person's own words where there are; who acted, for whom, where from, the outcome.
    assert "Your second steps were removed by the help desk" in text
    assert f"Who acted: user:{world['helpdesk'].sub} ({world['helpdesk'].email}, {world['helpdesk'].sub})" in text
    assert ("mfa:factors:reset", world["pro"].email, "192.0.2.11") in shown(page)
    assert "Outcome: failure" in text and "Who acted: cli:ops" in text


@pytest.mark.parametrize(("query", "expected"), [
    ("?person={pro.email}", ["mfa:factors:reset", "account:locked"]),
    ("?person={pro.sub}", ["mfa:factors:reset", "account:locked"]),
    ("?person=nobody-known@example.org", []),
    ("?actor={helpdesk.email}", ["mfa:factors:reset"]),
    ("?actor=cli:ops", ["key:rotated"]),
    ("?portal=ggz", ["user:password:changed"]),
    ("?event=account:locked", ["account:locked"]),
    ("?event=group:factors", ["mfa:factors:reset"]),
    ("?event=group:administration", ["key:rotated"]),
    ("?person={pro.email}&portal=huisarts", ["account:locked"]),
])
def test_each_filter_narrows_the_rows(app, client, world, made, query, expected):
    session_for(client, world["deployment"])
    page = client.get(query.format(pro=world["pro"], helpdesk=world["helpdesk"]).replace("?", "/admin/audit?", 1))
    assert made_tags(page) == expected


def test_a_filter_that_cannot_be_used_says_so_beside_the_field_and_keeps_what_was_typed(app, client, world, made):
    session_for(client, world["deployment"])
    page = client.get("/admin/audit?since=yesterday&person=piet%40noord.example&event=no:such:tag")
    text = page.get_data(as_text=True)
    assert 'id="since-error"' in text and "Type a date as yyyy-mm-dd" in text
    assert 'id="event-error"' in text and "Choose an event from the list" in text
    assert 'value="yesterday"' in text and 'value="piet@noord.example"' in text
    assert made_tags(page) == ["mfa:factors:reset", "account:locked"]  # the usable part still applies
    assert client.get("/admin/audit.csv?since=yesterday").status_code == 400


def test_days_are_in_dutch_time_and_the_end_day_is_included(app, client, world, frozen, time_machine):
    pro = world["pro"]
    first = event(EventTag.ACCOUNT_LOCKED, about=pro)
    time_machine.shift(timedelta(days=3))
    second = event(EventTag.ACCOUNT_UNLOCKED, about=pro)
    session_for(client, world["deployment"])
    day_one = first.at.astimezone(AMSTERDAM).date()
    day_two = second.at.astimezone(AMSTERDAM).date()
    only = "&event=group:sign-in&person=" + pro.email

    assert tags(client.get(f"/admin/audit?until={day_one.isoformat()}{only}")) == ["account:locked"]
    assert tags(client.get(f"/admin/audit?since={day_two.isoformat()}{only}")) == ["account:unlocked"]
    assert tags(client.get(f"/admin/audit?since={(day_one + timedelta(days=1)).isoformat()}"
                           f"&until={(day_two - timedelta(days=1)).isoformat()}{only}")) == []
    assert tags(client.get(f"/admin/audit?since={day_one.isoformat()}&until={day_two.isoformat()}{only}")) == [
        "account:unlocked", "account:locked"]
    # A day starts at midnight in Amsterdam, not in UTC: a row at 00:30 Dutch time is on that Dutch day.
    midnight = datetime.combine(day_two + timedelta(days=1), datetime.min.time(), tzinfo=AMSTERDAM)
    time_machine.move_to(midnight + timedelta(minutes=30), tick=False)
    late = event(EventTag.ACCOUNT_LOCKED, about=pro)
    assert late.at.astimezone(UTC).date() < late.at.astimezone(AMSTERDAM).date()  # UTC: still the day before
    session_for(client, world["deployment"])
    next_day = (day_two + timedelta(days=1)).isoformat()
    assert tags(client.get(f"/admin/audit?since={next_day}&until={next_day}{only}")) == ["account:locked"]
    assert tags(client.get(f"/admin/audit?until={day_two.isoformat()}&since={day_two.isoformat()}{only}")) == [
        "account:unlocked"]


def test_pages_of_fifty_newest_first(app, client, world):
    pro = world["pro"]
    for n in range(60):
        event(EventTag.MFA_CODE_REJECTED, about=pro, ip=f"198.51.100.{n}", outcome="failure")
    session_for(client, world["deployment"])
    first = client.get("/admin/audit?event=mfa:code:rejected")
    assert [where for _t, _w, where in shown(first)] == [f"198.51.100.{n}" for n in range(59, 9, -1)]
    older = re.search(r'href="([^"]+)">Older events', first.get_data(as_text=True))
    assert older and "event=mfa" in unescape(older.group(1))  # the filter goes along
    second = client.get(unescape(older.group(1)))
    assert [where for _t, _w, where in shown(second)] == [f"198.51.100.{n}" for n in range(9, -1, -1)]
    assert "Older events" not in second.get_data(as_text=True) and "Newest events" in second.get_data(as_text=True)


# --- the CSV export ---------------------------------------------------------------------------------------------


def test_the_csv_has_nen_7513s_columns_and_is_itself_audited(app, client, world, made):
    admin, pro, helpdesk = world["deployment"], world["pro"], world["helpdesk"]
    session_for(client, admin)
    rows = exported(client, f"?person={pro.email}")
    assert [r["event"] for r in rows if r["event"] in MADE] == ["mfa:factors:reset", "account:locked"]
    reset = next(r for r in rows if r["event"] == "mfa:factors:reset")
    made_reset = made["reset"]
    assert reset["time"] == made_reset.at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert datetime.fromisoformat(reset["time"].replace("Z", "+00:00")) == clock.aware(made_reset.at)
    assert (reset["actor"], reset["actor_sub"], reset["subject_sub"]) == (f"user:{helpdesk.sub}", helpdesk.sub,
                                                                          pro.sub)
    assert (reset["ip"], reset["outcome"], reset["portal"]) == ("192.0.2.11", "success", "")
    assert reset["what"].startswith("Your second steps were removed")
    assert json.loads(reset["details"]) == {"admin": helpdesk.email}
    locked = next(r for r in rows if r["event"] == "account:locked")
    assert (locked["outcome"], locked["portal"], locked["actor_sub"]) == ("failure", "huisarts", "")

    [done] = audit_events(EventTag.AUDIT_EXPORTED)
    assert done.actor == f"user:{admin.sub}" and done.actor_user_id == admin.id
    assert done.details["filter"] == {"person": pro.email} and done.details["rows"] == len(rows)
    again = exported(client, "?event=audit:exported")
    assert [r["actor_sub"] for r in again] == [admin.sub]  # the export is in the trail, and exportable


def test_a_formula_in_any_cell_is_neutralised(app, client, world):
    pro = world["pro"]
    event(EventTag.USER_UPDATED, about=pro, actor="=HYPERLINK(\"http://evil.example\")",
          user_agent="+cmd|' /C calc'!A0", ip="@SUM(1)")
    event(EventTag.USER_UPDATED, about=pro, actor="-2+3", user_agent="\tTabbed")
    session_for(client, world["deployment"])
    rows = exported(client, "?event=user:updated")
    assert [r["actor"] for r in rows] == ["'-2+3", "'=HYPERLINK(\"http://evil.example\")"]
    assert rows[0]["user_agent"] == "'\tTabbed"
    assert (rows[1]["user_agent"], rows[1]["ip"]) == ("'+cmd|' /C calc'!A0", "'@SUM(1)")
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for value in r.values())


def test_a_failed_sign_in_keeps_only_the_hash_of_the_name_typed(app, client, world):
    from tests.flows.test_admin_console import follow, path
    from tests.mfa_helpers import SignIn

    other = browser(app)
    response = follow(other, other.get("/account"))
    SignIn(other, path(response.location)).password("typed-by-mistake@example.org", "whatever it was")
    session_for(client, world["deployment"])
    rows = exported(client, "?event=login:password:failure")
    assert len(rows) == 1 and rows[0]["outcome"] == "failure"
    assert "typed-by-mistake" not in json.dumps(rows) and json.loads(rows[0]["details"])["login_hash"]
    assert "typed-by-mistake" not in client.get("/admin/audit").get_data(as_text=True)


# --- who reads what ---------------------------------------------------------------------------------------------


def test_an_organisation_admin_reads_only_rows_about_its_members(app, client, world, made):
    admin, pro, stranger = world["org_admin"], world["pro"], world["stranger"]
    by_member = event(EventTag.DEVICE_REVOKED, by=pro, ip="192.0.2.20")  # a member acted, about nobody
    session_for(client, admin)

    page = client.get("/admin/audit")
    assert made_tags(page) == ["mfa:factors:reset", "account:locked"]
    assert "device:revoked" in tags(page)
    assert stranger.email not in page.get_data(as_text=True) and stranger.sub not in page.get_data(as_text=True)
    assert "key:rotated" not in tags(page) and "192.0.2.12" not in page.get_data(as_text=True)
    # Naming the other organisation's person finds nothing, on the page and in the file.
    assert made_tags(client.get(f"/admin/audit?person={stranger.email}")) == []
    assert exported(client, f"?person={stranger.email}") == []
    rows = exported(client)
    assert not any(stranger.sub in (r["actor_sub"], r["subject_sub"]) for r in rows)
    assert {r["event"] for r in rows} & MADE == {"mfa:factors:reset", "account:locked"}
    assert any(r["event"] == "device:revoked" and r["actor_sub"] == pro.sub and r["ip"] == by_member.ip
               for r in rows)
    assert all(pro.sub in (r["actor_sub"], r["subject_sub"]) or admin.sub in (r["actor_sub"], r["subject_sub"])
               for r in rows)
    [done] = audit_events(EventTag.AUDIT_EXPORTED)[-1:]
    assert done.details["scope"] == "organisation"


def test_the_helpdesk_reads_rows_about_people_but_not_the_system(app, client, world, made):
    session_for(client, world["helpdesk"])
    page = client.get("/admin/audit")
    assert made_tags(page) == ["user:password:changed", "mfa:factors:reset", "account:locked"]
    assert "Every security event" not in page.get_data(as_text=True)


def test_no_admin_role_gets_403_and_no_file(app, client, world, made):
    session_for(client, world["nobody"])
    for url in ("/admin/audit", "/admin/audit.csv", f"/admin/audit?person={world['pro'].email}"):
        response = client.get(url)
        assert response.status_code == 403 and "No access" in response.get_data(as_text=True)
        assert "On behalf of" not in response.get_data(as_text=True) and world["pro"].sub not in \
            response.get_data(as_text=True)
    assert audit_events(EventTag.AUDIT_EXPORTED) == []


def test_without_a_session_both_ask_to_sign_in(app, world):
    anonymous = browser(app)
    for url in ("/admin/audit", "/admin/audit.csv"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/authorize?" in response.location


def test_every_tag_is_in_exactly_one_group():
    grouped = [tag for tags_ in audit_trail.GROUPS.values() for tag in tags_]
    assert sorted(grouped) == sorted(EventTag) and len(grouped) == len(set(grouped))


@pytest.mark.parametrize(("tag", "recorded", "outcome"), [
    ("login:password:failure", "failure", "failure"), ("message:dead", "success", "failure"),
    ("account:locked", "success", "failure"), ("logout:backchannel:failed", "success", "failure"),
    ("token:refresh:reuse", "success", "failure"), ("consent:denied", "success", "failure"),
    ("user:email:changed", "failure", "failure"), ("password:reset:requested", "no-account", "success"),
    ("account:unlocked", "success", "success"),
])
def test_the_outcome_rule(tag, recorded, outcome):
    assert audit_trail.outcome_of(tag, recorded) == outcome
