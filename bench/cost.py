"""What one request costs, without HTTP or concurrency: `.venv/bin/python bench/cost.py [--database URL]`.

Runs the same scripts as the load test through Flask's test client in this process, and reports per
endpoint the CPU milliseconds and SQL statements of one request, plus the functions that took the time
(cProfile). Where the load test says *that* an endpoint is slow, this says *why*; and it is not disturbed
by whatever else runs on the machine, because it counts this process's CPU time only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import scenarios
from loadgen import Recorder, Request, Response, Stats
from provider import Gunicorn, Instance
from run import PASSWORD


class Driver:
    """Feeds a script's requests to the Flask test client; counts SQL statements on the way."""

    def __init__(self, app):
        from sqlalchemy import event

        from idp.extensions import db

        self.client = app.test_client(use_cookies=False)
        self.statements = 0
        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def count(*_args) -> None:
            self.statements += 1

    def send(self, request: Request) -> Response:
        answer = self.client.open(request.target, method=request.method, headers=request.headers,
                                  data=request.body or None, base_url="http://127.0.0.1")
        headers: dict[str, list[str]] = {}
        for name, value in answer.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        return Response(answer.status_code, headers, answer.get_data())

    def drive(self, script, requests: int) -> int:
        """Run one script for `requests` requests; returns how many were sent."""
        response = None
        sent = 0
        try:
            request = next(script)
            while sent < requests:
                response = self.send(request)
                sent += 1
                request = script.send(response)
        except StopIteration:
            pass
        finally:
            script.close()
        return sent


def measure(driver: Driver, name: str, factory, requests: int, top: int) -> str:
    rec = Recorder(Stats())
    driver.drive(factory(0, rec), 5)  # warm: first-request imports and template compilation
    before = driver.statements
    cpu, wall = time.process_time(), time.perf_counter()
    sent = driver.drive(factory(1, rec), requests)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    statements = driver.statements - before
    # profiled separately: cProfile's own overhead would inflate the timings above
    profile = cProfile.Profile()
    profile.enable()
    driver.drive(factory(2, rec), requests)
    profile.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    stats.sort_stats("cumulative").print_stats(r"idp/|authlib|joserfc|bcrypt|sqlalchemy/orm/session", top)
    stats.sort_stats("tottime").print_stats(top // 2)
    hot = "\n".join(line for line in stream.getvalue().splitlines() if line.strip()[:1].isdigit())
    errors = f"  errors {rec.stats.errors}" if rec.stats.errors else ""
    return (f"== {name}: {sent} requests, {cpu / sent * 1000:.2f} ms CPU and {wall / sent * 1000:.2f} ms wall "
            f"per request, {statements / sent:.1f} SQL statements per request{errors}\n"
            f"   ncalls tottime percall cumtime percall function\n{hot}\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default="", help="a PostgreSQL URL the bench may wipe (default: SQLite)")
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--bcrypt-rounds", type=int, default=12)
    p.add_argument("--top", type=int, default=18)
    a = p.parse_args()

    inst = Instance(a.database, Gunicorn(1, 1), a.bcrypt_rounds)
    try:
        data = inst.setup(PASSWORD)
        from idp import create_app
        from idp.settings import load

        app = create_app(load(environ=inst.env))
        driver = Driver(app)
        portal = scenarios.Portal(data["portal"]["client_id"], data["portal"]["client_secret"],
                                  "http://127.0.0.1:9/cb")
        service = scenarios.Portal(data["service"]["client_id"], data["service"]["client_secret"], "")
        person = scenarios.Person(data["email"], PASSWORD)
        grants: list[dict] = []
        driver.drive(scenarios.grants(portal, person, 4, grants)(0, Recorder(Stats())), 100)
        chain = [g["refresh_token"] for g in grants[:3]]
        runs = [
            ("discovery", scenarios.static_get("/.well-known/openid-configuration"), a.requests),
            ("jwks", scenarios.static_get("/jwks.json"), a.requests),
            ("userinfo", scenarios.userinfo([grants[3]["access_token"]]), a.requests),
            ("client_credentials", scenarios.client_credentials(service), a.requests),
            ("refresh", scenarios.refresh(portal, chain), a.requests),
            # 4 requests per sign-in; bcrypt makes each slow, so fewer of them
            ("sign-in (4 requests each)", scenarios.sign_ins(portal, [person]), 40),
        ]
        print(f"database: {inst.database.split('@')[-1]}\n")
        for name, factory, n in runs:
            print(measure(driver, name, factory, n, a.top), flush=True)
    finally:
        inst.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
