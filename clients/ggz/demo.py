"""Demo data for one client of the mental-health organisation, generated from their sub (the same every visit),
and the questionnaires and messages they send, in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from clients.dutch import LOCAL_TIME, seeded_rng, today

PRACTITIONERS = ["Lotte Vermeulen (psycholoog)", "Daan Kok (sociaal psychiatrisch verpleegkundige)",
                 "Noor Yilmaz (GZ-psycholoog)", "Ruben Peeters (psychiater)"]
KINDS = ["Behandelgesprek", "Videogesprek", "Groepstraining omgaan met stress", "Evaluatie behandelplan"]
# The short check-in questionnaire: question, the answers from 0 to 4.
CHECK_IN = [
    ("Hoe heb je de afgelopen week geslapen?", ["Heel slecht", "Slecht", "Wisselend", "Goed", "Heel goed"]),
    ("Hoe was je stemming de afgelopen week?", ["Heel somber", "Somber", "Wisselend", "Goed", "Heel goed"]),
    ("Lukte het om dingen te doen die je belangrijk vindt?", ["Helemaal niet", "Weinig", "Soms", "Meestal",
                                                              "Altijd"]),
]


@dataclass
class Appointment:
    at: datetime
    kind: str
    with_whom: str


@dataclass
class Answered:
    at: datetime
    answers: list[str]
    score: int


@dataclass
class Message:
    at: datetime
    sender: str
    text: str
    from_client: bool = False


@dataclass
class Client:
    practitioner: str
    appointments: list[Appointment]
    answered: list[Answered] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


def _at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TIME)


def generate(sub: str) -> Client:
    rng = seeded_rng("ggz", sub)
    practitioner = rng.choice(PRACTITIONERS)
    appointments = []
    day = today()
    for _ in range(3):
        day += timedelta(days=rng.randint(3, 9))
        appointments.append(Appointment(_at(day, rng.choice([9, 10, 11, 13, 14, 15]), rng.choice([0, 30])),
                                        rng.choice(KINDS), practitioner))
    first = Message(_at(today() - timedelta(days=rng.randint(1, 5)), 16, 40), practitioner,
                    "Hoi, wil je voor ons volgende gesprek de vragenlijst invullen? Dan kunnen we samen kijken hoe "
                    "het gaat.")
    return Client(practitioner=practitioner, appointments=appointments, messages=[first])


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

    def answer(self, sub: str, chosen: list[str]) -> Answered | None:
        """Keep a filled-in check-in (an answer index 0-4 per question); None when one is missing or wrong."""
        if len(chosen) != len(CHECK_IN) or any(c not in {"0", "1", "2", "3", "4"} for c in chosen):
            return None
        answers = [options[int(c)] for (_, options), c in zip(CHECK_IN, chosen, strict=True)]
        answered = Answered(datetime.now(LOCAL_TIME), answers, sum(int(c) for c in chosen))
        client = self.get(sub)
        with self._lock:
            client.answered.insert(0, answered)
        return answered

    def send(self, sub: str, name: str, text: str) -> Message:
        client = self.get(sub)
        sent = Message(datetime.now(LOCAL_TIME), name, text, from_client=True)
        with self._lock:
            client.messages.append(sent)
        return sent
