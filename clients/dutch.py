"""What the portals share for their demo data and their Dutch dates and times (Europe/Amsterdam)."""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TIME = ZoneInfo("Europe/Amsterdam")
DAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december"]


def seeded_rng(*parts: object) -> random.Random:
    """The same random numbers for the same parts (a person's sub, a domain): demo data that stays put."""
    seed = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))  # noqa: S311 (demo data, meant to be repeatable)


def today() -> date:
    return datetime.now(LOCAL_TIME).date()


def moment(at: datetime) -> str:
    """'3-5-2025 14:02' in Dutch local time."""
    at = at.astimezone(LOCAL_TIME)
    return f"{at.day}-{at.month}-{at.year} {at:%H:%M}"


def dutch_date(day: date | datetime) -> str:
    """'dinsdag 14 mei 2025', with ', 09:30' for a moment."""
    text = f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{text}, {day:%H:%M}" if isinstance(day, datetime) else text
