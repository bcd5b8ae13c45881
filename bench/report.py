"""Summaries of load runs, the targets of issue 2 part 10, and the printed table."""

from __future__ import annotations

from loadgen import Stats

# The targets, as the issue states them for a 2-core machine.
FLOOR_RATIO = 0.8  # discovery and JWKS against the bare Flask app
SIGNIN_RATIO = 0.8  # complete sign-ins/s against bcrypt verifications/s x cores
REFRESH_RPS = 300.0
REFRESH_P99_MS = 50.0
REFRESH_P99_RATE = 200.0


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def summary(stats: Stats, flows: bool = False) -> dict:
    """Requests (or flows) per second over the window, p50/p99 in milliseconds, errors."""
    values = sorted(stats.flow_latencies if flows else stats.latencies)
    count = stats.flows if flows else stats.completed
    def ms(v):
        return (None if v is None else round(v * 1000, 2))
    result = {
        "per_second": round(count / stats.window, 2) if stats.window else 0.0,
        "count": count,
        "window_s": stats.window,
        "p50_ms": ms(_percentile(values, 0.50)),
        "p99_ms": ms(_percentile(values, 0.99)),
        "max_ms": ms(values[-1] if values else None),
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "errors": dict(stats.errors),
    }
    if flows:
        result["requests_per_second"] = round(stats.completed / stats.window, 2) if stats.window else 0.0
    if stats.late_starts:
        result["late_starts"] = stats.late_starts
    return result


def _row(db, measure, target, measured, basis_name, basis, passed, m) -> dict:
    return {
        "database": db, "measure": measure, "target": target, "measured": measured,
        "p50_ms": m.get("p50_ms"), "p99_ms": m.get("p99_ms"),
        "basis": f"{basis_name} {basis:g}" if basis else basis_name,
        "ratio": round(measured / basis, 3) if basis else None,
        "pass": passed, "errors": sum(m.get("errors", {}).values()),
        "cpu_share_used_by_others": m.get("cpu_share_used_by_others"),
        "server_cpu_ms_per_request": m.get("server_cpu_ms_per_request"),
    }


def targets(db: str, r: dict, limits: dict) -> list[dict]:
    """One row per measurement: the target (if the issue sets one), the measurement and its ratio."""
    cores = limits["cores"]
    bcrypt_x_cores = limits["bcrypt_verify"]["per_core_x_cores"]
    rs256_x_cores = limits["rs256_sign"]["per_core_x_cores"]
    rows = []
    for name in ("discovery", "jwks"):
        bare = r[f"bare_{name}"]["per_second"]
        got = r[name]
        # the median of neighbouring slices' ratios (see run.py against_bare), not the ratio of totals
        ratio = got.get("ratio_to_bare", got["per_second"] / bare if bare else 0.0)
        ok = ratio >= FLOOR_RATIO and not got["errors"]
        row = _row(db, f"{name} req/s", f">= {FLOOR_RATIO} x bare Flask ({FLOOR_RATIO * bare:.0f}/s)",
                   got["per_second"], "bare Flask/s", bare, ok, got)
        row["ratio"] = round(ratio, 3)
        # The same comparison in CPU per request: what the ratio would be on an otherwise idle machine.
        mine, theirs = got.get("server_cpu_ms_per_request"), r[f"bare_{name}"].get("server_cpu_ms_per_request")
        row["cpu_ratio_to_bare"] = round(theirs / mine, 3) if mine and theirs else None
        rows.append(row)
    got = r["refresh"]
    rows.append(_row(db, "refresh grant req/s", f">= {REFRESH_RPS:g}/s", got["per_second"],
                     f"RS256 signs/s x {cores}", rs256_x_cores,
                     got["per_second"] >= REFRESH_RPS and not got["errors"], got))
    got = r["refresh_open"]
    p99 = got["p99_ms"]
    rows.append(_row(db, f"refresh p99 ms at {REFRESH_P99_RATE:g}/s", f"< {REFRESH_P99_MS:g} ms",
                     p99 if p99 is not None else float("inf"), f"served {got['per_second']}/s", None,
                     p99 is not None and p99 < REFRESH_P99_MS and not got["errors"], got))
    bare = r["bare_discovery"]["per_second"]
    for key, label in (("client_credentials", "client_credentials req/s"), ("userinfo", "userinfo req/s")):
        got = r[key]
        rows.append(_row(db, label, "(no target)", got["per_second"], "bare Flask/s", bare, None, got))
    got = r["sign_ins"]
    floor = SIGNIN_RATIO * bcrypt_x_cores
    rows.append(_row(db, "complete sign-ins/s", f">= {SIGNIN_RATIO} x bcrypt/s x {cores} ({floor:.2f}/s)",
                     got["per_second"], f"bcrypt/s x {cores}", bcrypt_x_cores,
                     got["per_second"] >= floor and not got["errors"], got))
    return rows


def table(rows: list[dict], limits: dict) -> str:
    def fmt(v) -> str:
        if v is None:
            return "-"
        return f"{v:.3g}" if isinstance(v, float) and v < 10 else (f"{v:.0f}" if isinstance(v, float) else str(v))

    lines = [
        (f"machine: {limits['cores']} cores; per core: bcrypt(cost {limits['bcrypt_rounds']}) "
         f"{limits['bcrypt_verify']['per_core']}/s, RS256 {limits['rs256_sign']['per_core']}/s, "
         f"ES256 {limits['es256_sign']['per_core']}/s; all cores measured together: "
         f"bcrypt {limits['bcrypt_verify']['all_cores_measured']}/s, "
         f"RS256 {limits['rs256_sign']['all_cores_measured']}/s, "
         f"ES256 {limits['es256_sign']['all_cores_measured']}/s"),
        "CPU ms/req: the provider's own CPU time (all its gunicorn processes) per answered request.",
        "others: share of the machine's CPU used by processes outside the benchmark during that measurement"
        + (f" ({limits['cpu_share_used_by_others']:.0%} during the limits)."
           if limits.get("cpu_share_used_by_others") is not None else "."),
        "",
    ]
    header = ["db", "measure", "target", "measured", "p50 ms", "p99 ms", "ratio", "to", "CPU ms/req", "errors",
              "others", "result"]
    body = [[r["database"], r["measure"], r["target"], fmt(r["measured"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]),
             fmt(r["ratio"]), r["basis"], fmt(r["server_cpu_ms_per_request"]), str(r["errors"]),
             "-" if r["cpu_share_used_by_others"] is None else f"{r['cpu_share_used_by_others']:.0%}",
             "-" if r["pass"] is None else ("pass" if r["pass"] else "FAIL")] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
    lines.extend("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=False)).rstrip()
                 for line in [header, ["-" * w for w in widths], *body])
    notes = [f"{r['database']} {r['measure'].split()[0]}: bare/provider CPU per request = {r['cpu_ratio_to_bare']}"
             for r in rows if r.get("cpu_ratio_to_bare") is not None]
    if notes:
        lines += ["", "the static documents in CPU terms (what the ratio would be on an idle machine):", *notes]
    return "\n".join(lines)
