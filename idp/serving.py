"""gunicorn's configuration for `idp serve` (`gunicorn -c python:idp.serving idp.wsgi:app` does the same).

gunicorn's error and access lines go through the app's one logging handler (idp.logs): JSON or text as the
setting logging.format says, each carrying the request id, the access line with secrets redacted from its target;
app log lines propagate to the same handler, so none go missing under gunicorn. With metrics enabled, `idp serve`
sets PROMETHEUS_MULTIPROC_DIR to a folder of its own; a dead worker's live values are dropped and the folder is
removed when gunicorn stops. gunicorn's control socket is off (see below).

Keep-alive connections are spread across the workers: with one shared listening socket, the gthread worker that
wakes first accepts every connection that is waiting, and a proxy's or benchmark's keep-alive connections then
stay on that one worker (one core busy, the others idle). With reuse_port (gunicorn >= 26) every worker opens
a listening socket of its own with SO_REUSEPORT, and the kernel hands each new connection to one of them, and
so to one worker. A worker that stops closes its socket: connections still waiting in its queue are reset and
the client connects again. Not for unix sockets or sockets from systemd (one shared socket, as before).
Because of SO_REUSEPORT, a second gunicorn started with this configuration on the same address would share it
instead of failing; `idp serve` checks that the address is free before it starts gunicorn.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from gunicorn import glogging

from idp import logs, metrics
from idp.settings import SettingsError, load

logger_class = "idp.serving.Logger"
# gunicorn 25.1+ opens a control socket for `gunicornc` at one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or
# ~/.gunicorn/gunicorn.ctl): a second instance on the host would take it over from the first. Nothing here uses
# it, so it is off; signals (HUP, TERM, TTIN/TTOU) still manage each instance by its own pid.
control_socket_disable = True
reuse_port = True
# Set by `idp serve` when it made the folder (no IDP_ prefix: not a setting).
OWNED_DIR = "PROMETHEUS_MULTIPROC_DIR_BY_IDP"


class Logger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger with the app's handler and an access line of named fields."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True
        try:
            settings = load()
            fmt, level = settings.logging.format, settings.logging.level
        except SettingsError:  # the worker's app load reports it in one line and stops the arbiter
            fmt, level = logs.TEXT, "INFO"
        logs.configure(fmt, level)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        try:
            if not self.access_log_enabled:
                return
            target = logs.redact(environ.get("RAW_URI") or environ.get("PATH_INFO") or "")
            rid = next((v for k, v in resp.headers if k.lower() == logs.HEADER.lower()), None)
            status = getattr(resp, "status_code", None) or str(resp.status).split(" ", 1)[0]
            duration = request_time.total_seconds() * 1000
            method = environ.get("REQUEST_METHOD", "-")
            self.access_log.info("%s %s %s", method, target, status, extra={
                "type": "access", "method": method, "path": target, "status": int(status),
                "bytes": getattr(resp, "sent", None), "duration_ms": round(duration, 2),
                "remote_addr": environ.get("REMOTE_ADDR"), "user_agent": environ.get("HTTP_USER_AGENT"),
                "request_id": rid or logs.request_id.get()})
        finally:
            logs.request_id.set(None)  # the request is over: later lines of this thread are not its


def tcp_only(bind: list[str]) -> bool:
    return not any(address.startswith(("unix:", "fd://")) for address in bind)


def on_starting(server: Any) -> None:
    # A socket per worker only for TCP: for a unix socket each worker would replace the path, and sockets handed
    # over by systemd are shared as they are.
    if not tcp_only(list(server.cfg.bind)) or os.environ.get("LISTEN_FDS"):
        server.cfg.set("reuse_port", False)


def child_exit(server: Any, worker: Any) -> None:
    metrics.process_exited(worker.pid)


def on_exit(server: Any) -> None:
    folder = os.environ.get(metrics.MULTIPROC_DIR)
    if folder and os.environ.get(OWNED_DIR) == folder:
        shutil.rmtree(folder, ignore_errors=True)
