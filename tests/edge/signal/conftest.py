"""A real mosquitto broker on a free loopback port, started per test module."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{port} within {timeout_s} s")


def start_mosquitto(port: int, folder: Path, password_file: Path | None = None) -> subprocess.Popen:
    """Start mosquitto on 127.0.0.1:``port`` and wait until it accepts connections."""
    conf = folder / f"mosquitto-{port}.conf"
    access = f"allow_anonymous false\npassword_file {password_file}\n" if password_file else "allow_anonymous true\n"
    # Started as root, mosquitto drops to its own user, which cannot read files in pytest's private temp dirs.
    user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"{user}listener {port} 127.0.0.1\n{access}persistence false\n")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, process)
    except RuntimeError:
        stop_mosquitto(process)
        raise
    return process


def stop_mosquitto(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def require_mosquitto() -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (scripts/setup-test-env.sh installs it)")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    require_mosquitto()
    port = free_port()
    process = start_mosquitto(port, tmp_path_factory.mktemp("mosquitto"))
    try:
        yield Broker("127.0.0.1", port)
    finally:
        stop_mosquitto(process)
