"""idp.outages: a loop that rides out an outage backs off (capped) and says so once when it starts and ends."""

from __future__ import annotations

import logging

from idp.outages import Outage


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_to_its_cap_and_the_outage_is_logged_once_each_way(caplog):
    clock = Clock()
    outage = Outage("idp worker pass", logging.getLogger("test.outage"), clock=clock)
    caplog.set_level(logging.INFO, logger="test.outage")
    waits = []
    for _ in range(8):
        waits.append(outage.failed(ConnectionRefusedError("connection refused\nand a second line")))
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    assert outage.ongoing
    outage.succeeded()
    outage.succeeded()
    assert not outage.ongoing
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", ("idp worker pass failed, retrying with backoff up to 30 s: "
                     "ConnectionRefusedError: connection refused")),
        ("INFO", "idp worker pass works again after 121.0 s and 8 failed attempt(s)"),
    ]
    # The next outage starts again at the shortest wait.
    assert outage.failed(TimeoutError()) == 1


def test_an_unexpected_error_is_logged_with_its_traceback(caplog):
    outage = Outage("idp worker pass", logging.getLogger("test.outage"))
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        outage.failed(exc, expected=False)
    [record] = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is not None
