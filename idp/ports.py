"""Can the provider listen where it is told to? Asked before anything is set up or printed, so that a port in use
is one line saying what to do, not a traceback after the demo's banner or a gunicorn retry loop."""

from __future__ import annotations

import errno
import socket
from typing import IO, Any

import click


class PortUnusable(click.ClickException):
    """A port the provider cannot listen on: one line on stderr, exit code 2 (like a bad setting)."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", err=True, file=file)


def split_bind(bind: str) -> tuple[str, int] | None:
    """gunicorn's --bind as (host, port): HOST:PORT, [IPv6]:PORT, or HOST (gunicorn's port 8000); None for a unix
    socket, an inherited file descriptor or anything gunicorn will judge itself."""
    if bind.startswith(("unix:", "fd://")):
        return None
    if bind.startswith("["):
        host, _, rest = bind[1:].partition("]")
        port = rest.removeprefix(":") or "8000"
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    elif ":" not in bind:
        host, port = bind, "8000"
    else:
        return None
    return (host, int(port)) if port.isdigit() else None


def problem(host: str, port: int) -> str | None:
    """Why listening on host:port would fail now ("in use", ...), or None. Probed as the servers listen (with
    SO_REUSEADDR, so a port left in TIME_WAIT by a stopped server counts as free)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        return f"{host!r} is not an address of this machine"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "in use"
            if exc.errno == errno.EACCES:
                return "not open to this user (ports below 1024 need privileges)"
            return exc.strerror or str(exc)
    return None
