"""A test client that gives every request its own app context, as a real server does.

The `app` fixture keeps an app context open for the whole test; Flask reuses it for test-client
requests, so `g` (where Flask-Babel caches the chosen locale and the sign-in pages put ui_locales)
and the database session would be shared between requests. Pages that depend on the language
must be tested one request at a time, like a browser sees them.
"""

from __future__ import annotations

import contextvars

from flask.testing import FlaskClient


class OneContextPerRequest(FlaskClient):
    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def isolated_client(app) -> FlaskClient:
    app.test_client_class = OneContextPerRequest
    return app.test_client()
