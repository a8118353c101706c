"""`make up` (python -m devstack up) as a new user runs it: ready within 60 s on a fresh data folder,
Ctrl-C leaves no process behind, and a second run finds the data still there."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devstack.processes import free_port
from devstack.stack import SERVICES

pytestmark = pytest.mark.slow


def stack_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "ARF_DEV_DATA_DIR": str(data_dir)}
    for name in ["KAFKA", "MONGO", "SMTP", "MAILBOX", "INBOUND", *(service.upper() for service in SERVICES)]:
        env[f"ARF_DEV_{name}_PORT"] = str(free_port())
    return env


class Stack:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "devstack", "up"], env=self.env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.output()):
                return match
            assert self.process and self.process.poll() is None, f"make up exited:\n{self.output()}"
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not printed within {timeout_s} s:\n{self.output()}")

    def interrupt(self) -> int:
        assert self.process
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(90)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_make_up_is_ready_within_a_minute_stops_cleanly_and_keeps_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = stack_env(data_dir)
    first = Stack(env, tmp_path / "first.log")
    first.start()
    try:
        ready = first.wait_for(r"ready in ([\d.]+) s", timeout_s=120)
        first.wait_for("Press Ctrl-C to stop", timeout_s=120)
    finally:
        code = first.interrupt()
    assert float(ready.group(1)) < 60, first.output()
    assert code == 0, first.output()
    output = first.output()
    assert f"http://localhost:{env['ARF_DEV_MAILBOX_PORT']}" in output
    assert f"http://localhost:{env['ARF_DEV_FOLLOWUPS_PORT']}/docs" in output
    assert "/asyncapi" in output
    token = (data_dir / "dev-token.txt").read_text().strip()
    assert token.count(".") == 2 and token in output
    assert "stopped every process" in output
    assert re.search(r"demo tenant 'demo': 4 clients, \d+ open actions, scenario '\w+'", output), output
    assert "items added now" in output
    pids = json.loads((data_dir / "pids.json").read_text())
    assert len(pids) == 3 + len(SERVICES)
    assert [name for name, pid in pids.items() if alive(pid)] == []

    second = Stack(env, tmp_path / "second.log")
    second.start()
    try:
        second.wait_for("Press Ctrl-C to stop", timeout_s=120)
        followups = f"http://localhost:{env['ARF_DEV_FOLLOWUPS_PORT']}"
        with httpx.Client(base_url=followups, headers={"Authorization": f"Bearer {token}"}) as http:
            clients = http.get("/clients").json()
    finally:
        assert second.interrupt() == 0
    assert "nothing to add: the data was already there" in second.output()
    assert len(clients) == 4


def test_a_port_already_taken_is_named(tmp_path: Path) -> None:
    import socket

    env = stack_env(tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["ARF_DEV_MONGO_PORT"])))
        taken.listen()
        result = subprocess.run([sys.executable, "-m", "devstack", "up"], env=env, capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 1
    assert f"port {env['ARF_DEV_MONGO_PORT']} (MongoDB (ARF_DEV_MONGO_PORT)) is already in use" in result.stdout


def test_a_service_killed_with_sigkill_is_restarted_and_ready_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = stack_env(data_dir)
    stack = Stack(env, tmp_path / "stack.log")
    stack.start()
    try:
        stack.wait_for("Press Ctrl-C to stop", timeout_s=120)
        killed = json.loads((data_dir / "pids.json").read_text())["dunning"]
        os.killpg(killed, signal.SIGKILL)
        stack.wait_for(r"supervisor: dunning exited with code -9; restarting in 1 s", timeout_s=10)
        stack.wait_for(r"supervisor: dunning restarted \(pid \d+, restart #1\)", timeout_s=10)
        dunning = f"http://localhost:{env['ARF_DEV_DUNNING_PORT']}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{dunning}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        else:
            raise AssertionError(f"dunning not ready again within 60 s:\n{stack.output()}")
        assert json.loads((data_dir / "pids.json").read_text())["dunning"] != killed
    finally:
        code = stack.interrupt()
    assert code == 0, stack.output()
    assert "stopped every process" in stack.output()
