"""A small HTTP/1.1 load generator: keep-alive sockets driven by one selector loop per process.

Every connection runs a script: a generator that yields `Request`s and is sent back each `Response`
(or None when the connection failed). The script keeps whatever state a user would (cookies, a
refresh-token chain), so one loop drives static GETs and whole sign-ins alike.

Closed loop: each connection sends its next request as soon as the previous answer arrived (throughput).
Open loop: requests are due at a fixed rate and latency counts from the moment a request was *due*, so a
server that falls behind shows its queue in p99 instead of slowing the generator down (no coordinated
omission).
"""

from __future__ import annotations

import multiprocessing
import selectors
import socket
import time
from array import array
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

Script = Generator["Request", "Response | None", None]
# factory(connection_index, recorder) -> script
Factory = Callable[[int, "Recorder"], Script]

_TIMEOUT = 15.0  # an answer slower than this is an error, not a latency


@dataclass(slots=True)
class Request:
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    _raw: bytes | None = None

    def raw(self, host: str) -> bytes:
        # Static requests are yielded again and again: encode them once.
        if self._raw is None:
            lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}"]
            lines += [f"{k}: {v}" for k, v in self.headers.items()]
            if self.body or self.method == "POST":
                lines.append(f"Content-Length: {len(self.body)}")
            self._raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body
        return self._raw


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, list[str]]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


@dataclass
class Stats:
    """What one run measured; merged across processes."""

    window: float = 0.0
    completed: int = 0  # answers that arrived inside the window (throughput)
    latencies: array = field(default_factory=lambda: array("d"))  # seconds, requests started in the window
    flows: int = 0
    flow_latencies: array = field(default_factory=lambda: array("d"))
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    late_starts: int = 0  # open loop: requests that waited for a free connection

    def merge(self, other: Stats, sequential: bool = False) -> None:
        """Add another run's counts: side by side (processes of one run) or after it (sequential)."""
        self.window = self.window + other.window if sequential else max(self.window, other.window)
        self.completed += other.completed
        self.latencies.extend(other.latencies)
        self.flows += other.flows
        self.flow_latencies.extend(other.flow_latencies)
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n
        for reason, n in other.errors.items():
            self.errors[reason] = self.errors.get(reason, 0) + n
        self.late_starts += other.late_starts


class Recorder:
    """Handed to scripts: they report whole flows (a sign-in) and their own failures here."""

    def __init__(self, stats: Stats):
        self.stats = stats
        self.start = 0.0
        self.end = float("inf")

    def flow(self, started: float) -> None:
        now = time.perf_counter()
        if self.start <= now <= self.end:
            self.stats.flows += 1
            if started >= self.start:
                self.stats.flow_latencies.append(now - started)

    def error(self, reason: str) -> None:
        self.stats.errors[reason] = self.stats.errors.get(reason, 0) + 1


class _Parser:
    """Incremental HTTP/1.1 response parser (Content-Length or chunked bodies)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def reset(self) -> None:
        self.buf.clear()

    def feed(self, data: bytes) -> Response | None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers: dict[str, list[str]] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        start = end + 4
        if "chunked" in (headers.get("transfer-encoding") or [""])[0].lower():
            body = self._chunked(start)
            if body is None:
                return None
        else:
            length = int((headers.get("content-length") or ["0"])[0])
            if len(self.buf) < start + length:
                return None
            body = bytes(self.buf[start:start + length])
        self.buf.clear()
        return Response(status, headers, body)

    def _chunked(self, pos: int) -> bytes | None:
        parts = []
        while True:
            eol = self.buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(self.buf[pos:eol]).split(b";")[0], 16)
            if size == 0:  # no trailers are expected: the last chunk is followed by one empty line
                return b"".join(parts) if len(self.buf) >= eol + 4 else None
            if len(self.buf) < eol + 2 + size + 2:
                return None
            parts.append(bytes(self.buf[eol + 2:eol + 2 + size]))
            pos = eol + 2 + size + 2


class _Conn:
    __slots__ = ("busy", "done", "index", "last", "parser", "primed", "script", "sock", "started")

    def __init__(self, index: int, script: Script):
        self.index = index
        self.script = script
        self.sock: socket.socket | None = None
        self.parser = _Parser()
        self.started = 0.0  # when the outstanding request was due (open loop) or sent (closed loop)
        self.busy = False
        self.last: Response | None = None
        self.done = False
        self.primed = False  # the script has been started (next) and now takes responses (send)


class _Loop:
    def __init__(self, factory: Factory, indexes: list[int], host: str, port: int, stats: Stats):
        self.addr = (host, port)
        self.host = f"{host}:{port}"
        self.sel = selectors.DefaultSelector()
        self.stats = stats
        self.rec = Recorder(stats)
        self.conns = [_Conn(i, factory(i, self.rec)) for i in indexes]

    # --- one request on one connection -------------------------------------------------------
    def start(self, conn: _Conn, due: float) -> bool:
        """Ask the script for its next request and send it; False when the script has finished."""
        try:
            request = conn.script.send(conn.last) if conn.primed else next(conn.script)
            conn.primed = True
        except StopIteration:
            conn.done = True
            self.close(conn)
            return False
        conn.last = None
        for attempt in (1, 2):
            if conn.sock is None:
                self.connect(conn)
            try:
                conn.sock.sendall(request.raw(self.host))
                break
            except OSError:
                # A keep-alive connection the server had just closed: nothing reached it, resend once.
                self.close(conn)
                if attempt == 2:
                    self.fail(conn, "send")
                    return True
        conn.started = due
        conn.busy = True
        return True

    def connect(self, conn: _Conn) -> None:
        sock = socket.create_connection(self.addr, timeout=_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock = sock
        conn.parser.reset()
        self.sel.register(sock, selectors.EVENT_READ, conn)

    def close(self, conn: _Conn) -> None:
        if conn.sock is not None:
            self.sel.unregister(conn.sock)
            conn.sock.close()
            conn.sock = None

    def fail(self, conn: _Conn, reason: str) -> None:
        self.rec.error(reason)
        conn.busy = False
        conn.last = None
        self.close(conn)

    def readable(self, conn: _Conn) -> Response | None:
        try:
            data = conn.sock.recv(262144)
        except OSError:
            data = b""
        if not data:
            self.fail(conn, "connection closed")
            return None
        response = conn.parser.feed(data)
        if response is None:
            return None
        now = time.perf_counter()
        conn.busy = False
        conn.last = response
        stats = self.stats
        stats.statuses[response.status] = stats.statuses.get(response.status, 0) + 1
        if self.rec.start <= now <= self.rec.end:
            stats.completed += 1
        if conn.started >= self.rec.start:
            stats.latencies.append(now - conn.started)
        if (response.header("connection") or "").lower() == "close":
            self.close(conn)
        return response

    def expire(self, now: float) -> None:
        for conn in self.conns:
            if conn.busy and now - conn.started > _TIMEOUT:
                self.fail(conn, "timeout")

    # --- the two loops ---------------------------------------------------------------------
    def closed(self, warmup: float, duration: float) -> None:
        t0 = time.perf_counter()
        self.rec.start, self.rec.end = t0 + warmup, t0 + warmup + duration
        for conn in self.conns:
            self.start(conn, time.perf_counter())
        next_check = t0 + 1.0
        while any(not c.done for c in self.conns):
            now = time.perf_counter()
            if now >= self.rec.end:
                break
            for key, _ in self.sel.select(timeout=min(0.2, self.rec.end - now)):
                conn = key.data
                if self.readable(conn) is not None or not conn.busy:
                    self.start(conn, time.perf_counter())
            if now >= next_check:
                self.expire(now)
                for conn in self.conns:  # a connection that failed starts over
                    if not conn.busy and not conn.done:
                        self.start(conn, time.perf_counter())
                next_check = now + 1.0

    def open(self, rate: float, warmup: float, duration: float) -> None:
        t0 = time.perf_counter()
        self.rec.start, self.rec.end = t0 + warmup, t0 + warmup + duration
        idle = deque(self.conns)
        backlog: deque[float] = deque()
        interval = 1.0 / rate
        due = t0
        drain_until = self.rec.end + _TIMEOUT
        next_check = t0 + 1.0
        while True:
            now = time.perf_counter()
            while due <= now and due < self.rec.end:
                backlog.append(due)
                due += interval
            while backlog and idle:
                conn = idle.popleft()
                if conn.done:
                    continue
                when = backlog.popleft()
                if now - when > 0.001 and when >= self.rec.start:
                    self.stats.late_starts += 1
                if not self.start(conn, when):
                    backlog.appendleft(when)
            busy = any(c.busy for c in self.conns)
            if now >= self.rec.end and not busy and not backlog:
                break
            if now >= drain_until or all(c.done for c in self.conns):
                break
            wait = max(0.0, min(due - now, 0.1)) if due < self.rec.end else 0.1
            for key, _ in self.sel.select(timeout=wait):
                conn = key.data
                self.readable(conn)
                if not conn.busy and conn not in idle:
                    idle.append(conn)
            if now >= next_check:
                self.expire(now)
                for conn in self.conns:
                    if not conn.busy and not conn.done and conn not in idle:
                        idle.append(conn)
                next_check = now + 1.0

    def shutdown(self) -> None:
        for conn in self.conns:
            self.close(conn)
            conn.script.close()
        self.sel.close()


def _run_one(factory, indexes, host, port, mode, rate, warmup, duration) -> Stats:
    stats = Stats(window=duration)
    loop = _Loop(factory, indexes, host, port, stats)
    try:
        if mode == "open":
            loop.open(rate, warmup, duration)
        else:
            loop.closed(warmup, duration)
    finally:
        loop.shutdown()
    return stats


def _child(conn, *args) -> None:
    conn.send(_run_one(*args))
    conn.close()


def run(
    factory: Factory,
    *,
    host: str,
    port: int,
    connections: int,
    duration: float,
    warmup: float = 1.0,
    rate: float | None = None,
    processes: int = 1,
) -> Stats:
    """Drive `connections` scripts for warmup + duration seconds; with `rate`, open loop at that many req/s.

    With one process the scripts run here, so their side effects (collected tokens) are visible after.
    """
    mode = "open" if rate else "closed"
    if processes <= 1:
        return _run_one(factory, list(range(connections)), host, port, mode, rate, warmup, duration)
    ctx = multiprocessing.get_context("fork")
    children = []
    for p in range(processes):
        indexes = list(range(p, connections, processes))
        share = rate / processes if rate else None
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, factory, indexes, host, port, mode, share, warmup, duration))
        proc.start()
        children.append((proc, parent))
    total = Stats(window=duration)
    for proc, parent in children:
        total.merge(parent.recv())
        proc.join()
    return total
