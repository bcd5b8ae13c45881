"""Files the provider writes (the SQLite database, the file transport's outbox, dev-mode secrets) hold codes,
links and keys: private to the account that runs it, from the moment they exist."""

from __future__ import annotations

import os
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
