"""How busy the rest of the machine was while we measured (Linux /proc; None elsewhere).

The bench shares the box with whatever else runs; a run during someone's test suite is slower. Each
measurement therefore records the share of all CPU time that processes outside this benchmark used.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_total() -> float:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def _ours(root: int | None = None) -> float:
    """CPU seconds of a process (default: this one) and every live descendant (gunicorn workers, ...)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        parents[pid] = int(rest[1])
        times[pid] = sum(int(x) for x in rest[11:15]) / _TICK  # utime stime cutime cstime
    me = root or os.getpid()
    total = 0.0
    for pid, cpu in times.items():
        p = pid
        while p > 1 and p != me:
            p = parents.get(p, 0)
        if p == me:
            total += cpu
    return total


class ServerCPU:
    """CPU seconds a server (a gunicorn master and its workers) used since this snapshot."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.available = Path("/proc/stat").exists()
        self.start = _ours(pid) if self.available else 0.0

    def used(self) -> float | None:
        return _ours(self.pid) - self.start if self.available else None


class Others:
    """Snapshot at start; share() = CPU used outside the benchmark / CPU available, since then."""

    def __init__(self) -> None:
        self.available = Path("/proc/stat").exists()
        if self.available:
            self.busy, self.ours, self.when = _busy_total(), _ours(), os.times().elapsed

    def share(self) -> float | None:
        if not self.available:
            return None
        elapsed = os.times().elapsed - self.when
        others = (_busy_total() - self.busy) - (_ours() - self.ours)
        return round(max(0.0, others) / (elapsed * (os.cpu_count() or 1)), 3) if elapsed > 0 else None
