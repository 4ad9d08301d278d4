"""A throw-away database for one bench or soak process, so measuring never touches real data.

SQLite (the embedded default): a file in a temporary directory (a file, not memory, because the
soak's q2 worker is another process). PostgreSQL (DATABASE_URL): a database of its own, named
after the configured one plus `_bench_<pid>`, created and dropped like a test database.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection


@contextlib.contextmanager
def throwaway_database(workdir: Path | None = None, keep: bool = False) -> Iterator[dict]:
    """Create and migrate a fresh database, point `default` at it, drop it afterwards.
    Yields the database settings (for child processes: see child_environment)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="syncsmart-bench-"))
    db = settings.DATABASES["default"]
    sqlite = db["ENGINE"].endswith("sqlite3")
    name = str(workdir / "bench.sqlite3") if sqlite else f"{db['NAME']}_bench_{os.getpid()}"
    db.setdefault("TEST", {})
    db["TEST"] = dict(db["TEST"], NAME=name)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield dict(settings.DATABASES["default"])
    finally:
        if not keep:
            if not sqlite:
                _end_other_sessions(name)
            connection.creation.destroy_test_db(old_name, verbosity=0)


def _end_other_sessions(name: str) -> None:
    """Connections other threads left open (the served web app's, the emulators') would keep
    PostgreSQL from dropping the database: end them first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        )


def child_environment(database: dict) -> dict[str, str]:
    """Environment for a child process (the q2 worker) that must use the same database."""
    env = dict(os.environ)
    if database["ENGINE"].endswith("sqlite3"):
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(database["NAME"])
    else:
        user = database.get("USER") or ""
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        env["DATABASE_URL"] = (
            f"postgres://{auth}{database.get('HOST') or '127.0.0.1'}:{database.get('PORT') or 5432}/{database['NAME']}"
        )
    return env
