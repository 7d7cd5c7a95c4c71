"""The live service uploads its violations' evidence to a running centre as it records them."""

from __future__ import annotations

from edge.mqtt.store import SqliteEventStore
from evidence.index import EvidenceIndex
from tests.edge.centre.conftest import Centre, CountingStorage
from tests.edge.service.sites import start_service, stop_service, write_site
from tests.edge.streams import wait_until


def test_the_running_service_uploads_each_violation_and_records_the_centres_confirmation(tmp_path) -> None:
    centre = Centre(SqliteEventStore(tmp_path / "centre.sqlite"), CountingStorage(tmp_path / "blobs"))
    centre.start()
    try:
        token = centre.register("demo-campus-01", tmp_path / "evidence")  # its key, pinned as at installation
        site = write_site(
            tmp_path,
            timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",  # every crossing is a violation
            service={"capture": {"realtime": False, "loop": True}},
            evidence={"upload": {"url": centre.url, "interval_s": 0.3}},
        )
        proc = start_service(site, env={"CROSSGUARD_CENTRE_TOKEN": token})
        try:
            wait_until(lambda: centre.store.review_queue(state=None), 120, what="the first uploaded violation")
        finally:
            code, _, err = stop_service(proc)
        assert code == 0, err[-2000:]
        uploaded = {u.event_id for u in centre.store.review_queue(state=None)}
        index = EvidenceIndex(tmp_path / "evidence" / "index.sqlite")
        try:
            confirmed = {e.event_id for e in index.events() if e.centre_confirmed_utc is not None}
        finally:
            index.close()
        assert confirmed and confirmed <= uploaded  # one confirmed at the stop may be recorded at the next start
        assert centre.store.alarms() == []
    finally:
        centre.stop()
        centre.store.close()
