"""ONNX Runtime back-end: the box's default detector.

Opens the model, reads its family from the output layout (or takes it from the config), and runs
pre-processing → inference → decoding each frame with buffers allocated once at start-up.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detection.base import Detector, DetectorError
from detection.heads import HEADS, Head, HeadSettings, ModelIO
from detection.registry import register
from detection.types import Detections
from edge.config.detector import DetectorConfig
from edge.digest import sha256_file


@dataclass(frozen=True)
class StageTimes:
    """Milliseconds spent in each stage of the last ``detect`` call."""

    pre_ms: float = 0.0
    infer_ms: float = 0.0
    post_ms: float = 0.0


def file_model_id(path: Path) -> str:
    """``name@`` + the first 12 hex digits of the file's SHA-256: which exact weights ran."""
    return f"{path.name}@{sha256_file(path)[:12]}"


def _dims(shape: list[object]) -> tuple[int | None, ...]:
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)


def open_session(path: Path, threads: int, spin_wait: bool = False) -> ort.InferenceSession:
    """An ONNX Runtime CPU session; a missing or non-ONNX file raises a one-line DetectorError.

    ``spin_wait`` off: the intra-op threads sleep between operators instead of busy-waiting, so
    they leave the cores to the capture, evidence and web threads they share the box with.
    """
    if not path.is_file():
        raise DetectorError(f"{path}: model file not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if not spin_wait:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # keep ORT's own warnings out of the service log
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own pybind error types for bad files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorError(f"{path}: not a loadable ONNX model ({reason[:200]})") from None


def describe(session: ort.InferenceSession) -> ModelIO:
    inputs = session.get_inputs()
    return ModelIO(
        input_shape=_dims(inputs[0].shape) if inputs else (),
        output_shapes=tuple(_dims(o.shape) for o in session.get_outputs()),
        metadata=dict(session.get_modelmeta().custom_metadata_map),
    )


def resolve_input_size(io: ModelIO, wanted: int | None, path: Path) -> int:
    """The square input size: fixed by the graph, or taken from config/metadata when dynamic."""
    if len(io.input_shape) != 4 or io.input_shape[1] not in (None, 3):
        raise DetectorError(f"{path}: expects input {list(io.input_shape)}, not one 3-channel picture")
    h, w = io.input_shape[2], io.input_shape[3]
    if h is not None and w is not None:
        if h != w:
            raise DetectorError(f"{path}: input {w}x{h} is not square; export it square")
        if wanted is not None and wanted != h:
            raise DetectorError(f"{path}: model input is fixed at {h}x{h}; detector.input_size {wanted} does not fit")
        return h
    if wanted is not None:
        return wanted
    size = _metadata_size(io)
    if size is None:
        raise DetectorError(f"{path}: model input size is dynamic; set detector.input_size")
    return size


def _metadata_size(io: ModelIO) -> int | None:
    """Ultralytics exports record ``imgsz`` as e.g. ``[640, 640]``."""
    try:
        value = ast.literal_eval(io.metadata.get("imgsz", ""))
    except (ValueError, SyntaxError):
        return None
    sizes = value if isinstance(value, list) else [value]
    return sizes[0] if sizes and all(isinstance(s, int) and s == sizes[0] for s in sizes) else None


def choose_head(io: ModelIO, family: str, size: int, path: Path) -> type[Head]:
    if family != "auto":
        head = HEADS[family]
        if not head.fits(io, size):
            raise DetectorError(f"{path}: outputs {io.describe_outputs()} do not fit the {family} head")
        return head
    fitting = [h for h in HEADS.values() if h.fits(io, size)]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        known = ", ".join(HEADS)
        raise DetectorError(
            f"{path}: outputs {io.describe_outputs()} fit no known detection head ({known}) at input {size}"
        )
    names = ", ".join(h.family for h in fitting)
    raise DetectorError(f"{path}: outputs fit several heads ({names}); set detector.family")


@register("onnx")
class OnnxDetector(Detector):
    """Runs a YOLOv8/YOLO11, YOLOX or FastestDet ONNX model on the CPU."""

    key = "onnx"

    def __init__(self, cfg: DetectorConfig) -> None:
        path = Path(cfg.model)
        self._session = open_session(path, cfg.threads, cfg.spin_wait)
        io = describe(self._session)
        if self._session.get_inputs()[0].type != "tensor(float)":
            raise DetectorError(f"{path}: input type {self._session.get_inputs()[0].type} is not float32")
        size = resolve_input_size(io, cfg.input_size, path)
        head_class = choose_head(io, cfg.family, size, path)
        self.head = head_class(HeadSettings(size, cfg.confidence, cfg.nms_iou, tuple(cfg.detected_classes())))
        self.family = head_class.family
        self.input_size = size
        self._model_id = file_model_id(path)
        self._binding, self._output = self._bind(io)
        self.last_times = StageTimes()

    def _bind(self, io: ModelIO) -> tuple[ort.IOBinding | None, np.ndarray | None]:
        """Bind the reused input tensor and, when its shape is fixed, a reused output array."""
        output_shape = io.output_shapes[0]
        if any(d is None for d in output_shape):
            return None, None
        output = np.empty(output_shape, np.float32)
        binding = self._session.io_binding()
        tensor = self.head.tensor
        binding.bind_input(
            self._session.get_inputs()[0].name, "cpu", 0, np.float32, list(tensor.shape), tensor.ctypes.data
        )
        binding.bind_output(
            self._session.get_outputs()[0].name, "cpu", 0, np.float32, list(output.shape), output.ctypes.data
        )
        return binding, output

    @property
    def model_id(self) -> str:
        return self._model_id

    def detect(self, image_bgr: np.ndarray) -> Detections:
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"detect() needs an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
        t0 = time.perf_counter()
        transform = self.head.preprocess(image_bgr)
        t1 = time.perf_counter()
        output = self._infer()
        t2 = time.perf_counter()
        detections = self.head.postprocess(output, transform)
        t3 = time.perf_counter()
        self.last_times = StageTimes((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)
        return detections

    def _infer(self) -> np.ndarray:
        if self._binding is not None and self._output is not None:
            self._session.run_with_iobinding(self._binding)
            return self._output
        name = self._session.get_inputs()[0].name
        return self._session.run(None, {name: self.head.tensor})[0]
