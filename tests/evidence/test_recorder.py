"""Capture on the real clip: the pictures, the close-up, the composite sheet, the clip, the manifest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from evidence import signing
from evidence.index import EvidenceIndex
from evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME, sha256_hex
from evidence.recorder import EvidenceRecorder, EvidenceUnavailable
from evidence.sheet import VIOLATOR_BGR
from evidence.storage import INDEX_FILE, STAGING_DIR
from evidence.types import FileKind, ReviewState
from tests.evidence.builders import BYSTANDER, VIOLATOR, box_at, feed, make_event, make_site, tracks_at
from tests.evidence.conftest import ENTRY_FRAMES, record_events


def _manifest(root: Path, folder: str) -> dict:
    return json.loads((root / folder / MANIFEST_NAME).read_bytes())


def _red_fraction(sheet: np.ndarray, box: list[int]) -> float:
    """Share of the box's outline pixels that are the violator red."""
    x1, y1, x2, y2 = box
    edge = np.concatenate([sheet[y1, x1:x2], sheet[y2, x1:x2], sheet[y1:y2, x1], sheet[y1:y2, x2]])
    red = (edge[:, 2] > 180) & (edge[:, 1] < 80) & (edge[:, 0] < 80)
    return float(red.mean())


def test_every_violation_is_committed_with_all_its_files(recorded: tuple[Path, EvidenceRecorder]) -> None:
    root, recorder = recorded
    records = recorder.records()
    assert [r.sequence for r in records] == [1, 2, 3]
    assert [r.event_id for r in records] == [make_event(f).event_id for f in ENTRY_FRAMES]
    for record in records:
        kinds = sorted(f.kind.value for f in record.files)
        assert kinds == sorted(["original"] * 3 + ["closeup", "sheet", "clip", "manifest", "signature"])
        for f in record.files:
            data = (root / record.folder / f.relpath).read_bytes()
            assert len(data) == f.size and sha256_hex(data) == f.sha256
        assert record.folder.startswith("2025/11/23/")
    assert not list((root / STAGING_DIR).iterdir())
    assert recorder.storage_status().alarm is False


def test_pictures_are_curb_entry_and_inside(recorded: tuple[Path, EvidenceRecorder]) -> None:
    root, recorder = recorded
    record = recorder.records()[1]  # entry at frame 70
    pictures = _manifest(root, record.folder)["pictures"]
    assert [p["name"] for p in pictures] == ["1_curb", "2_entry", "3_inside"]
    assert [p["frame_index"] for p in pictures] == [69, 70, 87]  # 1.5 s after entry at 11.03 fps
    for p in pictures:
        original = cv2.imread(str(root / record.folder / p["path"]))
        assert original.shape == (352, 640, 3)
        assert p["violator_box"] == pytest.approx(list(box_at(VIOLATOR, p["frame_index"])), abs=0.11)


def test_composite_sheet_size_and_violator_outlined_in_each_picture(
    recorded: tuple[Path, EvidenceRecorder],
) -> None:
    root, recorder = recorded
    record = recorder.records()[1]
    manifest = _manifest(root, record.folder)
    sheet = cv2.imread(str(root / record.folder / "sheet.jpg"))
    assert sheet is not None
    assert (sheet.shape[1], sheet.shape[0]) == (manifest["sheet"]["width"], manifest["sheet"]["height"])
    assert sheet.shape[1] == 2 * 640 and sheet.shape[0] > 2 * 352  # 2x2 pictures above the information strip
    panels = manifest["sheet"]["panels"]
    assert [p["name"] for p in panels] == ["1_curb", "2_entry", "3_inside", "closeup"]
    for panel in panels:
        x, y, w, h = panel["rect"]
        x1, y1, x2, y2 = panel["violator_box"]
        assert x <= x1 < x2 < x + w and y <= y1 < y2 < y + h, f"{panel['name']}: violator box outside its picture"
        assert _red_fraction(sheet, panel["violator_box"]) > 0.6, f"{panel['name']}: violator not outlined in red"
    # The outline sits where the hand-picked box is on the clean frame, shifted by the picture's origin.
    for panel, picture in zip(panels[:3], manifest["pictures"], strict=True):
        bx1, by1, _, _ = box_at(VIOLATOR, picture["frame_index"])
        assert abs(panel["violator_box"][0] - (panel["rect"][0] + bx1)) <= 1
        assert abs(panel["violator_box"][1] - (panel["rect"][1] + by1)) <= 1
    assert VIOLATOR_BGR == (0, 0, 255)


def test_bystander_head_is_blurred_on_the_sheet_only(recorded: tuple[Path, EvidenceRecorder]) -> None:
    root, recorder = recorded
    record = recorder.records()[1]
    manifest = _manifest(root, record.folder)
    inside = manifest["pictures"][2]
    x1, y1, x2, y2 = (int(v) for v in box_at(BYSTANDER, inside["frame_index"]))
    head = (slice(y1 + 2, y1 + int((y2 - y1) * 0.25)), slice(x1 + 2, x2 - 2))
    original = cv2.imread(str(root / record.folder / inside["path"]))
    sheet = cv2.imread(str(root / record.folder / "sheet.jpg"))
    px, py = manifest["sheet"]["panels"][2]["rect"][:2]
    on_sheet = sheet[py : py + 352, px : px + 640]

    def sharpness(img: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())

    assert sharpness(on_sheet[head]) < 0.5 * sharpness(original[head])
    vx1, vy1, vx2, vy2 = (int(v) for v in box_at(VIOLATOR, inside["frame_index"]))
    body = (slice(vy1 + 3, vy2 - 3), slice(vx1 + 3, vx2 - 3))
    assert sharpness(on_sheet[body]) > 0.6 * sharpness(original[body])  # the violator stays sharp


def test_closeup_is_the_clear_view_nearest_the_entry(recorded: tuple[Path, EvidenceRecorder]) -> None:
    root, recorder = recorded
    manifest = _manifest(root, recorder.records()[1].folder)
    closeup = cv2.imread(str(root / recorder.records()[1].folder / "closeup.jpg"))
    frame = manifest["closeup"]["frame_index"]
    assert frame == ENTRY_FRAMES[1]  # the entry frame itself: nobody else's box touches hers there
    x1, y1, x2, y2 = box_at(VIOLATOR, frame)
    assert closeup.shape[0] >= (y2 - y1) and closeup.shape[1] >= (x2 - x1)


def test_clip_is_h264_mp4_covering_pre_and_post_roll(recorded: tuple[Path, EvidenceRecorder]) -> None:
    root, recorder = recorded
    record = recorder.records()[1]
    clip = _manifest(root, record.folder)["clip"]
    assert clip["codec"] == "h264" and clip["filename"] == "clip.mp4" and not clip["fallback_reason"]
    assert (clip["first_frame"], clip["last_frame"]) == (15, 125)  # 5 s before and after the entry at 70
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames,width,height",
            "-of",
            "json",
            str(root / record.folder / "clip.mp4"),
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == "h264" and (stream["width"], stream["height"]) == (640, 352)
    assert int(stream["nb_read_frames"]) == clip["frames"] == 111


def test_manifest_is_signed_chained_and_complete(recorded: tuple[Path, EvidenceRecorder]) -> None:
    root, recorder = recorded
    key = signing.load_public(root / "keys" / "device_ed25519.pub.pem")
    previous = "0" * 64
    for record in recorder.records():
        data = (root / record.folder / MANIFEST_NAME).read_bytes()
        assert signing.verify(key, (root / record.folder / SIGNATURE_NAME).read_bytes(), data)
        manifest = json.loads(data)
        assert manifest["previous_manifest_sha256"] == previous
        previous = sha256_hex(data)
        assert manifest["site"] == {
            "id": "site-a",
            "name": "Campus Drive crossing",
            "location": "Campus Dr & Library Walk",
            "timezone": "America/Chicago",
            "device_id": "edge-0042",
            "config_sha256": "c0ffee",
        }
        assert manifest["model"]["id"] == "yolo11n_int8_320"
        assert manifest["software"]["name"] == "crossguard" and manifest["software"]["version"]
        assert manifest["clock"]["source"] in ("chronyc", "adjtimex", "unknown")
        assert [c["state"] for c in manifest["signal_history"]] == ["WALK", "DONT_WALK"]
        assert manifest["signal_at_entry"]["p1"]["state"] == "DONT_WALK"
        assert (
            manifest["entry_time_local"].startswith("2025-11-23 06:13:")
            and "-06:00 (America/Chicago)" in (manifest["entry_time_local"])
        )
        assert manifest["partial"] is None
    assert (root / "keys" / "device_ed25519.pem").stat().st_mode & 0o777 == 0o600
    for record in recorder.records():  # evidence is not world-readable
        assert all((root / record.folder / f.relpath).stat().st_mode & 0o007 == 0 for f in record.files)


def test_index_rows_match_the_files(recorded: tuple[Path, EvidenceRecorder]) -> None:
    root, recorder = recorded
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        assert index.db.journal_mode == "wal"
        rows = index.events()
        assert [r.event_id for r in rows] == [r.event_id for r in recorder.records()]
        assert all(r.review_state is ReviewState.NEW for r in rows)
        for record in recorder.records():
            files = {f.relpath: (f.kind, f.size, f.sha256) for f in index.files(record.event_id)}
            assert files == {f.relpath: (f.kind, f.size, f.sha256) for f in record.files}
        assert [a["action"] for a in index.audit()] == ["committed"] * 3
    finally:
        index.close()


def test_flush_at_shutdown_writes_partial_post_roll(tmp_path: Path) -> None:
    recorder = EvidenceRecorder.from_config(make_site(tmp_path / "root"), "m", "h", keep_every_frame=True)
    seen = []
    recorder.add_listener(seen.append)
    feed(recorder, range(0, 80), {76: make_event(70)})  # the clip "ends" 0.9 s after the entry
    assert recorder.pending() == 1 and not seen
    assert recorder.close(60.0)
    assert len(seen) == 1
    manifest = _manifest(tmp_path / "root", seen[0].folder)
    assert manifest["partial"].startswith("post-roll cut short at shutdown")
    assert manifest["pictures"][2]["frame_index"] == 79  # the last frame that shows her


def test_opencv_mjpeg_fallback_is_recorded(tmp_path: Path) -> None:
    recorder = record_events(tmp_path / "root", (70,), clip_encoder="opencv_mjpeg")
    record = recorder.records()[0]
    clip = _manifest(tmp_path / "root", record.folder)["clip"]
    assert (clip["codec"], clip["container"], clip["filename"]) == ("mjpeg", "avi", "clip.avi")
    cap = cv2.VideoCapture(str(tmp_path / "root" / record.folder / "clip.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == clip["frames"]
    cap.release()


def test_auto_falls_back_when_ffmpeg_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg on PATH
    recorder = record_events(tmp_path / "root", (70,))
    clip = _manifest(tmp_path / "root", recorder.records()[0].folder)["clip"]
    assert clip["codec"] == "mjpeg" and clip["fallback_reason"] == "ffmpeg not found on PATH"
    assert {f.kind for f in recorder.records()[0].files} >= {FileKind.CLIP}


def test_ring_buffer_respects_its_memory_cap(tmp_path: Path) -> None:
    recorder = EvidenceRecorder.from_config(
        make_site(tmp_path / "root", ring_max_mb=1.0), "m", "h", keep_every_frame=True
    )
    feed(recorder, range(0, 60), {})
    assert recorder.ring.bytes_used <= 1024 * 1024
    assert 10 < len(recorder.ring) < 60  # the cap, not the 15 s span, limited the history
    recorder.close(10.0)


def test_disabled_recorder_does_nothing(tmp_path: Path) -> None:
    recorder = EvidenceRecorder.from_config(
        make_site(tmp_path / "root", enabled=False), "m", "h", keep_every_frame=True
    )
    feed(recorder, range(60, 80), {76: make_event(70)})
    assert recorder.close(1.0) and recorder.records() == [] and not (tmp_path / "root").exists()


def test_recording_the_same_event_again_keeps_the_first(recorded_copy: Path) -> None:
    """A deterministic replay run twice into one root gives the same event ids: nothing is overwritten."""
    again = record_events(recorded_copy, (70,))
    assert again.records() == [] and not again.storage_status().alarm and not again.storage_status().unwritten
    index = EvidenceIndex(recorded_copy / INDEX_FILE)
    try:
        assert len(index.events()) == 3
    finally:
        index.close()


def test_unusable_root_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(EvidenceUnavailable, match="file"):
        EvidenceRecorder.from_config(make_site(tmp_path / "file" / "root"), "m", "h", keep_every_frame=True)


def test_a_frame_that_is_not_an_image_does_not_stop_the_frame_path(tmp_path: Path) -> None:
    recorder = EvidenceRecorder.from_config(make_site(tmp_path / "root"), "m", "h", keep_every_frame=True)
    recorder.on_frame(0, 0.0, 0.0, None, tracks_at(0), {})  # type: ignore[arg-type]
    feed(recorder, range(1, 5), {})
    assert recorder.encoder is not None
    assert (recorder.encoder.stats.rejected, recorder.encoder.stats.encoded) == (1, 4)
    recorder.close(5.0)
