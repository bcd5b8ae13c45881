"""Only a real server can show this: portals (or an attacker) racing with the same credential."""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests


def _all_at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run the calls in threads released together by a barrier; return their responses."""
    barrier = threading.Barrier(len(calls))
    results: list[requests.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _outcomes(responses: list[requests.Response]) -> list[tuple[int, str | None]]:
    return sorted((r.status_code, r.json().get("error")) for r in responses)


def test_a_code_redeemed_four_times_at_once_buys_tokens_once(provider, browser, strict_rp):
    rp = strict_rp()
    request = rp.authorization_request()
    code = rp.code(browser.sign_in(request.url, request.redirect_uri), request)
    workers = [strict_rp() for _ in range(4)]  # each its own HTTP connection

    responses = _all_at_once([lambda w=w: w.exchange(code, request) for w in workers])

    assert _outcomes(responses) == [(200, None)] + [(400, "invalid_grant")] * 3


def test_a_refresh_token_used_four_times_at_once_rotates_once(provider, browser, strict_rp):
    rp = strict_rp()
    _, tokens = rp.sign_in(browser)
    workers = [strict_rp() for _ in range(4)]

    responses = _all_at_once([lambda w=w: w.refresh(tokens.refresh_token) for w in workers])

    assert _outcomes(responses) == [(200, None)] + [(400, "invalid_grant")] * 3
