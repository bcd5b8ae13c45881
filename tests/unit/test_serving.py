"""`idp serve` spreads keep-alive connections across its workers (idp.serving: SO_REUSEPORT, a listening socket
per worker), instead of one worker accepting every connection while the others idle. Linux: read from /proc."""

from __future__ import annotations

import http.client
import sys
import time
from pathlib import Path

import pytest
from gunicorn.config import Config

from idp import serving
from tests.helpers import free_port
from tests.unit.test_cli import Running, dev_env, ok

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads sockets from /proc")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def tcp_sockets(port: int) -> list[tuple[str, int, int]]:
    """(state, remote port, inode) of every IPv4 socket on the server's local port (/proc/net/tcp)."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
        if int(local.split(":")[1], 16) == port:
            rows.append((state, int(remote.split(":")[1], 16), inode))
    return rows


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


@pytest.mark.slow
def test_keep_alive_connections_land_on_every_worker(tmp_path):
    port = free_port()
    env = {**dev_env(tmp_path, f"sqlite:///{tmp_path}/idp.sqlite"), "IDP_SERVER_ISSUER": f"http://127.0.0.1:{port}"}
    ok(env, "init")
    server = Running(env, ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"], tmp_path, port)
    connections: list[http.client.HTTPConnection] = []
    try:
        assert server.wait_until_up().status_code == 200
        # Both workers booted, each with a listening socket of its own (state 0A: LISTEN).
        for _ in range(300):
            if sum(1 for state, _, _ in tcp_sockets(port) if state == "0A") == 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"listening sockets: {tcp_sockets(port)}")
        workers = children(server.process.pid)  # `idp serve` became the gunicorn master (exec)
        assert len(workers) == 2

        # All connections at once, as a proxy or a load test opens them.
        for _ in range(16):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.connect()
            connections.append(conn)
        owners = []
        for conn in connections:
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            assert (response.getheader("Connection") or "").lower() != "close"  # kept alive, still open
            client_port = conn.sock.getsockname()[1]
            inode = next(i for state, remote, i in tcp_sockets(port) if state == "01" and remote == client_port)
            owners.append(next(w for w in workers if inode in socket_inodes(w)))

        # Every connection is served by one worker, and no worker holds them all.
        assert set(owners) == set(workers), owners
    finally:
        for conn in connections:
            conn.close()
        server.stop()


@pytest.mark.parametrize(("bind", "spread"), [
    (["127.0.0.1:5000"], True),
    (["[::1]:5000", "0.0.0.0:5001"], True),
    (["unix:/run/idp.sock"], False),  # every worker would replace the path
    (["127.0.0.1:5000", "unix:/run/idp.sock"], False),
    (["fd://3"], False),
])
def test_a_socket_per_worker_only_for_tcp(bind, spread):
    cfg = Config()
    cfg.set("bind", bind)
    cfg.set("reuse_port", serving.reuse_port)

    class Arbiter:
        pass

    server = Arbiter()
    server.cfg = cfg  # type: ignore[attr-defined]
    serving.on_starting(server)
    assert cfg.reuse_port is spread
