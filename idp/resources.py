"""Where the app's own files are at run time: its templates, its migrations and its compiled translations.

An installed wheel carries them inside the package: building it copies templates/ and migrations/ into
idp/templates and idp/migrations and compiles the catalogs (setup.py), so the app never writes into
site-packages. A checkout (an editable install, the Makefile's) keeps templates/ and migrations/ at the top
of the repository and compiles its catalogs when it starts (idp/i18n.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def installed() -> bool:
    """True in an installed wheel: only a built package carries its own templates."""
    return (PACKAGE / "templates").is_dir()


def folder(name: str) -> Path:
    """The folder of this name (templates, migrations): inside the installed package, else in the checkout."""
    return PACKAGE / name if installed() else CHECKOUT / name


OPENAPI = PACKAGE / "openapi.yaml"


@cache
def openapi() -> bytes:
    """The OpenAPI 3.1 description of the JSON endpoints: a file of the package, in a checkout and a wheel alike."""
    return OPENAPI.read_bytes()
