"""A TCP proxy on loopback between the provider (or `idp worker`) and PostgreSQL or Redis, to inject outages
without touching the servers other tests share.

- open:   every connection is passed through;
- refuse: live connections are cut, new ones are closed at once (a server that went away);
- hang:   live connections are cut, new ones are accepted and then left without an answer (a server, or a
          network, that hangs).
"""

from __future__ import annotations

import contextlib
import socket
import threading

OPEN, REFUSE, HANG = "open", "refuse", "hang"


class Proxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = OPEN
        self._lock = threading.Lock()
        self._live: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url_for(self, url: str) -> str:
        """`url` (postgresql:// or redis:// on the target) pointed at this proxy instead."""
        host, port = self.target
        return url.replace(f"{host}:{port}", f"127.0.0.1:{self.port}", 1)

    def cut(self, mode: str = REFUSE) -> None:
        """Start an outage: cut every live connection; new ones are refused or left hanging."""
        with self._lock:
            self.mode = mode
            live, self._live = self._live, []
        for sock in live:
            _close(sock)

    def restore(self) -> None:
        """End the outage: new connections pass through again (cut ones stay cut, as after a restart)."""
        with self._lock:
            self.mode = OPEN

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        _close(self._listener)
        self._thread.join(5)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self.mode
                if mode != REFUSE:
                    self._live.append(client)
            if mode == REFUSE:
                _close(client)
            elif mode == OPEN:
                threading.Thread(target=self._connect, args=(client,), daemon=True).start()
            # HANG: kept open, never read from or answered, until the outage ends with stop() or the client gives up

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self.mode != OPEN or client not in self._live:
                _close(client)
                _close(upstream)
                return
            self._live.append(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
