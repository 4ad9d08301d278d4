"""The two README commands, with nothing but Python 3.11 and pip on the machine:

    python3 -m syncsmart run    # install, migrate, seed the demo, start web + worker + emulators
    python3 -m syncsmart test   # install, then the whole suite on SQLite, then on PostgreSQL + Redis

Standard library only: this runs before any dependency is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("SYNCSMART_VENV", ROOT / ".venv"))
PY = VENV / "bin" / "python"
PG_URL = os.environ.get("SYNCSMART_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("SYNCSMART_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def say(message: str) -> None:
    print(f"[syncsmart] {message}", flush=True)


def requirements(extras: str) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in filter(None, extras.split(",")):
        wanted += project["optional-dependencies"][extra]
    return wanted


def _stamp(extras: str) -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()[:16]


def ensure_venv(extras: str = "") -> None:
    if sys.version_info[:2] != (3, 11):
        say(f"warning: Python 3.11 is expected, this is {sys.version.split()[0]}")
    if not PY.exists():
        say(f"creating virtual environment in {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    stamp = VENV / f".syncsmart-installed-{_stamp(extras)}"
    # An environment with the test extras also satisfies the run command.
    if stamp.exists() or (not extras and (VENV / f".syncsmart-installed-{_stamp('test')}").exists()):
        return
    say("installing dependencies (first run only)")
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    # Dependencies only: the project itself runs from this checkout (manage.py's folder), so
    # the environment never points at another copy of it.
    subprocess.run([str(PY), "-m", "pip", "install", "-q", *requirements(extras)], check=True, cwd=ROOT)
    if "test" in extras.split(","):
        # The NetSuite client of the emulator's contract test declares version caps it does not need.
        client = requirements("netsuite-client")[len(requirements("")) :]
        subprocess.run([str(PY), "-m", "pip", "install", "-q", "--no-deps", *client], check=True, cwd=ROOT)
    for old in VENV.glob(".syncsmart-installed-*"):
        old.unlink()
    stamp.touch()


def ensure_chromium() -> None:
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's chromium for the browser tests")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        )
    else:
        say("chromium is missing and cannot be installed here: browser tests will fail (apt-get install chromium)")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def pytest(env_extra: dict[str, str], label: str, args: list[str]) -> int:
    env = {**os.environ, **env_extra}
    cmd = [str(PY), "-m", "pytest", "-n", os.environ.get("SYNCSMART_TEST_WORKERS", "auto"), "--dist", "loadgroup", *args]
    say(f"running the suite on {label}: {' '.join(cmd[2:])}")
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    if rc == 5:
        say(f"FAILED: pytest collected no tests on {label}")
        return 1
    return rc


def postgres_answers() -> bool:
    if not reachable("127.0.0.1", 5432):
        return False
    probe = "import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()"
    return (
        subprocess.run([str(PY), "-c", probe, PG_URL.replace("postgres://", "postgresql://")], capture_output=True).returncode
        == 0
    )


def redis_answers() -> bool:
    probe = "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_timeout=3).ping()"
    return (
        reachable("127.0.0.1", 6379)
        and subprocess.run([str(PY), "-c", probe, REDIS_TEST_URL], capture_output=True).returncode == 0
    )


def cmd_test(args: list[str]) -> int:
    ensure_venv("test")
    ensure_chromium()
    rc = pytest({}, "SQLite with the ORM broker", args)
    if rc != 0:
        return rc
    if postgres_answers() and redis_answers():
        rc = pytest({"DATABASE_URL": PG_URL, "REDIS_URL": REDIS_TEST_URL}, "PostgreSQL + Redis", args)
    else:
        say(
            "SKIPPED the PostgreSQL + Redis half: "
            "PostgreSQL (127.0.0.1:5432, database test) or Redis (127.0.0.1:6379) did not answer"
        )
    return rc


def cmd_run(args: list[str]) -> int:
    ensure_venv()
    os.chdir(ROOT)
    os.execv(str(PY), [str(PY), "manage.py", "demo", *args])


def main(argv: list[str]) -> int:
    commands = {"run": cmd_run, "test": cmd_test}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
