"""The embedded default's SQLite database holds session keys and encrypted secrets: its file,
and the WAL and shared-memory files beside it, are readable by their owner only (0600).

SQLite creates the -wal and -shm files with the database file's permissions, so tightening the
database file when a connection opens covers them too; any that already exist are tightened as
well (a database created before this rule).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.db.backends.signals import connection_created
from django.dispatch import receiver

PRIVATE = 0o600


def tighten(database: str | os.PathLike) -> None:
    for path in (Path(database), Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")):
        try:
            if path.exists() and (path.stat().st_mode & 0o777) != PRIVATE:
                path.chmod(PRIVATE)
        except OSError:
            pass  # not ours to change (a read-only mount): the deployment decides


@receiver(connection_created)
def tighten_sqlite_files(sender: object, connection: object, **kwargs: object) -> None:
    if getattr(connection, "vendor", "") != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if name and name != ":memory:" and not name.startswith("file:"):
        tighten(name)
