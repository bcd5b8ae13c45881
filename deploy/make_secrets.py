"""Make the secrets compose.yaml reads (deploy/secrets/, mode 0600), keeping those that exist: `make up` runs it."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path


def main(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    values = {name: secrets.token_urlsafe(48) for name in ("secret_key", "encryption_key", "postgres_password")}
    for name, value in values.items():
        path = folder / name
        if not path.exists():
            path.write_text(value + "\n")
            path.chmod(0o600)
    password = (folder / "postgres_password").read_text().strip()
    url = folder / "database_url"
    if not url.exists():
        url.write_text(f"postgresql+psycopg://idp:{password}@db:5432/idp\n")
        url.chmod(0o600)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/secrets"))
