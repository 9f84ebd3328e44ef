"""The embedded PostgreSQL default: when DATABASE_URL is unset, start PostgreSQL 16 from the
pgserver wheel in var/pgdata (about a second, no system set-up) and point DATABASE_URL at it.

pgserver stops its server when the last Python process using it exits, so the process that
calls `ensure_database()` must outlive the web server and worker: `make run` and `make test`
run through it.

    python -m classifier_site.embedded_db COMMAND [ARGS...]   # run COMMAND with DATABASE_URL set
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DATABASE_NAME = "classifier"


def data_dir() -> Path:
    base = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    return base / "pgdata"


def ensure_database():
    """Start the embedded server if DATABASE_URL is not set; returns the server (keep a
    reference for as long as it is needed) or None when an external database is configured."""
    if os.environ.get("DATABASE_URL"):
        return None
    import pgserver

    folder = data_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME}")
    os.environ["DATABASE_URL"] = f"postgresql://postgres@/{DATABASE_NAME}?host={folder}"
    return server


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    server = ensure_database()  # noqa: F841  (kept alive until the command ends)
    return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
