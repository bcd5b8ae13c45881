"""Does "register" answer an address that has an account as fast as a new one? (issue 18: no enumeration by timing)

`.venv/bin/python bench/registration_timing.py [--samples N] [--postgres-url URL]`: the provider in-process
(Flask's test client, so no network noise) on a throwaway SQLite database (and PostgreSQL when a URL is given, a
database the bench may wipe), a portal that takes registrations and one parked sign-in there, then N POST
/register for a known address and N for a new one, interleaved, after a warm-up. Prints the median and p90 of
each and their ratio (known / new; 1.00 means no difference). Not a test.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import statistics
import tempfile
import time
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from idp import create_app
from idp.settings import load

KNOWN, NEW = "anna@example.org", "nieuw@example.org"
CALLBACK = "http://127.0.0.1:9001/callback"


def _settings(folder: str, url: str):
    from cryptography.fernet import Fernet

    return load(environ={
        "IDP_SERVER_DEV_MODE": "true", "IDP_SERVER_ISSUER": "http://localhost",
        "IDP_SERVER_SECRET_KEY": "bench-" + "x" * 40, "IDP_SERVER_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "IDP_SERVER_INSTANCE_PATH": folder, "IDP_DATABASE_URL": url, "IDP_PASSWORDS_BCRYPT_ROUNDS": "4",
        "IDP_LIMITS_LINKS_PER_IP": "1000000 per minute", "IDP_LIMITS_LINKS_PER_ACCOUNT": "1000000 per minute",
    })


def _parked_sign_in(client, client_id: str) -> str:
    """Start signing in at the portal; the parked sign-in's uid (the registration page belongs to it)."""
    verifier = "bench-verifier-" + "v" * 40
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "scope": "openid",
                       "state": "s", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"})
    response = client.get("/authorize?" + query)
    assert response.status_code == 302 and response.location.startswith("/login/"), response.status_code
    return response.location.rsplit("/", 1)[1]


def measure(url: str, samples: int) -> dict[str, list[float]]:
    folder = tempfile.mkdtemp(prefix="idp-bench-register-")
    app = create_app(_settings(folder, url))
    with app.app_context():
        from flask_migrate import upgrade

        from idp.accounts.users import create_user
        from idp.extensions import db
        from idp.portals.registry import register

        upgrade()
        create_user(KNOWN, "correct horse battery staple")
        client_id = register("Bench portal", [CALLBACK], first_party=True, registration=True).client.client_id
        db.session.commit()
    client = app.test_client()
    uid = _parked_sign_in(client, client_id)
    page = client.get(f"/register?uid={uid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    times: dict[str, list[float]] = {KNOWN: [], NEW: []}
    for round_ in range(samples + 20):
        for address in (KNOWN, NEW) if round_ % 2 else (NEW, KNOWN):
            start = time.perf_counter()
            response = client.post(f"/register?uid={uid}", data={"csrf_token": token, "email": address})
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
    runs = [("sqlite", "sqlite:///register-bench.db")]
    if args.postgres_url:
        _wipe(args.postgres_url)
        runs.append(("postgresql", args.postgres_url))
    print(f"{'db':<11} {'address':<8} {'median ms':>9} {'p90 ms':>7}")
    for name, url in runs:
        times = measure(url, args.samples)
        for label, address in (("known", KNOWN), ("new", NEW)):
            values = sorted(times[address])
            print(f"{name:<11} {label:<8} {statistics.median(values):9.2f} {values[int(len(values) * .9)]:7.2f}")
        ratio = statistics.median(times[KNOWN]) / statistics.median(times[NEW])
        print(f"{name:<11} known/new median ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
