"""The Dutch age rules (WGBO) for acting for a child, as pure functions of a date of birth and a moment.

Nothing here reads the clock or the database: the caller passes `now` and the rules (`AgeRules.from_settings()`).
A birthday begins at midnight in the rules' time zone; someone born on 29 February has their birthday on
1 March in a year without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from idp.runtime import settings

# What the rules allow for a child of this age: a parent alone (under parental_until), a parent with the
# child's consent (from parental_until), or only the person's own written consent (from adult_from).
PARENT_ALONE, WITH_CHILD_CONSENT, ONLY_OWN_CONSENT = "parent_alone", "with_child_consent", "only_own_consent"


@dataclass(frozen=True)
class AgeRules:
    parental_until: int = 12
    consent_from: int = 12
    adult_from: int = 16
    time_zone: str = "Europe/Amsterdam"

    @classmethod
    def from_settings(cls) -> AgeRules:
        cfg = settings().delegation
        return cls(cfg.parental_until, cfg.consent_from, cfg.adult_from, cfg.time_zone)

    def today(self, now: datetime) -> date:
        """The date it is at `now` where birthdays are counted."""
        return now.astimezone(ZoneInfo(self.time_zone)).date()

    def start_of(self, day: date) -> datetime:
        """The moment (UTC) `day` begins where birthdays are counted."""
        return datetime.combine(day, time(), tzinfo=ZoneInfo(self.time_zone)).astimezone(UTC)

    def stage(self, born: date, now: datetime) -> str:
        age = age_on(born, self.today(now))
        if age >= self.adult_from:
            return ONLY_OWN_CONSENT
        return PARENT_ALONE if age < self.parental_until else WITH_CHILD_CONSENT

    def may_consent(self, born: date, now: datetime) -> bool:
        """Is the child old enough to give (or sign) their own consent to a parent's access, and not yet past it?"""
        return self.consent_from <= age_on(born, self.today(now)) < self.adult_from

    def parental_end(self, born: date) -> datetime:
        """When access under the younger rules ends: the start of the adult_from birthday."""
        return self.start_of(birthday(born, self.adult_from))


def birthday(born: date, years: int) -> date:
    """The day someone born on `born` turns `years`; 29 February becomes 1 March in a year without it."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year
        return date(born.year + years, 3, 1)


def age_on(born: date, day: date) -> int:
    """Whole years on `day` (0 before the first birthday)."""
    years = day.year - born.year
    return years if birthday(born, years) <= day else years - 1
