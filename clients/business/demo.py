"""Demo data for one care organisation, generated from its e-mail domain (the same every visit), in memory."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from clients.dutch import MONTHS, seeded_rng, today

CLIENTS = ["J. de Vries", "M. Jansen", "A. el Idrissi", "P. van den Berg", "S. Bakker", "K. Visser",
           "L. Smit", "R. Meijer", "F. Yilmaz", "T. Mulder", "E. de Groot", "N. Bos", "D. Vos", "H. Peters"]
# organisation -> what it declares (treatment, rate per time)
ORGANISATIONS = {
    "Fysiotherapie Het Anker": [("Zitting fysiotherapie", Decimal("38.50")),
                                ("Intake en onderzoek", Decimal("61.80")),
                                ("Behandeling aan huis", Decimal("47.25"))],
    "Logopedie Klinkklaar": [("Behandeling logopedie", Decimal("36.90")),
                             ("Screening en intake", Decimal("55.20")),
                             ("Behandeling aan huis", Decimal("44.10"))],
    "Diëtistenpraktijk Smakelijk": [("Consult dieetadvisering", Decimal("17.25")),
                                    ("Eerste consult", Decimal("34.50")),
                                    ("Consult aan huis", Decimal("28.75"))],
}
# Older claims are settled: most are paid, some refused (with the reason a real overview gives).
SETTLED = [("Uitbetaald", "")] * 5 + [
    ("Afgewezen", "verzekerde was op de behandeldatum niet bij ons verzekerd"),
    ("Afgewezen", "geen verwijzing van de huisarts ontvangen"),
]
STATUS_ORDER = ["Ingediend", "In behandeling", "Goedgekeurd", "Uitbetaald", "Afgewezen"]
# name, roles, state: one of each state a beheerder meets (seed 001: an expired link gets a new one)
COLLEAGUES = [("Sanne Willems", (), "Actief"), ("Ingrid Dekker", ("admin",), "Actief"),
              ("Bram de Jong", (), "Actief"), ("Ruud Kramer", (), "Activatielink verstuurd"),
              ("Noor Hamdi", (), "Activatielink verlopen")]


@dataclass(frozen=True)
class Claim:
    number: str
    client: str
    insured_number: str
    treated_on: date
    treatment: str
    amount: Decimal
    status: str
    explanation: str


@dataclass(frozen=True)
class Contract:
    number: str
    care: str
    starts: date
    ends: date
    rate: str
    status: str


@dataclass(frozen=True)
class Colleague:
    name: str
    email: str
    roles: tuple[str, ...]
    state: str
    last_sign_in: date | None


@dataclass(frozen=True)
class Organisation:
    """One care organisation's page data, generated from its e-mail domain."""

    name: str
    agb_code: str
    domain: str
    claims: list[Claim]
    contracts: list[Contract]
    colleagues: list[Colleague]




def organisation_of(email: str | None) -> Organisation:
    """The organisation behind a business address (demo: one per e-mail domain)."""
    domain = (email or "").rpartition("@")[2].lower() or "onbekend"
    rng = seeded_rng("organisation", domain)
    name = rng.choice(sorted(ORGANISATIONS))
    return Organisation(name=name, agb_code=f"{rng.randint(0, 99999999):08d}", domain=domain,
                        claims=_claims(rng, ORGANISATIONS[name]), contracts=_contracts(rng),
                        colleagues=_colleagues(rng, domain))


def _claims(rng: random.Random, treatments: list[tuple[str, Decimal]]) -> list[Claim]:
    claims, treated = [], today()
    for n in range(14):
        treated -= timedelta(days=rng.randint(2, 6))
        treatment, rate = rng.choice(treatments)
        sessions = rng.randint(1, 6)
        if n < 5:
            status, explanation = ("Ingediend", "") if n < 3 else ("In behandeling", "")
        elif n < 7:
            status, explanation = "Goedgekeurd", "wordt binnen 5 werkdagen betaald"
        else:
            status, explanation = rng.choice(SETTLED)
        claims.append(Claim(f"D{treated.year}-{rng.randint(100000, 999999)}", rng.choice(CLIENTS),
                            f"{rng.randint(100000000, 999999999)}", treated,
                            f"{treatment} ({sessions}×)", rate * sessions, status, explanation))
    return claims


def _contracts(rng: random.Random) -> list[Contract]:
    year = today().year

    def number(of: int) -> str:
        return f"C{of}-{rng.randint(1000, 9999)}"

    return [
        Contract(number(year + 1), "Eerstelijnszorg", date(year + 1, 1, 1), date(year + 1, 12, 31),
                 f"volgens tarievenlijst {year + 1}", "Aangeboden: wacht op uw ondertekening"),
        Contract(number(year), "Eerstelijnszorg", date(year, 1, 1), date(year, 12, 31),
                 f"volgens tarievenlijst {year}", "Getekend"),
        Contract(number(year), "Zorg aan huis", date(year, 4, 1), date(year + 1, 3, 31),
                 "vast bedrag per behandeling aan huis", "Getekend"),
        Contract(number(year - 1), "Eerstelijnszorg", date(year - 1, 1, 1), date(year - 1, 12, 31),
                 f"volgens tarievenlijst {year - 1}", "Afgelopen"),
    ]


def _colleagues(rng: random.Random, domain: str) -> list[Colleague]:
    people = []
    for name, roles, state in COLLEAGUES:
        seen = today() - timedelta(days=rng.randint(0, 30)) if state == "Actief" else None
        email = name.lower().replace(" ", ".") + "@" + domain
        people.append(Colleague(name, email, roles, state, seen))
    return people


def claims_with_status(claims: list[Claim], status: str | None) -> list[Claim]:
    """The claims of one status (all claims for no or an unknown status)."""
    return [c for c in claims if c.status == status] if status in STATUS_ORDER else list(claims)


def euro(amount: Decimal) -> str:
    """'€ 1.234,50' as Dutch people write amounts."""
    text = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"€ {text}"


def dutch_date(day: date) -> str:
    """'14 mei 2025'."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
