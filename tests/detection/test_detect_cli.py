"""``crossguard detect`` as a real subprocess on the shared pictures."""

from __future__ import annotations

import json

import cv2

from tests.conftest import REPO
from tests.detection.helpers import model_path, require_shared, run_cli, tiny_onnx


def test_prints_the_four_bus_people() -> None:
    bus = require_shared("images/bus.jpg")
    result = run_cli("detect", str(bus), "--model", str(model_path("yolox_nano_416.onnx")), "--conf", "0.25")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "4 detection(s) by yolox_nano_416.onnx@e8af074932d4" in lines[0]
    assert sum(line.strip().startswith("person") for line in lines[1:]) == 4


def test_json_and_annotated_picture(tmp_path) -> None:
    zidane = require_shared("images/zidane.jpg")
    out = tmp_path / "zidane_boxes.jpg"
    result = run_cli(
        "detect", str(zidane), "--model", str(model_path("yolo11n_int8_320.onnx")),
        "--classes", "person,tie", "--conf", "0.25", "--save", str(out), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    people = [d for d in report["detections"] if d["class_name"] == "person"]
    assert len(people) == 2 and report["model_id"].startswith("yolo11n_int8_320.onnx@")
    drawn, original = cv2.imread(str(out)), cv2.imread(str(zidane))
    assert drawn.shape == original.shape and (drawn != original).any()


def test_uses_the_site_detector_section(tmp_path) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    site = yaml.load((REPO / "sites" / "demo" / "site.yaml").read_text())
    site["detector"]["model"] = str(model_path("fastestdet_352.onnx"))
    site["detector"]["confidence"] = 0.5
    site_file = tmp_path / "site.yaml"
    with site_file.open("w") as f:
        yaml.dump(site, f)
    result = run_cli("detect", str(require_shared("images/bus.jpg")), "--site", str(site_file))
    assert result.returncode == 0, result.stderr
    assert "by fastestdet_352.onnx@31cb14c017fc" in result.stdout
    assert sum(line.strip().startswith("person") for line in result.stdout.splitlines()) == 3


def test_bad_inputs_exit_2_with_one_line(tmp_path) -> None:
    bus = str(require_shared("images/bus.jpg"))
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_text("hello")
    cases = [
        (("detect", str(tmp_path / "absent.jpg")), "cannot read the image"),
        (("detect", str(not_onnx)), "not a picture OpenCV can decode"),
        (("detect", bus, "--model", str(tmp_path / "absent.onnx")), "model file not found"),
        (("detect", bus, "--model", str(not_onnx)), "not a loadable ONNX model"),
        (("detect", bus, "--model", str(tiny_onnx(tmp_path / "odd.onnx", [1, 7]))), "fit no known detection head"),
        (("detect", bus, "--classes", "unicorn"), "'unicorn' is not a COCO class name"),
        (("detect", bus, "--conf", "2"), "detector.confidence: Input should be less than or equal to 1"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
