"""WSGI entry point for gunicorn: `gunicorn idp.wsgi:app` (or `idp serve`)."""

import logging
import sys

from idp import create_app, logs
from idp.settings import SettingsError

try:
    app = create_app()
except SettingsError as exc:
    # One line, and gunicorn's "application failed to load" exit code (4) so the arbiter stops
    # instead of respawning workers that would fail the same way.
    print(f"error: {exc}", file=sys.stderr, flush=True)  # noqa: T201 (before logging exists: gunicorn shows it)
    sys.exit(4)

if not logging.getLogger().handlers:  # plain `gunicorn idp.wsgi:app` (without -c python:idp.serving)
    logs.configure(app.extensions["idp.settings"].logging.format, app.extensions["idp.settings"].logging.level)
