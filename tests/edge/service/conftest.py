from __future__ import annotations

from collections.abc import Callable

import pytest

from detection.registry import build_detector
from edge.config import load_site
from edge.video import VideoFile
from tests.conftest import require_shared
from tests.edge.service.sites import CLIP, MODEL, RecordedDetector, image_key, write_site


@pytest.fixture(scope="session")
def record(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], RecordedDetector]:
    """The real ONNX model run once per session over the whole clip, replayed to in-process tests."""
    cache: dict[str, RecordedDetector] = {}

    def recorded(model: str) -> RecordedDetector:
        if model not in cache:
            folder = tmp_path_factory.mktemp("recorded")
            site = load_site(write_site(folder, detector={"model": str(require_shared(model))}))
            detector = build_detector(site.detector)
            video = VideoFile(require_shared(CLIP))
            detections = {image_key(frame.image): detector.detect(frame.image) for frame in video}
            cache[model] = RecordedDetector(detections, detector.model_id)
        return cache[model]

    return recorded


@pytest.fixture(scope="session")
def recorded_detector(record: Callable[[str], RecordedDetector]) -> RecordedDetector:
    return record(MODEL)
