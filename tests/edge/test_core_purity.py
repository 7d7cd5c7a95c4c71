"""The decision core imports no I/O, threading, clock or drawing packages."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

CORE_FILES = [
    "edge/zones.py", "edge/rules.py", "edge/prewarn.py", "edge/ped_call.py", "edge/events.py", "edge/signal/types.py",
    "edge/signal/timeline.py",
]
FORBIDDEN = {
    "cv2",
    "paho",
    "fastapi",
    "uvicorn",
    "sqlite3",
    "sqlite_utils",
    "threading",
    "socket",
    "onnxruntime",
    "requests",
    "httpx",
    "asyncio",
    "subprocess",
    "time",
    "datetime",
    "os",
    "pathlib",
    "io",
    "logging",
}
CLOCK_CALLS = {"time", "monotonic", "perf_counter", "now", "utcnow", "today"}


@pytest.mark.parametrize("path", CORE_FILES)
def test_core_module_is_pure(path: str) -> None:
    tree = ast.parse((REPO / path).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path}:{node.lineno} reads a clock"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{path}:{node.lineno} opens a file"
    assert not imported & FORBIDDEN, f"{path} imports {sorted(imported & FORBIDDEN)}"
