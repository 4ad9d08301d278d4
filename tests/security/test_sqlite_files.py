"""The embedded SQLite database and its WAL are created readable by their owner only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITE = (
    "from django.db import connection\n"
    "c = connection.cursor()\n"
    "c.execute('create table t (x)')\n"
    "c.execute('insert into t values (1)')\n"
    "import json, os; d = os.path.dirname(connection.settings_dict['NAME'])\n"
    "print(json.dumps({p: oct(os.stat(os.path.join(d, p)).st_mode & 0o777) for p in os.listdir(d)}))\n"
)


def test_database_wal_and_shm_are_0600(tmp_path):
    database = tmp_path / "db" / "syncsmart.sqlite3"
    database.parent.mkdir()
    env = {**os.environ, "SQLITE_PATH": str(database), "SYNCSMART_LOCAL_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    old = os.umask(0o022)  # a usual umask: files would be 0644 without the rule
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", WRITE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    modes = json.loads(result.stdout.strip().splitlines()[-1])  # seen while the connection is open
    assert set(modes) == {"syncsmart.sqlite3", "syncsmart.sqlite3-wal", "syncsmart.sqlite3-shm"}
    assert set(modes.values()) == {"0o600"}
