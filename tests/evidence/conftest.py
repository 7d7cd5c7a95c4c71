"""A recorded evidence folder built once per module from the real clip, copied for tests that tamper."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evidence.recorder import EvidenceRecorder
from tests.evidence.builders import feed, make_event, make_site

ENTRY_FRAMES = (60, 70, 80)  # three violations by the same walker, so the chain has three links


def record_events(
    root: Path, entry_frames: tuple[int, ...] = ENTRY_FRAMES, offset: int = 0, **evidence: object
) -> EvidenceRecorder:
    """Run the whole clip through a recorder with one violation per entry frame; returns it closed.
    ``offset`` plays the clip as if later in the run, giving new event ids."""
    recorder = EvidenceRecorder.from_config(
        make_site(root, **evidence), "yolo11n_int8_320", "c0ffee", keep_every_frame=True
    )
    events = {f + 6: make_event(f, offset=offset) for f in entry_frames}
    feed(recorder, range(0, 143), events, offset=offset)
    assert recorder.close(60.0)
    return recorder


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EvidenceRecorder]:
    root = tmp_path_factory.mktemp("evidence") / "root"
    return root, record_events(root)


@pytest.fixture
def recorded_copy(recorded: tuple[Path, EvidenceRecorder], tmp_path: Path) -> Path:
    """A private copy of the recorded folder (index, key and all) that a test may damage."""
    root = tmp_path / "root"
    shutil.copytree(recorded[0], root)
    return root
