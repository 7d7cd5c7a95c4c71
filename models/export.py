"""Exporting an Ultralytics model (``.pt`` checkpoint or ``.yaml`` definition) for the box.

Needs the ``ultralytics`` extra. The export runs in a scratch folder beside the output, so the
source folder (possibly read-only) and the working directory are never written to, and only the
finished file or folder is moved into place.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from detection.backends.ultralytics import import_yolo

# Formats the box's back-ends or the usual edge accelerators can use; Ultralytics knows more.
EXPORT_FORMATS = ("onnx", "openvino", "torchscript", "ncnn", "tflite")


class ExportError(RuntimeError):
    """An export that could not run; one line naming the weights and the problem."""


@dataclass(frozen=True)
class ExportOptions:
    format: str = "onnx"
    imgsz: int = 640
    opset: int | None = None
    simplify: bool = False  # onnxslim pass; off by default so export needs only onnx
    half: bool = False
    int8: bool = False


def export_model(weights: str | Path, out_dir: Path, options: ExportOptions | None = None) -> Path:
    """Export ``weights`` into ``out_dir``; return the exported file (or folder, for OpenVINO/NCNN)."""
    options = options or ExportOptions()
    if options.format not in EXPORT_FORMATS:
        raise ExportError(f"format '{options.format}' is not one of {', '.join(EXPORT_FORMATS)}")
    yolo = import_yolo("model export")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as scratch:
        staged = _stage_checkpoint(yolo, weights, Path(scratch))
        try:
            produced = yolo(str(staged)).export(
                format=options.format,
                imgsz=options.imgsz,
                opset=options.opset,
                simplify=options.simplify,
                half=options.half,
                int8=options.int8,
                device="cpu",
                verbose=False,
            )
        except Exception as exc:  # Ultralytics raises many types; the user needs one line
            raise ExportError(f"{weights}: export to {options.format} failed ({_first_line(exc)})") from None
        produced_path = Path(produced)
        target = out_dir / produced_path.name
        if target.is_dir():
            shutil.rmtree(target)
        shutil.move(str(produced_path), target)
    return target


def _stage_checkpoint(yolo: type, weights: str | Path, scratch: Path) -> Path:
    """A ``.pt`` inside ``scratch`` so that Ultralytics writes its export there.

    A ``.yaml`` (a path, or a name Ultralytics ships such as ``yolov8n.yaml``) builds an untrained
    model: useful to check the export path and the box's loader without any weights.
    """
    name = Path(str(weights)).name
    source = Path(weights)
    if name.endswith((".yaml", ".yml")):
        try:
            model = yolo(str(weights))
        except Exception as exc:
            raise ExportError(f"{weights}: not a model definition Ultralytics can build ({_first_line(exc)})") from None
        staged = scratch / (Path(name).stem + ".pt")
        model.save(staged)
        return staged
    if not source.is_file():
        raise ExportError(f"{weights}: weights file not found")
    if source.suffix != ".pt":
        raise ExportError(f"{weights}: export needs a .pt checkpoint or a .yaml definition")
    staged = scratch / source.name
    shutil.copyfile(source, staged)
    return staged


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
