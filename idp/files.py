"""Files the provider writes (the SQLite database, the file transport's outbox, dev-mode secrets) hold codes,
links and keys: private to the account that runs it, from the moment they exist. A secret it reads (a declared
portal's client secret) must be as private: `read_private`."""

from __future__ import annotations

import errno
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
    """The text of a file only its owner may read or write (0600, 0400), owned by the user this process runs as:
    a file group or others can open, someone else's file, or a symbolic link is refused, since whoever can read
    or swap it holds the secret. The file is opened once and checked through that handle (no race between the
    check and the read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise NotPrivate(f"no such file: {path}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotPrivate(f"{path} is a symbolic link; name the file itself") from None
        raise NotPrivate(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotPrivate(f"not a regular file: {path}")
        if info.st_mode & 0o077:
            raise NotPrivate(f"{path} is open to group or others (mode {stat.S_IMODE(info.st_mode):04o}); it must be "
                             f"owner-only: chmod 600 {path}")
        if info.st_uid != os.geteuid():
            raise NotPrivate(f"{path} belongs to another user (uid {info.st_uid}); it must be owned by the user idp "
                             f"runs as (uid {os.geteuid()})")
        try:
            return fh.read().decode()
        except (OSError, UnicodeDecodeError) as exc:
            raise NotPrivate(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
