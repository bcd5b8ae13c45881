"""idp against node-oidc-provider 9 in one run (issue 17 part 8): `make bench-versus` or `bench/versus.py --help`.

Installs oidc-provider@9 from npm into bench/.node (outside git) when missing, starts it as one node process
(in memory, bench/node_provider.mjs) and the provider as `idp serve` does (gunicorn with idp.serving's
configuration, access log on) on PostgreSQL, gives both the same clients, and drives both with the same
load generator in alternating slices (node, idp, idp, node, ...): discovery, JWKS, client_credentials
(opaque; RS256/RFC 9068 JWT where a side has it), refresh with rotation; then p99 at 80% of each side's
peak (open loop) and the provider's 1 -> 2 worker scaling. Writes bench/versus.json and prints the table.
Not a test: nothing here runs under `make test`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import loadgen
import machine
import report
import scenarios
from loadgen import Request
from provider import HOST, ROOT, Gunicorn, Instance, free_port, stop, wait_ready
from scenarios import Browser, FlowError, Portal, _expect, _path

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"
NODE_SECRET = "bench-secret-bench-secret-bench-secret-0123"  # throwaway, loopback only
REDIRECT = "http://127.0.0.1:9/cb"
PASSWORD = "correct horse battery staple"
JWT_COLUMN = "access_token_format"  # client.access_token_format = "opaque" | "jwt" (RFC 9068), when it exists

# The targets of issue 17 part 8.
CC_OPAQUE_VS_NODE_RS256 = 0.5
CC_JWT_VS_NODE_RS256 = 0.8
REFRESH_VS_NODE = 0.5
P99_MS = 50.0
PEAK_SHARE = 0.8
SCALING = 1.8


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


# --- node-oidc-provider ----------------------------------------------------------------------------

def ensure_node(version: str) -> str:
    """oidc-provider@version in bench/.node (npm install when missing); returns the installed version."""
    package = NODE_DIR / "node_modules" / "oidc-provider" / "package.json"
    if not package.exists():
        NODE_DIR.mkdir(exist_ok=True)
        (NODE_DIR / "package.json").write_text(
            '{"name": "idp-bench-node", "private": true, "version": "0.0.0", "type": "module"}\n')
        _say(f"npm install oidc-provider@{version} into {NODE_DIR}")
        subprocess.run(["npm", "install", f"oidc-provider@{version}", "--no-audit", "--no-fund"],
                       cwd=NODE_DIR, check=True)
    return str(json.loads(package.read_text())["version"])


class Node:
    """One node process serving node_provider.mjs on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__, after the process)

    def __enter__(self) -> Node:
        env = {**os.environ, "BENCH_NODE_DIR": str(NODE_DIR), "BENCH_NODE_SECRET": NODE_SECRET,
               "NODE_ENV": "production"}
        self.proc = subprocess.Popen(["node", str(HERE / "node_provider.mjs"), str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(self.port, self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.proc)
        self.log.close()


_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_PROMPT = re.compile(r'name="prompt" value="(\w+)"')


def node_sign_in(portal: Portal, browser: Browser):
    """node's own authorization flow: /auth -> devInteractions login form -> consent form -> code -> /token.

    The forms are the ones node serves itself (features.devInteractions); any login is accepted there.
    prompt=consent is what node asks before it grants offline_access (a refresh token).
    """
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    query = urlencode({
        "response_type": "code", "client_id": portal.client_id, "redirect_uri": portal.redirect_uri,
        "scope": "openid offline_access", "prompt": "consent", "state": state, "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    response = yield Request("GET", f"/auth?{query}", browser.headers())
    for _ in range(12):
        if response is None:
            raise FlowError("node: connection failed")
        browser.take(response)
        if response.status in (302, 303):
            location = response.header("location") or ""
            if location.startswith(portal.redirect_uri):
                break
            response = yield Request("GET", _path(location), browser.headers())
        elif response.status == 200:
            page = response.body.decode("utf-8", "replace")
            action, prompt = _ACTION.search(page), _PROMPT.search(page)
            if action is None or prompt is None:
                raise FlowError("node: an interaction page without its form")
            fields = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                fields |= {"login": "bench-person", "password": "anything"}
            response = yield Request("POST", _path(html.unescape(action.group(1))),
                                     browser.headers(scenarios._FORM), urlencode(fields).encode())
        else:
            raise FlowError(f"node: HTTP {response.status} during the interactions")
    else:
        raise FlowError("node: too many steps")
    params = parse_qs(urlsplit(location).query)
    if params.get("state") != [state] or "code" not in params:
        raise FlowError("node: no code or wrong state")
    body = urlencode({"grant_type": "authorization_code", "code": params["code"][0],
                      "redirect_uri": portal.redirect_uri, "code_verifier": verifier}).encode()
    response = _expect((yield Request("POST", "/token", {**scenarios._FORM, "Authorization": portal.basic()}, body)),
                       200, "node code exchange")
    return json.loads(response.body)


def node_grants(portal: Portal, per_connection: int, into: list[dict]) -> loadgen.Factory:
    def script(index: int, rec: loadgen.Recorder):
        browser = Browser()
        for _ in range(per_connection):
            try:
                into.append((yield from node_sign_in(portal, browser)))
            except FlowError as error:
                rec.error(str(error))
                return

    return script


# --- idp -------------------------------------------------------------------------------------------

class Idp:
    """The provider started the way `idp serve` starts it (gunicorn -c python:idp.serving, access log on)."""

    def __init__(self, inst: Instance, workers: int, threads: int) -> None:
        self.inst, self.workers, self.threads = inst, workers, threads
        self.port = inst.port
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__, after the process)

    def __enter__(self) -> Idp:
        args = [sys.executable, "-m", "gunicorn", "--config", "python:idp.serving", "--bind", f"{HOST}:{self.port}",
                "--workers", str(self.workers), "--threads", str(self.threads), "--access-logfile", "-",
                "idp.wsgi:app"]
        self.proc = subprocess.Popen(args, env=self.inst.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_ready(self.port, self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.proc)
        self.log.close()


def idp_setup(inst: Instance) -> dict:
    """Schema, keys, one person and the same clients as node's; a JWT-format service client when supported."""
    from provider import reset_postgres

    reset_postgres(inst.database)
    inst.idp("init")
    inst.idp("users", "add", "--email", "bench@example.org", "--password", PASSWORD, "--name", "Bench Person",
             "--json")
    portal = json.loads(inst.idp("clients", "add", "--name", "Bench portal", "--redirect-uri", REDIRECT,
                                 "--first-party", "--id-token-alg", "RS256", "--json"))
    service = json.loads(inst.idp("clients", "add", "--name", "Bench service", "--service", "--json"))
    jwt_service = None
    import psycopg

    with psycopg.connect(inst.database, autocommit=True) as conn:
        has_column = conn.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'client' "
                                  "AND column_name = %s", (JWT_COLUMN,)).fetchone() is not None
        if has_column:
            jwt_service = json.loads(inst.idp("clients", "add", "--name", "Bench service JWT", "--service",
                                              "--json"))
            conn.execute(f"UPDATE client SET {JWT_COLUMN} = 'jwt' WHERE client_id = %s",  # noqa: S608 (a constant)
                         (jwt_service["client_id"],))
    return {"portal": portal, "service": service, "jwt_service": jwt_service}


# --- measuring -------------------------------------------------------------------------------------

class Side:
    """What one provider is measured with: its port, its process and the factories of its scripts."""

    def __init__(self, name: str, server: Node | Idp) -> None:
        self.name, self.server = name, server
        # name -> a maker of the connections' scripts (called per slice), None when this side has no such run
        self.factories: dict[str, Callable[[], loadgen.Factory] | None] = {}


def run_slice(server: Node | Idp, factory: loadgen.Factory, a: argparse.Namespace, *, rate: float | None = None,
              connections: int | None = None, duration: float | None = None) -> tuple[loadgen.Stats, float, float]:
    assert server.proc is not None
    others, cpu = machine.Others(), machine.ServerCPU(server.proc.pid)
    stats = loadgen.run(factory, host=HOST, port=server.port, connections=connections or a.connections,
                        duration=duration or a.duration, warmup=a.warmup, rate=rate)
    return stats, others.share() or 0.0, cpu.used() or 0.0


def summarise(stats: loadgen.Stats, others: list[float], cpu: float) -> dict:
    s = report.summary(stats)
    answered = sum(stats.statuses.values())
    s["server_cpu_ms_per_request"] = round(cpu / answered * 1000, 3) if answered else None
    s["cpu_share_used_by_others"] = round(sum(others) / len(others), 3) if others else None
    return s


def alternate(name: str, sides: list[Side], a: argparse.Namespace) -> dict[str, dict]:
    """Closed loop in ABBA slices; each side's slices added up."""
    totals = {s.name: loadgen.Stats() for s in sides}
    shares: dict[str, list[float]] = {s.name: [] for s in sides}
    cpu = dict.fromkeys(totals, 0.0)
    active = [s for s in sides if s.factories.get(name) is not None]
    for round_ in range(a.rounds):
        for side in active if round_ % 2 == 0 else active[::-1]:
            maker = side.factories[name]
            assert maker is not None
            stats, others, used = run_slice(side.server, maker(), a, duration=a.duration / a.rounds)
            totals[side.name].merge(stats, sequential=True)
            shares[side.name].append(others)
            cpu[side.name] += used
    out = {}
    for side in sides:
        if side.factories.get(name) is None:
            out[side.name] = {"skipped": True}
            continue
        out[side.name] = s = summarise(totals[side.name], shares[side.name], cpu[side.name])
        _say(f"{name:24} {side.name:5} {s['per_second']:>9}/s  p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms"
             + (f"  errors {s['errors']}" if s["errors"] else "")
             + f"  others {s['cpu_share_used_by_others'] or 0:.0%}  {_load()}")
    return out


def at_rate(name: str, side: Side, rate: float, a: argparse.Namespace, factory: loadgen.Factory) -> dict:
    stats, others, used = run_slice(side.server, factory, a, rate=rate, connections=a.open_connections,
                                    duration=a.open_duration)
    s = summarise(stats, [others], used)
    s["rate"] = round(rate, 1)
    _say(f"{name:24} {side.name:5} at {rate:.0f}/s: {s['per_second']}/s  p50 {s['p50_ms']} ms  "
         f"p99 {s['p99_ms']} ms" + (f"  errors {s['errors']}" if s["errors"] else "") + f"  {_load()}")
    return s


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/idp_bench"),
                   help="a database the bench may wipe (env BENCH_POSTGRES_URL)")
    p.add_argument("--duration", type=float, default=8.0, help="measured seconds per side and endpoint")
    p.add_argument("--rounds", type=int, default=4, help="alternating slices the duration is cut into")
    p.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds before each slice")
    p.add_argument("--connections", type=int, default=16, help="keep-alive connections, closed loop")
    p.add_argument("--open-connections", type=int, default=32, help="connections of the open-loop runs")
    p.add_argument("--open-duration", type=float, default=8.0, help="seconds of each open-loop run")
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers (idp serve's default)")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    p.add_argument("--no-scaling", action="store_true", help="skip the 1 -> 2 worker run")
    p.add_argument("--node-version", default="9", help="oidc-provider version for npm install")
    p.add_argument("--output", type=Path, default=HERE / "versus.json")
    return p.parse_args()


def _machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "node": node,
            "platform": platform.platform()}


def main() -> int:
    a = _args()
    started = time.monotonic()
    node_version = ensure_node(a.node_version)
    load_before = os.getloadavg()
    inst = Instance(a.postgres_url, Gunicorn(a.workers, a.threads), bcrypt_rounds=4)
    results: dict = {"endpoints": {}, "open_loop": {}}
    try:
        _say(f"setting up idp on {a.postgres_url.split('@')[-1]}; node-oidc-provider {node_version}; {_load()}")
        data = idp_setup(inst)
        idp_portal = Portal(data["portal"]["client_id"], data["portal"]["client_secret"], REDIRECT)
        idp_service = Portal(data["service"]["client_id"], data["service"]["client_secret"], "")
        node_portal = Portal("bench-portal", NODE_SECRET, REDIRECT)
        with Node() as node, Idp(inst, a.workers, a.threads) as idp:
            person = scenarios.Person("bench@example.org", PASSWORD)

            def chains(server: Node | Idp, n: int) -> list[str]:
                """n fresh refresh chains, made just before they are used: a slice that ends with a refresh in
                flight leaves its chain's token spent (reuse would revoke it), and node's in-memory store is a
                1000-entry LRU that the client_credentials runs would have flushed."""
                got: list[dict] = []
                errors: dict[str, int] = {}
                for _ in range(3):  # a sign-in that fails under a busy machine is tried again, not fatal
                    per = -(-(n - len(got)) // 8)
                    factory = (node_grants(node_portal, per, got) if server is node
                               else scenarios.grants(idp_portal, person, per, got))
                    setup = loadgen.run(factory, host=HOST, port=server.port, connections=8, duration=120, warmup=0)
                    for reason, count in setup.errors.items():
                        errors[reason] = errors.get(reason, 0) + count
                    got = [g for g in got if "refresh_token" in g]
                    if len(got) >= n:
                        if errors:
                            _say(f"refresh chains on port {server.port}: retried after {errors}")
                        return [g["refresh_token"] for g in got[:n]]
                raise RuntimeError(f"could not set up refresh chains on port {server.port}: {errors}")

            node_side, idp_side = Side("node", node), Side("idp", idp)
            node_svc, node_jwt = Portal("bench-svc", NODE_SECRET, ""), Portal("bench-svc-jwt", NODE_SECRET, "")
            node_side.factories = {
                "discovery": lambda: scenarios.static_get("/.well-known/openid-configuration"),
                "jwks": lambda: scenarios.static_get("/jwks"),
                "client_credentials opaque": lambda: scenarios.client_credentials(node_svc),
                "client_credentials jwt": lambda: scenarios.client_credentials(node_jwt),
                "refresh with rotation": lambda: scenarios.refresh(node_portal, chains(node, a.connections)),
            }
            jwt = data["jwt_service"]
            idp_jwt = Portal(jwt["client_id"], jwt["client_secret"], "") if jwt else None
            idp_side.factories = {
                "discovery": lambda: scenarios.static_get("/.well-known/openid-configuration"),
                "jwks": lambda: scenarios.static_get("/jwks.json"),
                "client_credentials opaque": lambda: scenarios.client_credentials(idp_service),
                "client_credentials jwt": (lambda: scenarios.client_credentials(idp_jwt)) if idp_jwt else None,
                "refresh with rotation": lambda: scenarios.refresh(idp_portal, chains(idp, a.connections)),
            }
            if jwt is None:
                _say(f"idp has no client.{JWT_COLUMN} column: its client_credentials jwt run is skipped")
            for name in node_side.factories:
                results["endpoints"][name] = alternate(name, [node_side, idp_side], a)
            # p99 at 80% of each side's own peak, open loop (latency from when a request was due).
            portals = {"node": node_portal, "idp": idp_portal}
            for name in ("client_credentials opaque", "refresh with rotation"):
                results["open_loop"][name] = {}
                for side in (node_side, idp_side):
                    peak = results["endpoints"][name][side.name]["per_second"]
                    maker = side.factories[name]
                    assert maker is not None
                    factory = maker() if name.startswith("client") else scenarios.refresh(
                        portals[side.name], chains(side.server, a.open_connections))
                    results["open_loop"][name][side.name] = at_rate(name, side, PEAK_SHARE * peak, a, factory)
        if not a.no_scaling:
            results["scaling"] = {}
            for workers in (1, 2):
                with Idp(inst, workers, a.threads) as idp:
                    side = Side("idp", idp)
                    side.factories = {"client_credentials opaque": lambda: scenarios.client_credentials(idp_service)}
                    one = alternate("client_credentials opaque", [side], a)["idp"]
                    one["workers"] = workers
                    results["scaling"][str(workers)] = one
    finally:
        inst.close()
    rows = targets(results)
    output = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.monotonic() - started, 1),
        "machine": _machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "node_oidc_provider": node_version,
        "settings": {"idp": {"workers": a.workers, "threads": a.threads, "serve": "gunicorn -c python:idp.serving "
                             "(idp serve), access log on"},
                     "connections": a.connections, "duration_s": a.duration, "rounds": a.rounds,
                     "open_connections": a.open_connections, "open_duration_s": a.open_duration},
        "results": results, "targets": rows,
    }
    a.output.write_text(json.dumps(output, indent=2) + "\n")
    print()
    print(table(results, rows))
    print(f"\nwritten to {a.output} in {output['elapsed_s']} s; machine {output['machine']['cpu']}, "
          f"{output['machine']['cores']} cores; load before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    return 0


def targets(r: dict) -> list[dict]:
    e = r["endpoints"]

    def rate(name: str, side: str) -> float | None:
        v = e.get(name, {}).get(side, {})
        return None if v.get("skipped") else v.get("per_second")

    rows = []

    def row(what: str, measured: float | None, basis: float | None, target: float, unit: str = "x") -> None:
        ratio = round(measured / basis, 3) if measured is not None and basis else None
        passed = None if ratio is None else ratio >= target
        rows.append({"target": what, "goal": f">= {target} {unit}", "ratio": ratio, "pass": passed})

    node_jwt = rate("client_credentials jwt", "node")
    row("client_credentials opaque idp / node RS256 JWT", rate("client_credentials opaque", "idp"), node_jwt,
        CC_OPAQUE_VS_NODE_RS256)
    row("client_credentials jwt idp / node RS256 JWT", rate("client_credentials jwt", "idp"), node_jwt,
        CC_JWT_VS_NODE_RS256)
    row("refresh with rotation idp / node", rate("refresh with rotation", "idp"), rate("refresh with rotation", "node"),
        REFRESH_VS_NODE)
    for name, sides in r["open_loop"].items():
        p99 = sides["idp"].get("p99_ms")
        rows.append({"target": f"{name} idp p99 at {PEAK_SHARE:.0%} of its peak ({sides['idp']['rate']}/s)",
                     "goal": f"< {P99_MS:g} ms", "ratio": p99,
                     "pass": None if p99 is None else (p99 < P99_MS and not sides["idp"]["errors"])})
    if "scaling" in r:
        row("idp 1 -> 2 workers, client_credentials", r["scaling"]["2"]["per_second"], r["scaling"]["1"]["per_second"],
            SCALING)
    return rows


def table(r: dict, rows: list[dict]) -> str:
    lines = [("| endpoint | node /s | idp /s | idp/node | node p99 ms | idp p99 ms | node CPU ms/req | "
              "idp CPU ms/req | others |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, sides in r["endpoints"].items():
        n, i = sides["node"], sides["idp"]
        if i.get("skipped"):
            lines.append(f"| {name} | {n['per_second']:.0f} | skipped (no client.{JWT_COLUMN}) | | "
                         f"{n['p99_ms']} | | {n['server_cpu_ms_per_request']} | | |")
            continue
        ratio = f"{i['per_second'] / n['per_second']:.3f}" if n["per_second"] else "n/a"
        lines.append(f"| {name} | {n['per_second']:.0f} | {i['per_second']:.0f} | "
                     f"{ratio} | {n['p99_ms']} | {i['p99_ms']} | {n['server_cpu_ms_per_request']} | "
                     f"{i['server_cpu_ms_per_request']} | {i['cpu_share_used_by_others'] or 0:.0%} |")
    for name, sides in r["open_loop"].items():
        n, i = sides["node"], sides["idp"]
        lines.append(f"| {name} at 80% of peak | {n['rate']:.0f} | {i['rate']:.0f} | | {n['p99_ms']} | "
                     f"{i['p99_ms']} | {n['server_cpu_ms_per_request']} | {i['server_cpu_ms_per_request']} | "
                     f"{i['cpu_share_used_by_others'] or 0:.0%} |")
    if "scaling" in r:
        for workers, s in r["scaling"].items():
            lines.append(f"| client_credentials, idp {workers} worker(s) | | {s['per_second']:.0f} | | | "
                         f"{s['p99_ms']} | | {s['server_cpu_ms_per_request']} | "
                         f"{s['cpu_share_used_by_others'] or 0:.0%} |")
    lines += ["", "| target | goal | measured | result |", "| --- | --- | ---: | --- |"]
    for t in rows:
        result = "n/a" if t["pass"] is None else ("pass" if t["pass"] else "FAIL")
        lines.append(f"| {t['target']} | {t['goal']} | {t['ratio']} | {result} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
