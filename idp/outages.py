"""Riding out an outage of a dependency (PostgreSQL, Redis, a gateway) in a loop that must not stop: `idp worker`.

The loop tells an `Outage` how each pass went. The first failure is logged once (not every retry), the passes
back off (1 s doubling to 30 s), and the first pass that works again is logged with how long it lasted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

FIRST_WAIT = 1.0
LONGEST_WAIT = 30.0


def describe(exc: BaseException) -> str:
    """The error in one short line (a driver's message can run over many lines and hold the whole query)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


class Outage:
    """The state of one loop's dependencies: fine, or failing since when and how long to wait next."""

    def __init__(self, what: str, logger: logging.Logger, *, first: float = FIRST_WAIT,
                 longest: float = LONGEST_WAIT, clock: Callable[[], float] = time.monotonic):
        self.what, self.logger, self.first, self.longest, self.clock = what, logger, first, longest, clock
        self.since: float | None = None
        self.failures = 0

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, *, expected: bool = True) -> float:
        """Record a failed pass; how many seconds to wait before the next. Logs only the first of an outage
        (an unexpected error, not a dependency's, with its traceback)."""
        if self.since is None:
            self.since = self.clock()
            self.logger.log(logging.WARNING if expected else logging.ERROR,
                            "%s failed, retrying with backoff up to %g s: %s", self.what, self.longest,
                            describe(exc), exc_info=None if expected else exc)
        self.failures += 1
        return min(self.longest, self.first * 2 ** (self.failures - 1))

    def succeeded(self) -> None:
        """Record a pass that worked; logs the recovery when it ends an outage."""
        if self.since is not None:
            self.logger.info("%s works again after %.1f s and %d failed attempt(s)", self.what,
                                self.clock() - self.since, self.failures)
        self.since, self.failures = None, 0
