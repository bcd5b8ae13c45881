"""The floor for discovery and JWKS: a bare Flask app returning the provider's own bytes from memory.

It runs under the same gunicorn settings as the provider, in the same benchmark run; whatever the
provider adds on top of this (its hooks, headers, routing) shows as the ratio between the two.
BENCH_BARE_DIR holds discovery.json and jwks.json, fetched from the provider being measured.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

_DIR = Path(os.environ["BENCH_BARE_DIR"])
_DISCOVERY = (_DIR / "discovery.json").read_bytes()
_JWKS = (_DIR / "jwks.json").read_bytes()
# the same cache headers the provider sends for these two documents
_HEADERS = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}

app = Flask(__name__)


@app.get("/.well-known/openid-configuration")
def discovery() -> Response:
    return Response(_DISCOVERY, mimetype="application/json", headers=_HEADERS)


@app.get("/jwks.json")
def jwks() -> Response:
    return Response(_JWKS, mimetype="application/json", headers=_HEADERS)
