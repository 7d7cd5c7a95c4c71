"""Site files for service tests: the demo site, pointed at shared data, with a few keys changed."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml import YAML

from detection.base import Detector
from detection.types import Detections
from tests.conftest import REPO, require_shared

DEMO = REPO / "sites" / "demo"
CLIP = "video/crosswalk_elevated_fixed.mp4"
MODEL = "models/yolo11n_int8_320.onnx"  # the light model keeps the suite within its time


def write_site(folder: Path, timeline: str | None = None, **sections: dict[str, Any]) -> Path:
    """``sites/demo/site.yaml`` with the shared clip and model, ``timeline`` CSV text, and overrides."""
    yaml = YAML(typ="safe")
    data = yaml.load((DEMO / "site.yaml").read_text(encoding="utf-8"))
    data["camera"]["source"] = str(require_shared(CLIP))
    data["detector"].update(model=str(require_shared(MODEL)), threads=1)
    timeline_path = DEMO / "timeline.csv"
    if timeline is not None:
        timeline_path = folder / "timeline.csv"
        timeline_path.write_text(timeline, encoding="utf-8")
    data["signal"]["sources"][0]["path"] = str(timeline_path)
    data["service"] = {"data_dir": str(folder / "state"), "status_interval_s": 1, "http": {"port": 0}}
    data["web"] = {"port": 0}  # the UI's own server, on any free port
    data["evidence"] = {"root": str(folder / "evidence")}  # inside the test's folder, not /var/lib
    for name, values in sections.items():
        target = data.setdefault(name, {})
        for key, value in values.items():
            if isinstance(value, dict):
                target.setdefault(key, {}).update(value)
            else:
                target[key] = value
    path = folder / "site.yaml"
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    return path


def start_service(site: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``crossguard run --site SITE ...`` as a child process, stderr (the log) captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", "--site", str(site), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def stop_service(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def image_key(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image[::8, ::8]).tobytes()).hexdigest()


class RecordedDetector(Detector):
    """Gives back what the real model found on the same picture (recorded once per test session)."""

    key = "recorded"

    def __init__(self, recorded: dict[str, Detections], model_id: str) -> None:
        self.recorded = recorded
        self._model_id = model_id
        self.calls = 0

    def detect(self, image_bgr: np.ndarray) -> Detections:
        self.calls += 1
        return self.recorded[image_key(image_bgr)]

    @property
    def model_id(self) -> str:
        return self._model_id
