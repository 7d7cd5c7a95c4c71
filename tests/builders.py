"""Builders shared by tests: a minimal valid site, tracked detections from plain lists."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from detection.types import Detections
from edge.config.site import SiteConfig

# A 1000x1000 picture: crosswalk is the band 0.4 < y < 0.6, curbs above (a/"north") and below (b/"south").
MINIMAL_SITE: dict[str, Any] = {
    "site": {"id": "test-site", "name": "Test crossing", "device_id": "box-1", "timezone": "UTC"},
    "crosswalks": [
        {
            "id": "cw1",
            "signal_group": "p1",
            "polygon": [[0.2, 0.4], [0.8, 0.4], [0.8, 0.6], [0.2, 0.6]],
            "curbs": [
                {"name": "north", "polygon": [[0.2, 0.2], [0.8, 0.2], [0.8, 0.4], [0.2, 0.4]]},
                {"name": "south", "polygon": [[0.2, 0.6], [0.8, 0.6], [0.8, 0.8], [0.2, 0.8]]},
            ],
            "rules": {"grace_s": 1.0, "inertia_frames": 3, "min_penetration": 0.5},
        }
    ],
}


def site_dict(**overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL_SITE)
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[last] = value
    return data


def make_site(**overrides: Any) -> SiteConfig:
    """``make_site(crosswalks__0__rules__grace_s=2.0)`` sets nested keys by ``__`` path."""
    return SiteConfig.model_validate(site_dict(**overrides))


def person_at(track_id: int, foot_x: float, foot_y: float, height: float = 100.0, score: float = 0.9) -> list[float]:
    """A row [x1, y1, x2, y2, score, id] for a person whose feet stand at (foot_x, foot_y) pixels."""
    return [foot_x - 20, foot_y - height, foot_x + 20, foot_y, score, track_id]


def tracks(*rows: list[float]) -> Detections:
    if not rows:
        return Detections.empty().with_tracker_ids([])  # type: ignore[arg-type]
    return Detections.from_lists(
        [r[:4] for r in rows], [r[4] for r in rows], [0] * len(rows), [int(r[5]) for r in rows]
    )


def demo_site_file(directory: Path) -> Path:
    """The demo site with its shared model and clip found wherever the shared data lives."""
    from tests.conftest import REPO, require_shared

    demo = REPO / "sites" / "demo"
    text = (demo / "site.yaml").read_text()
    for relative in ("models/yolov8n_int8_640.onnx", "video/crosswalk_elevated_fixed.mp4"):
        text = text.replace(f"../../../shared/data/{relative}", str(require_shared(relative)))
    text = text.replace("path: timeline.csv", f"path: {demo / 'timeline.csv'}")
    path = directory / "demo-site.yaml"
    path.write_text(text)
    return path
