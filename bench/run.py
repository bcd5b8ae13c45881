"""The provider's benchmark (issue 2, part 10): `make bench` or `.venv/bin/python bench/run.py --help`.

For each database it starts the provider under gunicorn on loopback, measures discovery, JWKS, userinfo,
the token endpoint (client_credentials, refresh grant closed-loop and at a fixed rate) and complete
sign-ins, next to a bare Flask app under the same gunicorn settings and the machine's own crypto limits.
Writes bench/results.json and prints the table of targets. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import crypto_limits
import loadgen
import machine
import report
import sampling
import scenarios
from provider import HOST, BareApp, Gunicorn, Instance, fetch, lifted_rate_limits

HERE = Path(__file__).resolve().parent
PASSWORD = "correct horse battery staple"  # a benchmark account on a throwaway database


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--databases", default="sqlite,postgresql",
                   help="comma-separated: sqlite, postgresql (default both)")
    p.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/idp_bench"),
                   help="a database the bench may wipe (env BENCH_POSTGRES_URL)")
    p.add_argument("--duration", type=float, default=6.0, help="measured seconds per closed-loop run")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    p.add_argument("--rate", type=float, default=report.REFRESH_P99_RATE, help="open-loop refresh rate (req/s)")
    p.add_argument("--rate-duration", type=float, default=10.0, help="seconds of the open-loop run")
    p.add_argument("--rounds", type=int, default=6,
                   help="alternating bare/provider slices for discovery and JWKS")
    p.add_argument("--connections", type=int, default=16, help="keep-alive connections, closed loop")
    p.add_argument("--browsers", type=int, default=8, help="concurrent browsers signing in")
    p.add_argument("--workers", type=int, default=3,
                   help="gunicorn workers (provider and bare app); 3 on 2 cores lets one wait on the database "
                        "while two compute")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    p.add_argument("--loadgen-processes", type=int, default=1, help="load generator processes")
    p.add_argument("--bcrypt-rounds", type=int, default=12, help="passwords.bcrypt_rounds for the provider")
    p.add_argument("--output", type=Path, default=HERE / "results.json")
    p.add_argument("--sqlite-wal", action="store_true",
                   help="experiment: put the SQLite file in WAL mode before serving (not the shipped default)")
    p.add_argument("--profile", type=Path, help="sample the provider with py-spy into this folder")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    return p.parse_args()


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def bench_database(kind: str, url: str, a: argparse.Namespace, gunicorn: Gunicorn) -> dict:
    inst = Instance(url if kind == "postgresql" else "", gunicorn, a.bcrypt_rounds, sqlite_wal=a.sqlite_wal)
    results: dict = {}

    def measure(factory, *, connections=None, rate=None, server=None, duration=None, warmup=None, profile=None):
        """One load run against `server` (the provider or the bare app: anything with .port and .proc).

        Returns the stats, the CPU share others used meanwhile, and the CPU seconds the server used.
        """
        server = server or inst
        seconds = duration or a.duration
        warm = a.warmup if warmup is None else warmup
        sampler = contextlib.nullcontext()
        if a.profile and profile:
            sampler = sampling.Sampler(a.profile, f"{kind}-{profile}", inst.proc.pid, warm + seconds)
        others, cpu = machine.Others(), machine.ServerCPU(server.proc.pid)
        with sampler:
            stats = loadgen.run(factory, host=HOST, port=server.port,
                                connections=connections or a.connections, duration=seconds, warmup=warm,
                                rate=rate, processes=a.loadgen_processes)
        return stats, others.share(), cpu.used()

    def keep(name: str, stats: loadgen.Stats, others: float | None, cpu: float | None,
             flows: bool = False) -> None:
        results[name] = s = report.summary(stats, flows=flows)
        s["cpu_share_used_by_others"] = others
        answered = sum(stats.statuses.values())  # warm-up included, like the CPU time
        s["server_cpu_ms_per_request"] = round(cpu / answered * 1000, 3) if cpu is not None and answered else None
        _say(f"{kind:10} {name:18} {s['per_second']:>9}/s  p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms"
             + (f"  errors {s['errors']}" if s["errors"] else "")
             + (f"  (others used {others:.0%} of the CPU)" if others else ""))

    def load(name: str, factory, *, flows: bool = False, **kw) -> None:
        keep(name, *measure(factory, profile=name, **kw), flows=flows)

    def against_bare(name: str, path: str, bare: BareApp) -> None:
        """Provider and bare app in short alternating slices (ABBA), compared pair by pair.

        Whatever else runs on the machine comes and goes in bursts; two neighbouring slices see about the
        same disturbance, so the median of the pairs' ratios is steady where the totals are not.
        """
        totals = {"bare": loadgen.Stats(), "provider": loadgen.Stats()}
        shares: dict[str, list[float]] = {"bare": [], "provider": []}
        ratios = []
        cpu = {"bare": 0.0, "provider": 0.0}
        for round_ in range(a.rounds):
            order = [("bare", bare), ("provider", inst)]
            rps = {}
            for who, server in order if round_ % 2 == 0 else order[::-1]:
                stats, others, used = measure(scenarios.static_get(path), server=server,
                                              duration=a.duration / a.rounds, warmup=0.25)
                totals[who].merge(stats, sequential=True)
                cpu[who] += used or 0.0
                rps[who] = stats.completed / stats.window
                if others is not None:
                    shares[who].append(others)
            ratios.append(round(rps["provider"] / rps["bare"], 3) if rps["bare"] else 0.0)
        for who, key in (("bare", f"bare_{name}"), ("provider", name)):
            share = round(sum(shares[who]) / len(shares[who]), 3) if shares[who] else None
            keep(key, totals[who], share, cpu[who])
        results[name]["ratio_to_bare"] = statistics.median(ratios)
        results[name]["pair_ratios"] = ratios

    try:
        _say(f"{kind}: setting up ({inst.database.split('@')[-1]})")
        data = inst.setup(PASSWORD)
        inst.start()
        portal = scenarios.Portal(data["portal"]["client_id"], data["portal"]["client_secret"],
                                  "http://127.0.0.1:9/cb")
        service = scenarios.Portal(data["service"]["client_id"], data["service"]["client_secret"], "")
        person = scenarios.Person(data["email"], PASSWORD)
        discovery, _ = fetch(inst.port, "/.well-known/openid-configuration")
        jwks, _ = fetch(inst.port, "/jwks.json")

        with BareApp(gunicorn, discovery, jwks) as bare:
            against_bare("discovery", "/.well-known/openid-configuration", bare)
            against_bare("jwks", "/jwks.json", bare)

        # Grants to work with: one password sign-in per browser, then SSO for the rest.
        grants: list[dict] = []
        chains_closed, chains_open = a.connections, max(32, a.connections)
        per_browser = -(-(chains_closed + chains_open) // a.browsers)
        setup = loadgen.run(scenarios.grants(portal, person, per_browser, grants), host=HOST, port=inst.port,
                            connections=a.browsers, duration=120, warmup=0, processes=1)
        if setup.errors or len(grants) < chains_closed + chains_open:
            raise RuntimeError(f"could not set up token chains: {setup.errors}")

        load("userinfo", scenarios.userinfo([g["access_token"] for g in grants]))
        load("client_credentials", scenarios.client_credentials(service))
        load("refresh", scenarios.refresh(portal, [g["refresh_token"] for g in grants[:chains_closed]]))
        load("refresh_open", scenarios.refresh(portal, [g["refresh_token"] for g in grants[chains_closed:]]),
             connections=chains_open, rate=a.rate, duration=a.rate_duration)
        load("sign_ins", scenarios.sign_ins(portal, [person]), flows=True, connections=a.browsers,
             duration=max(a.duration, 10.0))
    finally:
        inst.close()
    return results


def postgres_unreachable(url: str) -> str | None:
    import psycopg

    try:
        psycopg.connect(psycopg.conninfo.make_conninfo(url, dbname="postgres", connect_timeout=3)).close()
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    return None


def main() -> int:
    a = _args()
    gunicorn = Gunicorn(a.workers, a.threads)
    started = time.monotonic()
    _say(f"measuring machine limits (bcrypt cost {a.bcrypt_rounds}, RS256, ES256)")
    others = machine.Others()
    box = crypto_limits.measure(a.bcrypt_rounds)
    box["cpu_share_used_by_others"] = others.share()
    rows, runs = [], {}
    for kind in [k.strip() for k in a.databases.split(",") if k.strip()]:
        if kind not in ("sqlite", "postgresql"):
            sys.exit(f"unknown database {kind!r}: use sqlite and/or postgresql")
        if kind == "postgresql" and (problem := postgres_unreachable(a.postgres_url)):
            _say(f"skipping postgresql: {problem}")
            runs[kind] = {"skipped": problem}
            continue
        runs[kind] = bench_database(kind, a.postgres_url, a, gunicorn)
        rows += report.targets(kind, runs[kind], box)
    elapsed = round(time.monotonic() - started, 1)
    output = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": elapsed,
        "host": {"python": platform.python_version(), "platform": platform.platform(), "cores": box["cores"],
                 "loadavg_after": os.getloadavg()},
        "settings": {"gunicorn": {"worker_class": "gthread", "workers": a.workers, "threads": a.threads,
                                  "keepalive": gunicorn.keepalive},
                     "bcrypt_rounds": a.bcrypt_rounds, "rate_limits_lifted": lifted_rate_limits(),
                     "connections": a.connections, "browsers": a.browsers,
                     "duration_s": a.duration, "warmup_s": a.warmup, "open_loop_rate": a.rate,
                     "open_loop_duration_s": a.rate_duration, "loadgen_processes": a.loadgen_processes},
        "limits": box,
        "runs": runs,
        "targets": rows,
    }
    a.output.write_text(json.dumps(output, indent=2) + "\n")
    print()
    print(report.table(rows, box))
    print(f"\nwritten to {a.output} in {elapsed} s")
    failed = [r for r in rows if r["pass"] is False]
    return 1 if (a.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
