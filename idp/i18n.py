"""Translations: catalogs live in idp/translations; compiled .mo files are rebuilt when a .po is newer.

The .mo files are not in git, so a fresh checkout compiles them on its first start. Message ids are
English; idp/translations/messages.pot is extracted with babel.cfg (see there for the commands).

Dutch has two forms of address: "u" (formal, the nl catalog) and "je" (informal, issue 14). A portal whose
profile says `form_of_address = je` gets the nl@informal catalog on the pages of its sign-in
(use_form_of_address) and in its mails and SMS (in_form_of_address); that catalog holds only the messages that
speak to the reader, everything else falls back to nl. Other languages have one form.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import flask_babel
from babel import support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g

TRANSLATIONS = Path(__file__).parent / "translations"

log = logging.getLogger(__name__)

FORMAL, INFORMAL = "u", "je"
FORMS_OF_ADDRESS = (FORMAL, INFORMAL)
INFORMAL_VARIANT = "informal"  # the catalog of the informal form: <language>@informal
_FORM = "idp_form_of_address"  # in flask.g: the form of address of what is rendered now


def ensure_compiled(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every <lang>/LC_MESSAGES/messages.po that is newer than its .mo; return what was compiled."""
    compiled = []
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            _compile(po, mo)
        except OSError as error:
            if not mo.exists():
                raise RuntimeError(
                    f"cannot compile {po} ({error}); run: pybabel compile -d {directory}") from error
            # A read-only install whose files got new mtimes: the shipped .mo is still good.
            log.warning("keeping %s: cannot recompile (%s)", mo, error)
            continue
        compiled.append(mo)
    return compiled


def _compile(po: Path, mo: Path) -> None:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name)
    # A unique temporary file and an atomic rename: several workers may start at once.
    fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalog)
        os.replace(tmp, mo)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def use_form_of_address(form: str) -> None:
    """What this request renders speaks to the reader in this form (u or je)."""
    setattr(g, _FORM, form if form in FORMS_OF_ADDRESS else FORMAL)


@contextmanager
def in_form_of_address(form: str) -> Iterator[None]:
    """Render in this form of address for a while (a mail for a portal), then as before."""
    before = g.get(_FORM)
    use_form_of_address(form)
    try:
        yield
    finally:
        setattr(g, _FORM, before)


class AddressedDomain(flask_babel.Domain):
    """The messages domain, with the informal catalog over the formal one when the form is je."""

    def get_translations(self):  # type: ignore[no-untyped-def]
        formal = super().get_translations()
        locale = flask_babel.get_locale()
        if locale is None or not g or g.get(_FORM) != INFORMAL:
            return formal
        informal_locale = f"{locale.language}@{INFORMAL_VARIANT}"
        key = (informal_locale, self.domain[0])
        if key not in self.cache:
            informal = support.Translations()
            for dirname in self.translation_directories:
                found = support.Translations.load(dirname, [informal_locale], self.domain[0])
                if isinstance(found, support.Translations) and found.files and any(
                        Path(name).parent.parent.name == informal_locale for name in found.files):
                    informal.merge(found)
                    informal.plural = found.plural
            informal.add_fallback(formal)
            self.cache[key] = informal
        return self.cache[key]


class Babel(flask_babel.Babel):
    """Flask-Babel whose messages domain knows the two Dutch forms of address."""

    @cached_property
    def domain_instance(self) -> flask_babel.Domain:
        return AddressedDomain(domain=self.domain)
