"""Zones saved in the web UI reach the running pipeline between frames; other sections wait for a restart."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from detection.types import Detections
from edge.pipeline import Frame, Pipeline
from edge.service import Service
from edge.signal.hub import SignalHub
from tests.builders import make_site


class Nobody:
    """A detector for a picture with no one in it (the test is about zones, not detection)."""

    key = "nobody"
    model_id = "none"

    def detect(self, image: np.ndarray) -> Detections:
        return Detections.empty()


def test_new_zones_are_used_from_the_next_frame() -> None:
    pipeline = Pipeline(make_site(), Nobody(), SignalHub([]))  # type: ignore[arg-type]
    image = np.zeros((100, 100, 3), np.uint8)
    pipeline.process(Frame(0, 0.0, 0.0, image))
    moved = make_site(crosswalks__0__polygon=[[0.1, 0.1], [0.3, 0.1], [0.3, 0.3], [0.1, 0.3]])
    pipeline.apply_zones(moved)
    assert pipeline.core is not None and pipeline.core.site.crosswalks[0].polygon != moved.crosswalks[0].polygon
    pipeline.process(Frame(1, 0.1, 0.1, image))
    assert pipeline.core.site.crosswalks[0].polygon == moved.crosswalks[0].polygon


def test_service_applies_zone_changes_and_refuses_other_sections() -> None:
    applied: list[object] = []
    service = SimpleNamespace(site=make_site(), units=[SimpleNamespace(id="cam1", apply_zones=applied.append)])
    zones = make_site(crosswalks__0__rules__grace_s=2.5)
    Service.apply_site(service, zones)  # type: ignore[arg-type]
    assert applied == [zones] and service.site is zones
    other = make_site(crosswalks__0__rules__grace_s=2.5, detector__confidence=0.5)
    with pytest.raises(RuntimeError, match="saved, but detector only change on restart"):
        Service.apply_site(service, other)  # type: ignore[arg-type]
    assert applied == [zones]
