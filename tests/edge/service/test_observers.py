"""Output adapters on real frame results: the UI snapshot and the event journal's daily files."""

from __future__ import annotations

import dataclasses
import itertools
import json

import cv2
import numpy as np

from edge.config import load_site
from edge.observers import EventJournal, SnapshotObserver
from edge.pipeline import Frame, Pipeline
from edge.signal.hub import SignalHub
from edge.signal.sources import build_source
from edge.video import VideoFile
from tests.conftest import require_shared
from tests.edge.service.sites import CLIP, write_site


def results(site, detector, count: int):  # type: ignore[no-untyped-def]
    pipeline = Pipeline(site, detector, SignalHub([build_source(c) for c in site.signal.sources]))
    video = VideoFile(require_shared(CLIP))
    return [pipeline.process(frame) for frame in itertools.islice(video, count)]


def test_snapshot_is_the_latest_frame_as_jpeg_with_and_without_drawing(tmp_path, recorded_detector) -> None:
    site = load_site(write_site(tmp_path))
    snapshot = SnapshotObserver(site)
    assert snapshot.jpeg() is None
    frames = results(site, recorded_detector, 3)
    for result in frames:
        snapshot.on_frame(result)
    raw = cv2.imdecode(np.frombuffer(snapshot.jpeg(annotated=False), np.uint8), cv2.IMREAD_COLOR)
    drawn = cv2.imdecode(np.frombuffer(snapshot.jpeg(annotated=True), np.uint8), cv2.IMREAD_COLOR)
    assert raw.shape == drawn.shape == frames[-1].frame.image.shape
    assert np.abs(raw.astype(int) - frames[-1].frame.image).mean() < 4  # JPEG of the same picture
    assert np.abs(drawn.astype(int) - raw).mean() > 0.5  # zones and boxes were drawn


def test_journal_writes_one_file_per_utc_day_and_keeps_only_the_newest(tmp_path, recorded_detector) -> None:
    site = load_site(write_site(tmp_path))
    with_events = [r for r in results(site, recorded_detector, 20) if r.events]
    assert with_events
    journal = EventJournal(tmp_path / "events", keep_days=2)
    day = 86400.0
    for n in range(3):  # the same events on three consecutive days
        for result in with_events:
            moved = Frame(result.frame.index, result.frame.t, 1_700_000_000 + n * day, result.frame.image)
            journal.on_frame(dataclasses.replace(result, frame=moved))
    journal.close()
    files = sorted((tmp_path / "events").glob("events-*.jsonl"))
    assert [f.name for f in files] == ["events-2023-11-15.jsonl", "events-2023-11-16.jsonl"]
    lines = [json.loads(line) for line in files[-1].read_text().splitlines()]
    assert len(lines) == sum(len(r.events) for r in with_events)
