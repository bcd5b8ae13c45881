"""Brute force against the live provider (issue 18 part 6): `make bench-bruteforce` or `.venv/bin/python
bench/bruteforce.py --help`.

Starts `idp serve` (gunicorn, 2 workers) on PostgreSQL with its rate limits in Redis, as in production, with N
demo-like accounts, and attacks it over loopback HTTP, bounded in requests and time:

1. password spraying: a few common passwords across every account, from one client address and from many
   (source addresses 127.0.x.y: the provider trusts no proxy here, server.proxy_hops = 0, so X-Forwarded-For
   would be ignored and each connection's own address is the client's);
2. guessing the code of an SMS second factor, one guess after another and then many at once;
3. many wrong passwords at once against one account that has k tries left (the lockout counter's race);
4. the timing of known and unknown accounts at the password form, "forgot password" and registration.

Counts come from the provider's own database (audit rows, lockout rows, one-time codes), not from what the
answers seem to say. Prints a report, writes bench/bruteforce.json, and exits 1 when a property that must hold
did not (a wrong password that got in, more passwords or codes checked than allowed, a code accepted after its
tries were used up, a locked account that let the right password in, a timing difference above the noise).
Not a test: nothing here runs under `make test`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import machine
from loadgen import Response
from provider import BIN, HOST, ROOT, Gunicorn, Instance, lifted_rate_limits, reset_postgres, stop, wait_ready
from scenarios import _CSRF, _FORM, Browser, _path

HERE = Path(__file__).resolve().parent
PASSWORD = "Kastanje-Bench-2026!"  # every bench account's own password (a throwaway database)
COMMON = ("Welkom01!", "Wachtwoord1", "Zomer2026!", "Amsterdam1", "Qwerty123!")
REDIRECT = "http://127.0.0.1:9/cb"
LOCKED_TEXT = "This account is locked"


# --- statistics ----------------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between the sorted values (q in [0, 1])."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def spread(values: list[float]) -> dict[str, float]:
    """Median, quartiles, interquartile range and median absolute deviation of one set of samples."""
    median = statistics.median(values)
    p25, p75 = quantile(values, 0.25), quantile(values, 0.75)
    return {"n": len(values), "median": median, "p25": p25, "p75": p75, "iqr": p75 - p25,
            "mad": statistics.median(abs(v - median) for v in values)}


def compare(known: list[float], unknown: list[float]) -> dict[str, float | bool | str]:
    """Known against unknown: the difference of the medians next to the noise, the larger of the two IQRs.

    `above_noise` when the medians differ by more than that noise. `ci95` is a bootstrap interval of the
    difference of medians (fixed seed): it tells whether a difference smaller than the noise is still there.
    """
    a, b = spread(known), spread(unknown)
    diff = a["median"] - b["median"]
    noise = max(a["iqr"], b["iqr"])
    rng = random.Random(18)  # noqa: S311 (resampling, not secrets)
    boots = sorted(statistics.median(rng.choices(known, k=len(known)))
                   - statistics.median(rng.choices(unknown, k=len(unknown))) for _ in range(1000))
    low, high = boots[25], boots[974]
    if abs(diff) > noise:
        verdict = "differs by more than the noise"
    elif low > 0 or high < 0:
        verdict = "a difference below the noise, but resolved (its 95% interval excludes 0)"
    else:
        verdict = "no difference resolved"
    return {"median_difference": diff, "noise_iqr": noise, "above_noise": abs(diff) > noise,
            "ci95_low": low, "ci95_high": high, "verdict": verdict}


# --- HTTP from a chosen loopback address ------------------------------------------------------------------


def addresses(block: int, count: int) -> list[str]:
    """`count` client addresses 127.<block>.x.y: all of 127.0.0.0/8 is loopback on Linux."""
    return [f"127.{block}.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


@dataclass
class Client:
    """A browser at one source address: its own cookies, a fresh connection per request."""

    port: int
    source: str
    browser: Browser = field(default_factory=Browser)

    def request(self, method: str, target: str, form: dict | None = None) -> tuple[Response, float]:
        """Send one request; the answer and its time in ms (connect to last byte)."""
        body = urlencode(form).encode() if form is not None else None
        headers = self.browser.headers({**(_FORM if form is not None else {}), "Accept-Language": "en"})
        start = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60, source_address=(self.source, 0))
        try:
            conn.request(method, target, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
        finally:
            conn.close()
        elapsed = (time.perf_counter() - start) * 1000
        names: dict[str, list[str]] = {}
        for name, value in raw.getheaders():
            names.setdefault(name.lower(), []).append(value)
        response = Response(raw.status, names, data)
        self.browser.take(response)
        return response, elapsed

    def get(self, target: str) -> Response:
        return self.request("GET", target)[0]

    def post(self, target: str, form: dict) -> Response:
        return self.request("POST", target, form)[0]


def csrf_of(response: Response) -> str:
    match = _CSRF.search(response.body.decode("utf-8", "replace"))
    if match is None:
        raise RuntimeError(f"no csrf_token in a {response.status} answer")
    return match.group(1)


@dataclass
class Page:
    """A form page this client has open: where it posts and its CSRF token."""

    client: Client
    path: str
    csrf: str
    extra: dict = field(default_factory=dict)  # hidden fields the page's form sends along

    def post(self, form: dict) -> tuple[Response, float]:
        return self.client.request("POST", self.path, {"csrf_token": self.csrf, **self.extra, **form})


def open_sign_in(client: Client, client_id: str) -> Page:
    """GET /authorize (code + PKCE) and follow it to the password page of a new sign-in."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
                       "scope": "openid", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    response = client.get(f"/authorize?{query}")
    if response.status != 302:
        raise RuntimeError(f"authorize: HTTP {response.status}")
    path = _path(response.header("location") or "")
    page = client.get(path)
    return Page(client, path, csrf_of(page))


def outcome(response: Response) -> str:
    """What a sign-in POST's answer says: moved on, refused by a rate limit, locked, or tried again."""
    if response.status in (302, 303):
        return "moved_on"
    if response.status == 429:
        return "rate_limited"
    if response.status == 200:
        return "locked" if LOCKED_TEXT in response.body.decode("utf-8", "replace") else "refused"
    return f"http_{response.status}"


def at_once(jobs: list[Callable[[], str]]) -> Counter:
    """Run the jobs in threads released together (a barrier); the count of their outcomes."""
    barrier = threading.Barrier(len(jobs))
    results: list[str] = []
    lock = threading.Lock()

    def run(job: Callable[[], str]) -> None:
        barrier.wait()
        try:
            result = job()
        except OSError as error:
            result = f"error {type(error).__name__}"
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(results)


# --- the provider -------------------------------------------------------------------------------------------


class Provider:
    """`idp serve` on a fresh PostgreSQL database, its limits in Redis, the production limits left in place."""

    def __init__(self, a: argparse.Namespace) -> None:
        self.inst = Instance(a.postgres_url, Gunicorn(workers=a.workers, threads=a.threads), a.bcrypt_rounds)
        for name in [*lifted_rate_limits(), "IDP_LOCKOUT_MAX_FAILURES"]:
            self.inst.env.pop(name, None)  # the limits under test are the provider's own
        self.inst.env["IDP_REDIS_URL"] = a.redis_url
        self.port = self.inst.port
        self.a = a
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="idp-bruteforce-", suffix=".log", delete=False)  # noqa: SIM115

    def setup(self) -> dict:
        """Schema, keys, a portal (MFA as usual: asked of those who have a factor), a registration portal and
        the accounts, made in this process through the provider's own functions."""
        reset_postgres(self.inst.database)
        self.inst.idp("init")
        portal = json.loads(self.inst.idp("clients", "add", "--name", "Zorgportaal", "--redirect-uri", REDIRECT,
                                          "--first-party", "--json"))
        signup = json.loads(self.inst.idp("clients", "add", "--name", "Aanmelden", "--redirect-uri", REDIRECT,
                                          "--first-party", "--registration", "--json"))
        from idp import create_app
        from idp.accounts import factors
        from idp.accounts.users import create_user
        from idp.extensions import db
        from idp.settings import load

        app = create_app(load(environ=self.inst.env))
        people = [f"persoon{i:03d}@example.org" for i in range(self.a.accounts)]
        with app.app_context():
            for i, email in enumerate(people):
                user = create_user(email, PASSWORD, name=f"Bench Persoon {i:03d}")
                if email in self.sms_people(people):
                    factors.add_confirmed(user, "sms", phone_number=f"+3161{i:07d}")
            db.session.commit()
            db.engine.dispose()
        return {"portal": portal["client_id"], "signup": signup["client_id"], "people": people}

    @staticmethod
    def sms_people(people: list[str]) -> list[str]:
        """The accounts with an SMS second factor: the last two (sprayed like the rest: a code is asked only after
        the right password)."""
        return people[-2:]

    def start(self) -> None:
        args = [str(BIN / "idp"), "serve", "--bind", f"{HOST}:{self.port}", "--workers", str(self.a.workers),
                "--threads", str(self.a.threads)]
        self.proc = subprocess.Popen(args, env=self.inst.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_ready(self.port, self.proc)

    def close(self, keep_log: bool = False) -> None:
        stop(self.proc)
        self.log.close()
        self.inst.tmp.cleanup()
        if keep_log:
            print(f"the server's log: {self.log.name}", file=sys.stderr)
        else:
            Path(self.log.name).unlink()

    def sql(self, query: str, *params: object) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.inst.database, autocommit=True) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description is not None else []

    def one(self, query: str, *params: object) -> int:
        return int(self.sql(query, *params)[0][0] or 0)

    def fresh_limits(self) -> None:
        """Forget every rate-limit count (the bench's own Redis database): the next phase starts clean."""
        import redis

        client = redis.Redis.from_url(self.a.redis_url)
        client.flushdb()
        client.close()

    def passwords_checked(self, since: int, user_of: str | None = None) -> int:
        """Passwords the provider compared with a hash (right, wrong, or of a disabled account) since an audit
        id: the attempts the lockout let through. A refusal because of the lock is audited as reason "locked"."""
        query = ("SELECT count(*) FROM audit_event WHERE id > %s AND (tag = 'login:password:success' OR "
                 "(tag = 'login:password:failure' AND details->>'reason' IN ('invalid_credentials', 'disabled')))")
        if user_of is None:
            return self.one(query, since)
        return self.one(query + ' AND subject_user_id = (SELECT id FROM user_account WHERE email = %s)',  # noqa: S608
                        since, user_of)

    def last_audit_id(self) -> int:
        return self.one("SELECT coalesce(max(id), 0) FROM audit_event")

    def locked(self) -> int:
        return self.one("SELECT count(*) FROM login_failure WHERE locked_at IS NOT NULL")

    def sms_code(self, phone_end: str) -> str:
        """Deliver what is queued (`idp worker --once`, the file transport) and read the newest SMS to a number."""
        self.inst.idp("worker", "--once")
        outbox = Path(self.inst.tmp.name, "outbox.jsonl")
        for line in reversed(outbox.read_text(encoding="utf-8").splitlines()):
            message = json.loads(line)
            if message["channel"] == "sms" and message["to"].endswith(phone_end):
                match = re.search(r"\b(\d{6,10})\b", message["body"])
                if match:
                    return match.group(1)
        raise RuntimeError(f"no SMS code to ...{phone_end} in {outbox}")


# --- the phases ------------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    numbers: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # properties that did not hold

    def must(self, holds: bool, what: str) -> None:
        if not holds:
            self.failures.append(what)


def deadline(seconds: float) -> Callable[[], bool]:
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end


def spray(p: Provider, setup: dict, a: argparse.Namespace, sources: list[str], name: str) -> Phase:
    """Every common password against every account, the attempts spread over `sources` (a thread each)."""
    p.fresh_limits()
    p.sql("DELETE FROM login_failure")
    people: list[str] = setup["people"]
    attempts = [(pw, person) for pw in COMMON[:a.spray_passwords] for person in people][:a.max_requests]
    since = p.last_audit_id()
    expired = deadline(a.phase_seconds)
    per_source: dict[str, list[tuple[str, str]]] = {s: [] for s in sources}
    for i, attempt in enumerate(attempts):
        per_source[sources[i % len(sources)]].append(attempt)
    seen: Counter = Counter()
    lock = threading.Lock()
    sent = [0]

    def attack(source: str) -> None:
        page = open_sign_in(Client(p.port, source), setup["portal"])
        for password, person in per_source[source]:
            if expired():
                return
            response, _ms = page.post({"stage": "password", "username": person, "password": password})
            with lock:
                sent[0] += 1
                seen[outcome(response)] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=attack, args=(s,)) for s in sources if per_source[s]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase = Phase(name)
    checked = p.passwords_checked(since)
    phase.numbers = {
        "client_addresses": len(sources), "accounts": len(people), "passwords": a.spray_passwords,
        "attempts_sent": sent[0], "passwords_checked": checked, "accounts_locked": p.locked(),
        "refused_by_rate_limit": seen["rate_limited"], "wrong_password_answers": seen["refused"],
        "locked_answers": seen["locked"], "successes": seen["moved_on"],
        "other_answers": sum(v for k, v in seen.items() if k not in ("rate_limited", "refused", "locked",
                                                                      "moved_on")),
        "seconds": round(time.monotonic() - started, 1),
    }
    phase.must(seen["moved_on"] == 0, f"{seen['moved_on']} wrong passwords signed in")
    phase.must(checked <= sent[0], "more passwords checked than sent")
    return phase


def code_page(p: Provider, setup: dict, person: str, source: str) -> tuple[Page, str]:
    """Sign in with the right password up to the SMS code page; that page and the code the SMS carried."""
    page = open_sign_in(Client(p.port, source), setup["portal"])
    response, _ms = page.post({"stage": "password", "username": person, "password": PASSWORD})
    if response.status != 302:
        raise RuntimeError(f"password of {person}: HTTP {response.status}")
    form = page.client.get(page.path)
    if b'name="code"' not in form.body:
        raise RuntimeError("after the password: no code page")
    index = setup["people"].index(person)
    return Page(page.client, page.path, csrf_of(form)), p.sms_code(f"{index:07d}")


def wrong_codes(right: str, count: int) -> list[str]:
    rng = random.Random(6)  # noqa: S311 (guesses of an attacker)
    guesses: list[str] = []
    while len(guesses) < count:
        guess = "".join(rng.choice("0123456789") for _ in right)
        if guess != right and guess not in guesses:
            guesses.append(guess)
    return guesses


def code_row(p: Provider, person: str) -> tuple[int, bool]:
    """The newest sign-in code of a person: its counted wrong tries, and whether it was used."""
    rows = p.sql("SELECT attempts, used_at IS NOT NULL FROM one_time_code WHERE user_id = "
                 "(SELECT id FROM user_account WHERE email = %s) ORDER BY id DESC LIMIT 1", person)
    return int(rows[0][0]), bool(rows[0][1])


def code_guessing(p: Provider, setup: dict, a: argparse.Namespace) -> Phase:
    """One SMS code guessed one try after another; then a second sign-in's code guessed by many at once."""
    p.fresh_limits()
    phase = Phase("code guessing")
    limit = a.code_max_attempts
    first, second = Provider.sms_people(setup["people"])
    sources = addresses(30, 2)

    page, right = code_page(p, setup, first, sources[0])
    answers: Counter = Counter()
    for guess in wrong_codes(right, limit + 3):
        response, _ms = page.post({"stage": "second_factor", "action": "verify", "code": guess})
        answers[outcome(response)] += 1
    counted, _used = code_row(p, first)
    p.fresh_limits()  # so that a refusal of the right code below is the code's, not the rate limit's
    response, _ms = page.post({"stage": "second_factor", "action": "verify", "code": right})
    right_after = outcome(response)
    _counted, used = code_row(p, first)
    phase.numbers["one_by_one"] = {
        "configured_limit": limit, "wrong_guesses_sent": limit + 3, "guesses_counted": counted,
        "wrong_guess_answers": dict(answers), "right_code_afterwards": right_after,
        "code_used": used,
    }
    phase.must(counted <= limit, f"one by one: {counted} guesses counted, limit {limit}")
    phase.must(right_after != "moved_on" and not used, "one by one: the right code got in after the tries ran out")

    # Many guesses at once on a fresh code, the right one among them: taken only if it is within the limit.
    p.fresh_limits()
    page, right = code_page(p, setup, second, sources[1])
    guesses = [*wrong_codes(right, a.concurrency - 1)]
    guesses.insert(random.Random(7).randrange(len(guesses) + 1), right)  # noqa: S311

    def guess_job(code: str) -> Callable[[], str]:
        # Each its own connection; the same browser (cookies) and sign-in, as one attacker's many tabs.
        return lambda: outcome(page.post({"stage": "second_factor", "action": "verify", "code": code})[0])

    burst = at_once([guess_job(g) for g in guesses])
    counted, used = code_row(p, second)
    phase.numbers["at_once"] = {
        "configured_limit": limit, "guesses_sent_at_once": len(guesses), "right_code_among_them": True,
        "answers": dict(burst), "past_the_rate_limits": len(guesses) - burst["rate_limited"],
        "per_account_limit": a.per_account, "wrong_guesses_counted": counted, "right_code_accepted": used,
    }
    phase.must(counted <= limit, f"at once: {counted} wrong guesses counted, limit {limit}")
    phase.must(not (used and counted >= limit),
               f"at once: the right code got in after {counted} wrong guesses were counted (limit {limit})")
    return phase


def lockout_race(p: Provider, setup: dict, a: argparse.Namespace) -> Phase:
    """An account with k tries left, then many wrong passwords at once from many addresses."""
    p.fresh_limits()
    p.sql("DELETE FROM login_failure")
    phase = Phase("lockout race")
    limit, left = a.max_failures, a.tries_left
    person = setup["people"][0]
    sources = addresses(40, a.concurrency + 1)
    warm = open_sign_in(Client(p.port, sources[-1]), setup["portal"])
    for i in range(limit - left):  # use up all but k tries, one after another
        warm.post({"stage": "password", "username": person, "password": f"Fout-{i}"})
    pages = [open_sign_in(Client(p.port, s), setup["portal"]) for s in sources[:a.concurrency]]
    p.fresh_limits()  # the burst meets the lockout, with the rate limits as fresh as after a minute's wait
    since = p.last_audit_id()
    burst = at_once([
        (lambda page=page, i=i: outcome(page.post({"stage": "password", "username": person,
                                                      "password": f"Gok-{i}"})[0]))
        for i, page in enumerate(pages)
    ])
    checked = p.passwords_checked(since, user_of=person)
    locked_now = p.locked()
    p.fresh_limits()
    right = [outcome(page.post({"stage": "password", "username": person, "password": PASSWORD})[0])
             for page in pages[:3]]
    phase.numbers = {
        "lockout_limit": limit, "tries_left_before": left, "wrong_passwords_at_once": a.concurrency,
        "answers": dict(burst), "past_the_rate_limits": a.concurrency - burst["rate_limited"],
        "per_account_limit": a.per_account, "passwords_checked": checked, "account_locked": bool(locked_now),
        "right_password_afterwards": right,
    }
    phase.must(checked <= left, f"{checked} passwords checked with {left} tries left")
    phase.must(bool(locked_now), "the account was not locked")
    phase.must("moved_on" not in right, "the right password got in after the lockout")
    return phase


def timed_pairs(samples: int) -> Iterator[tuple[int, bool]]:
    """Known and unknown interleaved, the order swapped every round (ABBA)."""
    for i in range(samples):
        yield from ((i, True), (i, False)) if i % 2 == 0 else ((i, False), (i, True))


def timing(p: Provider, setup: dict, a: argparse.Namespace) -> Phase:
    """Known against unknown accounts at three forms; a different account and client address every few
    samples, so the real limits (per address, per typed name, the lockout) never answer instead."""
    p.fresh_limits()
    p.sql("DELETE FROM login_failure")
    phase = Phase("timing")
    people: list[str] = setup["people"]
    warmup = 10
    samples = min(a.samples, len(people) - 2 - warmup)  # a known account once per form (the SMS ones left out)

    def measure(name: str, pages: list[Page], form: Callable[[str], dict], ok: Callable[[Response], bool]) -> None:
        times: dict[bool, list[float]] = {True: [], False: []}
        bad = Counter()
        per_page = max(1, (samples + warmup) * 2 // len(pages) + 1)
        for n, (i, known) in enumerate(timed_pairs(samples + warmup)):
            typed = people[i % (len(people) - 2)] if known else f"niemand{i:04d}@example.org"
            response, ms = pages[n // per_page].post(form(typed))
            if not ok(response):
                bad[response.status] += 1
            elif i >= warmup:
                times[known].append(ms)
        result: dict = {"known": spread(times[True]), "unknown": spread(times[False]), "unexpected": dict(bad)}
        if times[True] and times[False]:
            result.update(compare(times[True], times[False]))
            phase.must(not result["above_noise"], f"{name}: known and unknown differ by more than the noise")
        phase.must(not bad, f"{name}: unexpected answers {dict(bad)}")
        phase.numbers[name] = result

    pairs = (samples + warmup) * 2
    sign_ins = [open_sign_in(Client(p.port, s), setup["portal"]) for s in addresses(50, pairs // 40 + 1)]
    measure("sign-in (wrong password)", sign_ins,
            lambda typed: {"stage": "password", "username": typed, "password": "Niet-Het-Wachtwoord-1"},
            lambda r: outcome(r) == "refused")

    resets = []
    for s in addresses(60, pairs // 25 + 1):  # links_per_ip: 30 an hour
        client = Client(p.port, s)
        resets.append(Page(client, "/reset", csrf_of(client.get("/reset"))))
    measure("forgot password", resets, lambda typed: {"email": typed}, lambda r: r.status == 200)

    registers = []
    for s in addresses(70, pairs // 25 + 1):
        client = Client(p.port, s)
        uid = open_sign_in(client, setup["signup"]).path.rsplit("/", 1)[-1]
        form = client.get(f"/register?uid={uid}")
        registers.append(Page(client, "/register", csrf_of(form), {"uid": uid}))
    measure("registration", registers, lambda typed: {"email": typed}, lambda r: r.status == 200)
    return phase


# --- the report ----------------------------------------------------------------------------------------------


def report(phases: list[Phase], meta: dict) -> str:
    lines = [(f"brute force against idp serve ({meta['workers']} workers x {meta['threads']} threads, PostgreSQL, "
              f"limits in Redis, bcrypt cost {meta['bcrypt_rounds']}), {meta['started']} to {meta['finished']}"),
             (f"load average {meta['load_average'][0]:.2f} before, {meta['load_average_after'][0]:.2f} after; CPU used "
              f"outside the bench and its server (PostgreSQL included): {meta['cpu_share_used_by_others']}")]
    for phase in phases:
        lines.append("")
        lines.append(f"== {phase.name}")
        lines.extend(_lines(phase.numbers, "  "))
        lines.extend(f"  FAILED: {failure}" for failure in phase.failures)
        if not phase.failures:
            lines.append("  held")
    return "\n".join(lines)


def _lines(numbers: dict, indent: str) -> list[str]:
    out = []
    for key, value in numbers.items():
        if isinstance(value, dict) and value and not all(isinstance(v, int) for v in value.values()):
            out.append(f"{indent}{key}:")
            out.extend(_lines(value, indent + "  "))
        elif isinstance(value, float):
            out.append(f"{indent}{key}: {value:.2f}")
        else:
            out.append(f"{indent}{key}: {value}")
    return out


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/idp_bench"),
                   help="a database the bench may wipe (env BENCH_POSTGRES_URL)")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
                   help="a Redis database the bench may empty (FLUSHDB; env BENCH_REDIS_URL)")
    p.add_argument("--accounts", type=int, default=200)
    p.add_argument("--spray-passwords", type=int, default=3, help=f"how many of {', '.join(COMMON)}")
    p.add_argument("--many-addresses", type=int, default=24, help="client addresses of the distributed spray")
    p.add_argument("--concurrency", type=int, default=50, help="requests sent at once in the races")
    p.add_argument("--tries-left", type=int, default=2, help="k: the account's tries left before the race")
    p.add_argument("--samples", type=int, default=150, help="timing samples per form and side")
    p.add_argument("--max-requests", type=int, default=1000, help="at most this many attempts per spray")
    p.add_argument("--phase-seconds", type=float, default=60, help="a spray stops sending after this long")
    p.add_argument("--bcrypt-rounds", type=int, default=8,
                   help="passwords.bcrypt_rounds (production: 12; lower keeps the run within minutes)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--json", default=str(HERE / "bruteforce.json"))
    return p.parse_args()


def main() -> int:
    a = _args()
    from idp.settings import CodeSettings, LimitSettings, LockoutSettings

    a.max_failures = LockoutSettings().max_failures  # the defaults the provider runs with here
    a.code_max_attempts = CodeSettings().max_attempts
    a.per_account = LimitSettings().sign_in_per_account
    meta = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "workers": a.workers, "threads": a.threads,
            "bcrypt_rounds": a.bcrypt_rounds, "accounts": a.accounts, "load_average": os.getloadavg()}
    p = Provider(a)
    others = machine.Others()
    phases: list[Phase] = []
    try:
        print(f"setting up {a.accounts} accounts ...", file=sys.stderr)
        setup = p.setup()
        p.start()
        print("1. spraying ...", file=sys.stderr)
        phases.append(spray(p, setup, a, addresses(10, 1), "spray from one address"))
        phases.append(spray(p, setup, a, addresses(20, a.many_addresses),
                            f"spray from {a.many_addresses} addresses"))
        print("2. code guessing ...", file=sys.stderr)
        phases.append(code_guessing(p, setup, a))
        print("3. lockout race ...", file=sys.stderr)
        phases.append(lockout_race(p, setup, a))
        print("4. timing ...", file=sys.stderr)
        phases.append(timing(p, setup, a))
        meta["cpu_share_used_by_others"] = others.share()  # while the server is still ours
    except BaseException:
        p.close(keep_log=True)
        raise
    p.close()
    meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["load_average_after"] = os.getloadavg()
    print(report(phases, meta))
    Path(a.json).write_text(json.dumps({"meta": meta, "phases": [
        {"name": ph.name, "numbers": ph.numbers, "failed": ph.failures} for ph in phases]}, indent=2) + "\n")
    return 1 if any(ph.failures for ph in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
