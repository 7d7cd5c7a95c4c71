"""Builders and references shared by the detection and model-tooling tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, require_shared

# Person boxes on bus.jpg and zidane.jpg as validated by hand for each shared model (SOURCES.md).
BUS_PEOPLE = {
    "yolo11n_int8_320.onnx": [[50, 390, 245, 906], [219, 400, 345, 853], [670, 388, 809, 874], [0, 576, 79, 868]],
    "yolov8n_int8_640.onnx": [[50, 398, 244, 903], [221, 408, 343, 856], [672, 372, 810, 879], [0, 562, 56, 868]],
    "yolox_nano_416.onnx": [[50, 394, 214, 898], [219, 403, 347, 855], [686, 451, 810, 874], [0, 560, 82, 882]],
    # FastestDet misses the right-edge person at 0.5; its edge box starts at x=-24 before clipping.
    "fastestdet_352.onnx": [[44, 383, 215, 903], [212, 402, 335, 872], [0, 560, 65, 852]],
}
ZIDANE_PEOPLE = {
    "yolo11n_int8_320.onnx": [[119, 202, 1097, 712], [746, 44, 1147, 708]],
    "yolov8n_int8_640.onnx": [[109, 197, 1113, 711], [751, 45, 1126, 708]],
    "yolox_nano_416.onnx": [[150, 201, 681, 713], [712, 39, 1152, 707]],
    "fastestdet_352.onnx": [[637, 39, 1141, 737], [150, 211, 691, 758]],
}
CONFIDENCE = {"fastestdet_352.onnx": 0.5}  # the others were validated at 0.25
FAMILY = {
    "yolo11n_int8_320.onnx": "yolov8",
    "yolov8n_int8_640.onnx": "yolov8",
    "yolox_nano_416.onnx": "yolox",
    "fastestdet_352.onnx": "fastestdet",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_ultralytics() -> None:
    """Skip without the ultralytics extra; under CI its absence is a failure (setup installs it)."""
    os.environ.setdefault("YOLO_CONFIG_DIR", str(REPO / ".pytest_cache" / "ultralytics"))
    try:
        import ultralytics  # noqa: F401
    except ImportError as exc:
        message = f"ultralytics extra not installed ({exc}); pip install -e '.[ultralytics]'"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def model_path(name: str) -> Path:
    return require_shared(f"models/{name}")


def image(name: str) -> np.ndarray:
    import cv2

    picture = cv2.imread(str(require_shared(f"images/{name}")))
    assert picture is not None
    return picture


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def best_iou(box: list[float], boxes: np.ndarray) -> float:
    reference = np.asarray(box, np.float64)
    return max((iou(reference, b.astype(np.float64)) for b in boxes), default=0.0)


def tiny_onnx(path: Path, output_shape: list[int], input_size: int = 64) -> Path:
    """A valid ONNX graph whose single output has ``output_shape`` (a head no family has)."""
    import onnx
    from onnx import TensorProto, helper

    numel = int(np.prod(output_shape))
    graph = helper.make_graph(
        nodes=[
            helper.make_node("Flatten", ["images"], ["flat"], axis=0),
            helper.make_node("Slice", ["flat", "starts", "ends", "axes"], ["cut"]),
            helper.make_node("Reshape", ["cut", "shape"], ["output0"]),
        ],
        name="unknown_head",
        inputs=[helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, input_size, input_size])],
        outputs=[helper.make_tensor_value_info("output0", TensorProto.FLOAT, output_shape)],
        initializer=[
            helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
            helper.make_tensor("ends", TensorProto.INT64, [1], [numel]),
            helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
            helper.make_tensor("shape", TensorProto.INT64, [len(output_shape)], output_shape),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``crossguard ARGS`` as a real subprocess from the repository root."""
    env = {**os.environ, "YOLO_CONFIG_DIR": str(REPO / ".pytest_cache" / "ultralytics")}
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
