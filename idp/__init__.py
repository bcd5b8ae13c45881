"""idp: an OpenID Connect provider for healthcare portals."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from idp.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """The app factory (idp/app.py), imported on call: `import idp.settings` (the CLI's start, migrations)
    must not build the whole provider first."""
    from idp.app import create_app as build  # the composition root imports every layer

    return build(settings)
