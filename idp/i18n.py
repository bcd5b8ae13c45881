"""Translations: catalogs live in idp/translations; compiled .mo files are rebuilt when a .po is newer.

The .mo files are not in git, so a fresh checkout compiles them on its first start. Message ids are
English; idp/translations/messages.pot is extracted with babel.cfg (see there for the commands).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parent / "translations"

log = logging.getLogger(__name__)


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
