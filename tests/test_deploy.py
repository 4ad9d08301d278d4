import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_under_production_settings_reports_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        SYNCSMART_ENV="production",
        SECRET_KEY="x7" * 30 + "-production-grade-secret",
        SYNCSMART_ENCRYPTION_KEYS="1:" + base64.b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="sync.example.com",
        SYNCSMART_LOCAL_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def _deploy_check(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        SYNCSMART_ENV="production",
        SECRET_KEY="x7" * 30 + "-production-grade-secret",
        SYNCSMART_ENCRYPTION_KEYS="1:" + base64.b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="sync.example.com",
        SYNCSMART_LOCAL_DIR=str(tmp_path),
    )
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_check_deploy_refuses_malformed_encryption_keys(tmp_path):
    for spec in [
        "1:not-base64-of-32-bytes",
        "one:" + base64.b64encode(os.urandom(32)).decode(),
        ",",
        "1:" + base64.b64encode(os.urandom(16)).decode(),
    ]:
        result = _deploy_check(tmp_path, SYNCSMART_ENCRYPTION_KEYS=spec)
        assert result.returncode != 0 and "syncsmart.E001" in result.stdout + result.stderr, spec


def test_check_deploy_refuses_debug_in_production(tmp_path):
    result = _deploy_check(tmp_path, DEBUG="1")
    assert result.returncode != 0 and "syncsmart.E002" in result.stdout + result.stderr
