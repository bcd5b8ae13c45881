"""Demo data for one client of the elderly-care organisation, generated from their sub (the same every visit),
and the messages they send, in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from clients.dutch import LOCAL_TIME, seeded_rng, today

EVVERS = ["Anja de Groot", "Marco Smit", "Fleur Hendriks", "Yasmina Bouali", "Joke Mulder"]
TEAMS = ["Team Lindehof", "Team De Boomgaard", "Team Zonnehoek"]
LOCATIONS = ["Lindehof, afdeling Beuk", "De Boomgaard, kamer 12", "Zonnehoek, appartement 3b"]
# goal, what the care team does
GOALS = [
    ("Veilig lopen in en om huis", "Hulp bij het lopen met de rollator; twee keer per week oefenen met de fysio."),
    ("Goed eten en drinken", "Hulp bij het klaarzetten van de warme maaltijd; wekelijks wegen."),
    ("Medicijnen op tijd", "De medicijnen worden 's ochtends en 's avonds aangereikt en afgetekend."),
    ("Contact met familie en buren", "Samen de dagbesteding op dinsdag en donderdag plannen."),
    ("Zelfstandig wassen en aankleden", "Hulp bij douchen op maandag, woensdag en vrijdag; aankleden zelf."),
    ("Goed slapen", "Avondronde om 22:00; bij onrust wordt de familie gebeld als u dat wilt."),
]
VISITS = ["Ochtendzorg", "Avondronde", "Douchen", "Medicijnen", "Evaluatie zorgplan", "Fysiotherapie"]
FIRST_MESSAGES = [
    "Goedemorgen, volgende week bespreken we uw zorgplan. Wilt u dat uw dochter daarbij is?",
    "Uw nieuwe rollator is besteld, hij wordt volgende week gebracht.",
    "De kapper komt donderdag om 10 uur langs. Zal ik u eraan herinneren?",
]


@dataclass
class Visit:
    at: datetime
    what: str
    by: str


@dataclass
class Message:
    at: datetime
    sender: str
    text: str
    from_client: bool = False


@dataclass
class Client:
    """One client's page data: generated once from the sub, then changed by what they send here."""

    evver: str
    team: str
    location: str
    goals: list[tuple[str, str]]
    evaluated: datetime
    visits: list[Visit]
    messages: list[Message] = field(default_factory=list)


def _at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TIME)


def generate(sub: str) -> Client:
    rng = seeded_rng("elderly", sub)
    evver, team = rng.choice(EVVERS), rng.choice(TEAMS)
    visits = []
    for days in range(1, 6):
        day = today() + timedelta(days=days)
        visits.append(Visit(_at(day, rng.choice([7, 8]), rng.choice([0, 30])), "Ochtendzorg", evver))
        if rng.random() < 0.4:
            visits.append(Visit(_at(day, rng.choice([14, 15])), rng.choice(VISITS[2:]), rng.choice(EVVERS)))
    visits.sort(key=lambda v: v.at)
    messages = [Message(_at(today() - timedelta(days=rng.randint(1, 6)), 9, 15), evver, rng.choice(FIRST_MESSAGES))]
    return Client(evver=evver, team=team, location=rng.choice(LOCATIONS), goals=sorted(rng.sample(GOALS, 4)),
                  evaluated=_at(today() - timedelta(weeks=rng.randint(3, 10)), 10), visits=visits, messages=messages)


class Store:
    """Every client's data of this process, behind one lock (the portal is a demo: memory is the database)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}

    def get(self, sub: str) -> Client:
        with self._lock:
            if sub not in self._clients:
                self._clients[sub] = generate(sub)
            return self._clients[sub]

    def send(self, sub: str, name: str, text: str) -> Message:
        client = self.get(sub)
        sent = Message(datetime.now(LOCAL_TIME), name, text, from_client=True)
        with self._lock:
            client.messages.append(sent)
        return sent
