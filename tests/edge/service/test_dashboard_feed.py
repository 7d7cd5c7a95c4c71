"""The live service hands the web dashboard each crosswalk's signal and the journal today's counts come from."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

from edge.config import load_site
from edge.service import RunLimits, Service
from edge.web.dashboard import JournalReader, build_dashboard, local_day
from tests.edge.service.sites import write_site
from tests.edge.service.test_run import journal


def test_dashboard_from_a_running_service(tmp_path, recorded_detector) -> None:  # type: ignore[no-untyped-def]
    site_path = write_site(
        tmp_path,
        timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",
        service={"capture": {"realtime": False}},
        evidence={"enabled": False},
    )
    service = Service(load_site(site_path), site_path, detector=recorded_detector)
    service.start()
    try:
        service.run(RunLimits(max_frames=143))  # the clip once
        context = service.web_context()
        live = context.live()  # type: ignore[misc]
        board = build_dashboard(
            service.site, context.status_dict(), live, JournalReader(context.journal_dir), time.time()
        )
    finally:
        service.stop()

    signal = live.signals["ped-main"]
    assert signal.state == "DONT_WALK" and signal.since_utc is not None
    assert [(s.name, s.health) for s in signal.sources] == [("timeline:timeline.csv", "ok")]
    assert live.inference_ms is not None and live.inference_ms > 0
    assert live.outbox_depth is None and live.storage is not None and live.storage.free_bytes > 0

    zone = ZoneInfo(service.site.site.timezone)
    today = [e for e in journal(tmp_path / "state") if local_day(e["entry_utc"], zone) == board.day]
    (card,) = board.crosswalks
    assert card.crosswalk_id == "cw-main" and card.signal == signal
    assert card.today.crossings == sum(e["type"] == "crossing" for e in today) > 0
    assert card.today.violations == sum(e["type"] == "violation" for e in today) > 0
    assert board.box is not None and board.box.camera_state and board.box.fps is not None
