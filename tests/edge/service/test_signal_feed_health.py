"""A controller feed that stops shows in /healthz, /status and the dashboard, and comes back by itself."""

from __future__ import annotations

import json
import time

import pytest

import edge.signal.sources.mqtt as mqtt_source
from edge.config import load_site
from edge.service import RunLimits, Service
from edge.signal.sources.mqtt import MqttSource
from edge.web.dashboard import build_dashboard
from tests.edge.service.sites import write_site
from tests.edge.service.test_run import get
from tests.edge.signal.test_feed_attacks import POISON, TOPIC, Publisher, wait_for
from tests.mosquitto import HOST, Mosquitto, mosquitto  # noqa: F401  (fixture)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_stopped_feed_is_not_ready_until_the_watchdog_brings_it_back(
    tmp_path,  # type: ignore[no-untyped-def]
    recorded_detector,  # type: ignore[no-untyped-def]
    mosquitto: Mosquitto,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = {"type": "mqtt", "host": HOST, "port": mosquitto.port, "topic": TOPIC, "stale_after_s": 60}
    site_path = write_site(
        tmp_path,
        signal={"sources": [feed]},
        service={"capture": {"realtime": False}},
        evidence={"enabled": False},
    )
    service = Service(load_site(site_path), site_path, detector=recorded_detector)
    source = service.signals.sources[0]
    assert isinstance(source, MqttSource)
    controller = Publisher(mosquitto.port)
    service.start()
    try:
        assert service.http is not None and source.wait_connected(10)
        controller.send(POISON)  # what killed the feed before: now rejected, the feed goes on
        controller.send({"group": "ped-main", "state": "DONT_WALK", "ts": time.time()})
        wait_for(lambda: source.inbox.counters.accepted == 1)
        service.run(RunLimits(max_frames=5))
        assert source.inbox.counters.oversized == 1
        assert get(service.http.port, "/healthz")[0] == 200

        # Whatever could still end the network thread: SystemExit passes every catch-all.
        monkeypatch.setattr(mqtt_source, "RESTART_AFTER_S", 3600.0)
        submit = source.inbox.submit

        def die(*args: object, **kwargs: object) -> int:
            raise SystemExit("network thread killed by the test")

        monkeypatch.setattr(source.inbox, "submit", die)
        controller.send({"group": "ped-main", "state": "DONT_WALK", "ts": time.time()})
        wait_for(lambda: not source._alive())
        service.run(RunLimits(max_frames=10))

        code, body = get(service.http.port, "/healthz")
        assert code == 503 and any("signal source mqtt down" in r for r in json.loads(body)["reasons"])
        status = json.loads(get(service.http.port, "/status")[1])
        assert status["signal_sources"]["mqtt"]["state"] == "down"
        assert "network thread stopped" in status["signal_sources"]["mqtt"]["detail"]
        context = service.web_context()
        board = build_dashboard(service.site, context.status_dict(), context.live(), None, time.time())
        signal = board.crosswalks[0].signal
        assert signal is not None and signal.state == "UNKNOWN"
        assert [(s.name, s.health) for s in signal.sources] == [("mqtt", "down")]

        monkeypatch.setattr(source.inbox, "submit", submit)
        monkeypatch.setattr(mqtt_source, "RESTART_AFTER_S", 0.0)
        service.run(RunLimits(max_frames=11))  # the frame path's watchdog starts the thread again
        assert source.restarts == 1 and source.wait_connected(10)
        assert get(service.http.port, "/healthz")[0] == 200
    finally:
        controller.close()
        service.stop()
