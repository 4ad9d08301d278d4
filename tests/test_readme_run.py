"""README's run command, exactly as a newcomer types it, from a clean clone of what is committed."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_quick_start_has_exactly_the_run_and_the_test_command():
    assert readme_commands() == ["python3 -m syncsmart run", "python3 -m syncsmart test"]


@pytest.mark.slow
def test_the_readme_run_command_serves_the_demo_and_its_printed_login_works(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        SYNCSMART_VENV=sys.prefix,
        SYNCSMART_PORT=str(port),
        SYNCSMART_EMULATOR_PORT_BASE="0",
        SYNCSMART_DEMO_SEED_SIZE="20",
        Q_CLUSTER_NAME=f"readme-{port}",
    )
    command = readme_commands()[0].split()
    command[0] = sys.executable  # "python3" of a machine with only Python: here, this interpreter
    proc = subprocess.Popen(
        command, cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        password = None
        while time.monotonic() < deadline and password is None:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            match = re.search(r"Password:\s+(\S+)", line)
            password = match.group(1) if match else None
        assert password, "no demo log-in printed:\n" + "".join(output[-40:])
        email = next(re.search(r"Log in:\s+(\S+)", line).group(1) for line in output if "Log in:" in line)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as browser:
            for _ in range(100):
                try:
                    page = browser.get("/login/")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert page.status_code == 200 and "Log in" in page.text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            response = browser.post(
                "/login/",
                data={"username": email, "password": password, "csrfmiddlewaretoken": token},
                headers={"Referer": base + "/login/"},
            )
            assert response.status_code == 302, response.text[:500]
            home = browser.get("/")
            assert home.status_code == 200 and "Integrations" in home.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("the run command did not stop on Ctrl-C within 30 s") from None
        rest = proc.stdout.read()
    assert rc == 0, "".join(output[-30:]) + rest
    assert "Stopped." in rest
