"""The wheel carries everything the app needs at run time (everything else is in pyproject.toml).

templates/ and migrations/ stay at the top of the repository; building a wheel copies them into the package
as idp/templates and idp/migrations, and compiles idp/translations/*/LC_MESSAGES/messages.po into .mo files
beside them, so an installed app never writes into its own folder (idp/package.py finds them there).
An editable install (`pip install -e .`, the Makefile's) copies nothing: a checkout reads templates/ and
migrations/ where they are and compiles its translations when it starts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MAPPED = ("templates", "migrations")  # top-level folders that become idp/<name> in the wheel
UNWANTED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildPy(build_py):
    """build_py, plus the mapped folders and the compiled catalogs in the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        package = Path(self.build_lib) / "idp"
        for name in MAPPED:
            target = package / name
            if target.exists():  # a build folder left from an earlier build: nothing stale survives
                shutil.rmtree(target)
            shutil.copytree(HERE / name, target, ignore=UNWANTED)
        for po in sorted((HERE / "idp" / "translations").glob("*/LC_MESSAGES/messages.po")):
            mo = package / po.relative_to(HERE / "idp").with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as fh:  # as idp/i18n.py compiles them in a checkout: fuzzy entries left out
                catalog = read_po(fh, locale=po.parent.parent.name)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)


setup(cmdclass={"build_py": BuildPy})
