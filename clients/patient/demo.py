"""Demo data for one patient, generated from their sub (the same every visit), and what they did, in memory.

The practice knows a few demo patients by name (`KNOWN`: the children of `idp demo`, whose parent opens their
records): their age and a record that suits it, instead of generated adult medicines."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from clients.dutch import LOCAL_TIME, dutch_date, seeded_rng, today

__all__ = ["dutch_date"]  # the patient portal's filter, shared by the portals

GPS = ["dokter E. van Dijk", "dokter M. Bakker", "dokter S. El Amrani", "dokter J. de Boer", "dokter H. Visser"]
TIMES = ["08:30", "08:50", "09:10", "09:30", "10:30", "10:50", "11:10", "13:30", "14:00", "14:20", "15:40", "16:00"]
MEDICINES = [
    ("Metformine 500 mg", "2 keer per dag 1 tablet"),
    ("Amlodipine 5 mg", "1 keer per dag 1 tablet"),
    ("Simvastatine 40 mg", "1 keer per dag 1 tablet, 's avonds"),
    ("Omeprazol 20 mg", "1 keer per dag 1 capsule, voor het ontbijt"),
    ("Levothyroxine 50 microgram", "1 keer per dag 1 tablet, nuchter"),
    ("Salbutamol inhalator 100 microgram", "zo nodig 1 tot 2 inhalaties"),
    ("Metoprolol 50 mg", "1 keer per dag 1 tablet"),
]
# name, unit, low, high, decimals
TESTS = [
    ("Hemoglobine (Hb)", "mmol/l", 7.5, 10.0, 1),
    ("Glucose nuchter", "mmol/l", 4.0, 6.1, 1),
    ("HbA1c", "mmol/mol", 20, 42, 0),
    ("Cholesterol totaal", "mmol/l", 3.5, 6.5, 1),
    ("Kreatinine", "µmol/l", 50, 110, 0),
    ("TSH", "mU/l", 0.4, 4.0, 2),
]


@dataclass
class Appointment:
    at: datetime
    with_whom: str
    reason: str
    made_here: bool = False


@dataclass
class Question:
    subject: str
    text: str
    asked_at: datetime
    status: str = "In behandeling"


@dataclass
class Result:
    on: date
    test: str
    value: str
    unit: str
    reference: str
    remark: str


@dataclass
class Patient:
    """One patient's page data: generated once from the sub, then changed by what they do here."""

    gp: str
    appointments: list[Appointment]
    medicines: list[tuple[str, str]]
    results: list[Result]
    questions: list[Question] = field(default_factory=list)
    requested: dict[str, date] = field(default_factory=dict)
    born: date | None = None  # known for the patients of KNOWN only


@dataclass(frozen=True)
class Known:
    """A demo patient the practice knows by name: age (the date of birth follows today), GP, the reason of the
    next appointment, repeat medicines, and results (test, value, unit, reference, remark)."""

    age: int
    gp: str
    reason: str
    medicines: tuple[tuple[str, str], ...]
    results: tuple[tuple[str, str, str, str, str], ...]


NORMAL = "binnen de normaalwaarden"
KNOWN = {
    "Sem de Vries": Known(8, "dokter J. de Boer", "Controle na oorontsteking", (
        ("Cetirizine drank 1 mg/ml", "1 keer per dag 5 ml, in het hooikoortsseizoen"),
        ("Salbutamol aerosol 100 µg per dosis", "zo nodig 2 pufjes, met de voorzetkamer"),
    ), (
        ("Hemoglobine (Hb)", "7,4", "mmol/l", "7,0 – 9,0", NORMAL),
        ("CRP", "4", "mg/l", "0 – 10", NORMAL),
        ("Ferritine", "31", "µg/l", "15 – 80", NORMAL),
    )),
    "Lotte de Vries": Known(14, "dokter J. de Boer", "Gesprek over hoofdpijn", (
        ("Paracetamol 500 mg", "zo nodig 1 tablet, hooguit 4 per dag"),
    ), (
        ("Hemoglobine (Hb)", "7,1", "mmol/l", "7,0 – 9,0", NORMAL),
        ("Ferritine", "11", "µg/l", "15 – 80", "buiten de normaalwaarden; de huisarts bespreekt dit met u"),
    )),
    "Daan de Vries": Known(17, "dokter J. de Boer", "Controle acne", (
        ("Doxycycline 100 mg", "1 keer per dag 1 tablet"),
        ("Adapaleen crème 0,1%", "1 keer per dag 's avonds dun aanbrengen"),
    ), (
        ("ALAT (leverfunctie)", "21", "U/l", "0 – 45", NORMAL),
    )),
}


def born(age: int, day: date) -> date:
    """A date of birth that makes someone `age` on `day` (their birthday 100 days before), as `idp demo` does."""
    anchor = day - timedelta(days=100)
    try:
        return anchor.replace(year=anchor.year - age)
    except ValueError:  # 29 February, in a year without it
        return date(anchor.year - age, 2, 28)


def age_of(patient: Patient, day: date | None = None) -> int | None:
    """Whole years on `day` (today), or None when the practice does not know the date of birth."""
    if patient.born is None:
        return None
    day = day or today()
    return day.year - patient.born.year - ((day.month, day.day) < (patient.born.month, patient.born.day))


def working_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def _at(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), LOCAL_TIME)


def generate(sub: str, name: str | None = None) -> Patient:
    rng = seeded_rng("patient", sub)
    if name in KNOWN:
        known = KNOWN[name]
        first = working_days(today(), rng.randint(3, 8))[-1]
        on = today() - timedelta(weeks=3, days=rng.randint(0, 4))
        return Patient(gp=known.gp, appointments=[Appointment(_at(first, rng.choice(TIMES)), known.gp, known.reason)],
                       medicines=list(known.medicines), results=[Result(on, *result) for result in known.results],
                       born=born(known.age, today()))
    gp = rng.choice(GPS)
    first = working_days(today(), rng.randint(3, 8))[-1]
    appointments = [Appointment(_at(first, rng.choice(TIMES)), gp, "Controle bloeddruk")]
    medicines = sorted(rng.sample(MEDICINES, 3))
    results = []
    for weeks_ago in (2, 9):
        on = today() - timedelta(weeks=weeks_ago, days=rng.randint(0, 4))
        for name, unit, low, high, decimals in rng.sample(TESTS, 4):
            value = round(rng.uniform(low * 0.9, high * 1.1), decimals)
            shown = f"{value:.{decimals}f}".replace(".", ",")
            remark = ("binnen de normaalwaarden" if low <= value <= high
                      else "buiten de normaalwaarden; de huisarts bespreekt dit met u")
            low_s, high_s = (f"{v:.{decimals}f}".replace(".", ",") for v in (low, high))
            results.append(Result(on, name, shown, unit, f"{low_s} – {high_s}", remark))
    results.sort(key=lambda r: (r.on, r.test), reverse=True)
    return Patient(gp=gp, appointments=appointments, medicines=medicines, results=results)


def free_slots(sub: str, patient: Patient, days: int = 5) -> list[tuple[str, datetime, str]]:
    """(slot id, moment, GP) for the next working days, without the slots this patient already booked."""
    taken = {a.at for a in patient.appointments}
    slots = []
    for day in working_days(today(), days):
        rng = seeded_rng("slots", sub, day.isoformat())
        for hhmm in sorted(rng.sample(TIMES, 3)):
            moment = _at(day, hhmm)
            if moment not in taken:
                slots.append((moment.strftime("%Y-%m-%dT%H:%M"), moment, rng.choice(GPS)))
    return slots


class Store:
    """Every patient's data of this process, behind one lock (the portal is a demo: memory is the database)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._patients: dict[str, Patient] = {}

    def get(self, sub: str, name: str | None = None) -> Patient:
        """The patient of this sub; made at the first visit (a patient of KNOWN by their name)."""
        with self._lock:
            if sub not in self._patients:
                self._patients[sub] = generate(sub, name)
            return self._patients[sub]

    def book(self, sub: str, slot_id: str, reason: str) -> Appointment | None:
        patient = self.get(sub)
        with self._lock:
            for found, moment, gp in free_slots(sub, patient):
                if found == slot_id:
                    appointment = Appointment(moment, gp, reason or "Consult", made_here=True)
                    patient.appointments.append(appointment)
                    patient.appointments.sort(key=lambda a: a.at)
                    return appointment
        return None

    def ask(self, sub: str, subject: str, text: str) -> Question:
        patient = self.get(sub)
        question = Question(subject, text, datetime.now(LOCAL_TIME))
        with self._lock:
            patient.questions.insert(0, question)
        return question

    def request_repeat(self, sub: str, names: list[str]) -> list[str]:
        patient = self.get(sub)
        known = {name for name, _ in patient.medicines}
        chosen = [n for n in names if n in known]
        with self._lock:
            for name in chosen:
                patient.requested[name] = today()
        return chosen
