"""The demo's organisations and admins (issue 16): who manages whom in the console at /admin, as in the seeds.

- a deployment admin (everything, portals included) and a helpdesk colleague (find, unlock, resend activation,
  reset second factors: seed 000's helpdesk);
- the insurer's business customer with its own beheerder, who makes accounts for colleagues at the business
  address (seed 001, "Beheer → nieuwe gebruiker");
- the elderly-care home with its EVV'er, who manages the accounts of the home's clients (seed 002).
Made once, like the demo people; the CLI's rules (idp.accounts.admins, organisations) do it, as `demo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idp.accounts import admins, organisations
from idp.accounts.users import find_by_login


@dataclass(frozen=True)
class DemoOrganisation:
    code: str
    name: str
    kind: str
    email_domains: tuple[str, ...]
    members: tuple[str, ...]  # the logins of demo people who belong to it


@dataclass(frozen=True)
class DemoAdmin:
    login: str
    role: str
    organisation: str | None  # the code of the organisation an organisation admin manages
    work: str  # what to try in the console, for the banner


DEMO_ORGANISATIONS = [
    DemoOrganisation("rijnmond-bouw", "Bouwbedrijf Rijnmond", "business_customer", ("business.example.org",),
                     ("admin@business.example.org",)),
    DemoOrganisation("avondrood", "Zorggroep Avondrood", "care_provider", (),
                     ("everhoeven", "hjansen", "wbakker", "gmulder")),
]

DEMO_ADMINS = [
    DemoAdmin("beheer@idp.example.org", admins.DEPLOYMENT, None,
              "deployment admin: everyone, portals, organisations, audit, messages"),
    DemoAdmin("helpdesk@idp.example.org", admins.HELPDESK, None,
              "helpdesk: find anyone, unlock, send a new activation link, reset second steps"),
    DemoAdmin("admin@business.example.org", admins.ORGANISATION, "rijnmond-bouw",
              "the insurer's business customer's beheerder: new colleagues at @business.example.org"),
    DemoAdmin("everhoeven", admins.ORGANISATION, "avondrood",
              "the care home's EVV'er: the accounts of the home's clients"),
]

_OPERATOR = "demo"


def seed(now: datetime) -> None:
    """Make the organisations, memberships and admin roles that are missing (a change made while trying the
    demo stays)."""
    operator = admins.operator(_OPERATOR)
    for item in DEMO_ORGANISATIONS:
        found = organisations.find(item.code)
        if found is None:
            found = organisations.create(operator, item.name, item.kind, now, code=item.code,
                                         email_domains=item.email_domains)
            for login in item.members:
                person = find_by_login(login)
                if person is not None and person.organisation_id is None:
                    organisations.set_membership(operator, person, found, now)
    for held in DEMO_ADMINS:
        person = find_by_login(held.login)
        if person is None or admins.role_of(person) is not None:
            continue
        organisation = organisations.find(held.organisation) if held.organisation else None
        if held.organisation is not None and (organisation is None or person.organisation_id != organisation.id):
            continue  # taken out of the organisation while trying the demo: no role without membership
        admins.grant(operator, person, held.role, now, organisation)


def banner_lines(issuer: str, describe) -> list[str]:
    """The banner's console section: each admin with how to sign in (`describe(login)`) and what to try."""
    lines = [f"  the admin console (with a second step; it asks again after 15 minutes): {issuer}/admin"]
    for held in DEMO_ADMINS:
        lines.append(f"      {describe(held.login)}")
        lines.append(f"        {held.work}")
    return lines
