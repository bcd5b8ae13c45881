"""The machine's own limits, measured in the same run: bcrypt verifications/s and JWS signatures/s.

Each is measured on one core (one process) and on all cores at once (one process per core), because the
sign-in target is stated per core and the parallel figure shows what the box really gives together.
Rates come from the median time of one step, so a burst of other work on the machine does not lower them.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time

import bcrypt
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey


def _rate(step, per_step: int, seconds: float) -> float:
    """Operations/s from the median step: other load on the box only ever slows a step down."""
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return per_step / statistics.median(times)


def _bcrypt_rate(rounds: int, seconds: float) -> float:
    hashed = bcrypt.hashpw(b"correct horse battery staple", bcrypt.gensalt(rounds))
    return _rate(lambda: bcrypt.checkpw(b"correct horse battery staple", hashed), 1, seconds)


def _sign_rate(alg: str, seconds: float) -> float:
    # The shape of an ID token the provider signs, so the figure is comparable.
    key = RSAKey.generate_key(2048) if alg == "RS256" else ECKey.generate_key("P-256")
    claims = {"iss": "http://127.0.0.1:5000", "sub": "x" * 43, "aud": "client", "iat": 1, "exp": 2,
              "auth_time": 1, "nonce": "n" * 16, "sid": "s" * 32, "amr": ["pwd"], "acr": "urn:idp:acr:password"}
    header = {"alg": alg, "kid": "bench"}

    def twenty() -> None:
        for _ in range(20):
            jwt.encode(header, claims, key)

    return _rate(twenty, 20, seconds)


def _measure(what: str, arg, seconds: float) -> float:
    if what == "bcrypt":
        return _bcrypt_rate(arg, seconds)
    return _sign_rate(arg, seconds)


def _parallel(what: str, arg, seconds: float, cores: int) -> float:
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        return sum(pool.starmap(_measure, [(what, arg, seconds)] * cores))


def measure(rounds: int, seconds: float = 2.0) -> dict:
    cores = os.cpu_count() or 1
    result: dict = {"cores": cores, "bcrypt_rounds": rounds}
    for name, what, arg in (("bcrypt_verify", "bcrypt", rounds), ("rs256_sign", "sign", "RS256"),
                            ("es256_sign", "sign", "ES256")):
        one = _measure(what, arg, seconds)
        result[name] = {
            "per_core": round(one, 2),
            "per_core_x_cores": round(one * cores, 2),
            "all_cores_measured": round(_parallel(what, arg, seconds, cores), 2),
        }
    return result
