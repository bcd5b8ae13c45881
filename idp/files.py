"""Files the provider writes (the SQLite database, the file transport's outbox, dev-mode secrets) hold codes,
links and keys: private to the account that runs it, from the moment they exist. A secret it reads (a declared
portal's client secret) must be as private: `read_private`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Make the folder (owner only) when it is missing; an existing one keeps its mode (the operator's)."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create the file owner-only (never readable by others, not even for a moment), or take group and other
    access away from an existing one."""
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
    return path


class NotPrivate(Exception):
    """A file that should hold a secret is missing, not a file, or open to group or others; says which."""


def read_private(path: Path) -> str:
    """The text of a file only its owner may read or write (0600, 0400): a file group or others can open is
    refused, since whoever can read it holds the secret."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NotPrivate(f"no such file: {path}") from None
    except OSError as exc:
        raise NotPrivate(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise NotPrivate(f"not a regular file: {path}")
    if mode & 0o077:
        raise NotPrivate(f"{path} is open to group or others (mode {stat.S_IMODE(mode):04o}); it must be owner-only: "
                         f"chmod 600 {path}")
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise NotPrivate(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
