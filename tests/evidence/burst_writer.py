"""A recorder process for the crash test: plays the clip again and again, eight violations per pass,
more than the writer can keep up with, so it is always in the middle of writing an event.

    python -m tests.evidence.burst_writer ROOT PASSES

Prints ``committed <seq> <event id>`` as each event's evidence is committed, so the test knows
when the writer is in the middle of a burst before it kills this process with SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path

from evidence.recorder import EvidenceRecorder
from evidence.types import EvidenceRecord
from tests.evidence.builders import feed, make_event, make_site

CLIP_FRAMES = 143
ENTRY_FRAMES = (50, 55, 60, 65, 70, 75, 80, 85)


def _announce(record: EvidenceRecord) -> None:
    print(f"committed {record.sequence} {record.event_id}", flush=True)


def main(root: Path, passes: int) -> None:
    recorder = EvidenceRecorder.from_config(
        make_site(root, queue_size=64), "yolo11n_int8_320", "c0ffee", keep_every_frame=True
    )
    recorder.add_listener(_announce)
    print("started", flush=True)
    for k in range(passes):
        offset = k * CLIP_FRAMES
        events = {f + 6: make_event(f, offset=offset) for f in ENTRY_FRAMES}
        feed(recorder, range(CLIP_FRAMES), events, offset=offset, pace_s=0.01)
    recorder.close(300.0)
    print("done", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
