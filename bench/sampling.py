"""Optional: sample the provider's workers with py-spy while a run is measured (`run.py --profile DIR`).

py-spy is not a dependency of the project: `.venv/bin/pip install py-spy` first. The raw (collapsed)
stacks land in DIR/<database>-<run>.txt, next to a short summary of where the time went.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Self


def _py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Sampler:
    def __init__(self, directory: Path, name: str, pid: int, seconds: float):
        self.out = directory / f"{name}.txt"
        self.cmd = None
        exe = _py_spy()
        if exe is None:
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
        directory.mkdir(parents=True, exist_ok=True)
        self.cmd = [exe, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "250",
                    "--nonblocking", "--duration", str(max(1, int(seconds))), "--output", str(self.out)]
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        if self.out.exists():
            self.out.with_suffix(".summary.txt").write_text(summarize(self.out))


def _short(frame: str) -> str:
    # "func (/path/to/site-packages/pkg/mod.py:12)" -> "func (pkg/mod.py)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarize(path: Path, top: int = 30) -> str:
    """Own and inclusive sample counts per function, busy samples only (idle threads left out)."""
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";") if "(" in f]
        if not frames or any(idle in frames[-1] for idle in ("wait (threading", "select (selectors",
                                                             "accept (", "sleep (", "poll (")):
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"busy samples: {total}", "", "own time (leaf functions):"]
    lines += [f"{n / total:6.1%}  {f}" for f, n in own.most_common(top)] if total else []
    lines += ["", "inclusive time (idp/ and the libraries it calls):"]
    ranked = [(f, n) for f, n in inclusive.most_common() if "gunicorn" not in f and "threading" not in f]
    lines += [f"{n / total:6.1%}  {f}" for f, n in ranked[: top * 2]] if total else []
    return "\n".join(lines) + "\n"
