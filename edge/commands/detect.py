"""``crossguard detect IMAGE``: run the site's detector on one picture, print and optionally draw it."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from pydantic import ValidationError

from detection.base import DetectorError
from detection.coco import COCO_CLASSES, class_id_of, class_name
from detection.registry import build_detector
from detection.types import Detections
from edge.cli import CommandError
from edge.config import ConfigError, load_site
from edge.config.detector import DetectorConfig


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("detect", help="run the detector on one image")
    parser.add_argument("image", help="picture to run on (JPEG, PNG, ...)")
    parser.add_argument("--model", help="model file (default: the site's, else the default model)")
    parser.add_argument("--site", help="site YAML whose detector section to use")
    parser.add_argument("--backend", choices=["onnx", "ultralytics"], help="override detector.backend")
    parser.add_argument("--conf", type=float, help="minimum score (overrides detector.confidence)")
    parser.add_argument(
        "--classes", help="comma-separated COCO ids or names, or 'all' (default: the site's, i.e. person, "
        "with bicycle and motorcycle for telling riders)"
    )
    parser.add_argument("--save", metavar="OUT.jpg", help="write the picture with boxes drawn")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    image = _read_image(Path(args.image))
    cfg = _detector_config(args)
    try:
        detector = build_detector(cfg)
        started = time.perf_counter()
        detections = detector.detect(image)
        elapsed_ms = (time.perf_counter() - started) * 1e3
    except DetectorError as exc:
        raise CommandError(str(exc)) from None
    if args.save:
        _save_annotated(image, detections, Path(args.save))
    if args.json:
        print(json.dumps(_as_json(args.image, detector.model_id, detections, elapsed_ms)))
    else:
        _print_table(args.image, detector.model_id, detections, elapsed_ms)
    return 0


def _read_image(path: Path) -> np.ndarray:
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the image ({exc.strerror or exc})") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise CommandError(f"{path}: not a picture OpenCV can decode")
    return image


def _detector_config(args: argparse.Namespace) -> DetectorConfig:
    base = DetectorConfig()
    if args.site:
        try:
            base = load_site(args.site).detector
        except ConfigError as exc:
            raise CommandError(f"{args.site}: {len(exc.issues)} problem(s), first: {exc.issues[0]}") from None
    changes: dict[str, object] = {}
    if args.model:  # another model: the site's head family and input size no longer apply
        changes.update(model=Path(args.model), family="auto", input_size=None)
    if args.backend:
        changes["backend"] = args.backend
    if args.conf is not None:
        changes["confidence"] = args.conf
    if args.classes:  # exactly these: no vehicle classes added for telling riders
        changes["classes"] = _parse_classes(args.classes)
        changes["riders"] = {**base.riders.model_dump(), "enabled": False}
    try:
        return DetectorConfig.model_validate({**base.model_dump(), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise CommandError(f"detector.{key}: {first['msg']} (value: {first.get('input')!r})") from None


def _parse_classes(text: str) -> list[int]:
    if text.strip().lower() == "all":
        return list(range(len(COCO_CLASSES)))
    ids = []
    for part in text.split(","):
        part = part.strip()
        try:
            ids.append(int(part) if part.isdigit() else class_id_of(part))
        except ValueError as exc:
            raise CommandError(f"--classes: {exc}") from None
    return ids


def _rows(detections: Detections) -> list[dict[str, object]]:
    return [
        {
            "class_id": int(c),
            "class_name": class_name(int(c)),
            "score": round(float(s), 4),
            "box": [round(float(v), 1) for v in box],
        }
        for box, s, c in zip(detections.xyxy, detections.confidence, detections.class_id, strict=True)
    ]


def _as_json(image: str, model_id: str, detections: Detections, elapsed_ms: float) -> dict[str, object]:
    return {"image": image, "model_id": model_id, "ms": round(elapsed_ms, 1), "detections": _rows(detections)}


def _print_table(image: str, model_id: str, detections: Detections, elapsed_ms: float) -> None:
    print(f"{image}: {len(detections)} detection(s) by {model_id} in {elapsed_ms:.1f} ms")
    for row in _rows(detections):
        x1, y1, x2, y2 = (round(v) for v in row["box"])  # type: ignore[attr-defined]
        print(f"  {row['class_name']:<14} {row['score']:.3f}  [{x1}, {y1}, {x2}, {y2}]")


def _save_annotated(image: np.ndarray, detections: Detections, out: Path) -> None:
    canvas = image.copy()
    for box, score, cls in zip(detections.xyxy, detections.confidence, detections.class_id, strict=True):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        colour = (0, 200, 0) if cls == 0 else (0, 160, 255)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        label = f"{class_name(int(cls))} {score:.2f}"
        cv2.putText(canvas, label, (x1 + 2, max(y1 - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = cv2.imwrite(str(out), canvas)
    except cv2.error:
        written = False
    if not written:
        raise CommandError(f"{out}: cannot write the annotated picture (unknown extension or unwritable folder)")
