"""Does "forgot password" answer a known address as fast as an unknown one? (issue 13: no enumeration by timing)

`.venv/bin/python bench/forgot_password.py [--samples N] [--postgres-url URL]`: the provider in-process (Flask's
test client, so no network noise) on a throwaway SQLite database (and PostgreSQL when a URL is given, a database
the bench may wipe), N POST /reset for a known address and N for an unknown one, interleaved, after a warm-up.
Prints the median and p90 of each and their ratio (known / unknown; 1.00 means no difference). Not a test.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time

from sqlalchemy import create_engine, text

from idp import create_app
from idp.settings import load

KNOWN, UNKNOWN = "anna@example.org", "nobody@example.org"


def _settings(folder: str, url: str):
    from cryptography.fernet import Fernet

    return load(environ={
        "IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_ISSUER": "http://localhost",
        "IDP_SERVER_SECRET_KEY": "bench-" + "x" * 40, "IDP_SERVER_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "IDP_SERVER_INSTANCE_PATH": folder, "IDP_DATABASE_URL": url, "IDP_PASSWORDS_BCRYPT_ROUNDS": "4",
        "IDP_LIMITS_LINKS_PER_IP": "1000000 per minute", "IDP_LIMITS_LINKS_PER_ACCOUNT": "1000000 per minute",
    })


def measure(url: str, samples: int) -> dict[str, list[float]]:
    folder = tempfile.mkdtemp(prefix="idp-bench-reset-")
    app = create_app(_settings(folder, url))
    with app.app_context():
        from flask_migrate import upgrade

        from idp.accounts.users import create_user
        from idp.extensions import db

        upgrade()
        create_user(KNOWN, "correct horse battery staple")
        db.session.commit()
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/reset").get_data(as_text=True))[1]
    times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    for round_ in range(samples + 20):
        for address in (KNOWN, UNKNOWN) if round_ % 2 else (UNKNOWN, KNOWN):
            start = time.perf_counter()
            response = client.post("/reset", data={"csrf_token": token, "email": address})
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.status_code
            if round_ >= 20:  # the first rounds warm caches up
                times[address].append(elapsed)
    return times


def _wipe(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--postgres-url", default="", help="a PostgreSQL database the bench may wipe")
    args = parser.parse_args()
    runs = [("sqlite", "sqlite:///reset-bench.db")]
    if args.postgres_url:
        _wipe(args.postgres_url)
        runs.append(("postgresql", args.postgres_url))
    print(f"{'db':<11} {'address':<8} {'median ms':>9} {'p90 ms':>7}")
    for name, url in runs:
        times = measure(url, args.samples)
        for label, address in (("known", KNOWN), ("unknown", UNKNOWN)):
            values = sorted(times[address])
            print(f"{name:<11} {label:<8} {statistics.median(values):9.2f} {values[int(len(values) * .9)]:7.2f}")
        ratio = statistics.median(times[KNOWN]) / statistics.median(times[UNKNOWN])
        print(f"{name:<11} known/unknown median ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
