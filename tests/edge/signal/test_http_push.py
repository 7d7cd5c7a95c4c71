"""HTTP push source over a real uvicorn server on 127.0.0.1, driven with httpx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from edge.config.signal import HttpPushSourceConfig
from edge.signal.source import FrameClock, SignalSourceError, SourceHealth
from edge.signal.sources import build_source
from edge.signal.sources.http_push import HttpPushSource, PushTokenError
from edge.signal.types import SignalState

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture
def source() -> Iterator[HttpPushSource]:
    src = build_source(HttpPushSourceConfig(name="gateway", token=TOKEN, listen_port=0, groups={"2": "p1"}))
    assert isinstance(src, HttpPushSource) and src.server is not None
    yield src
    src.close()


def url(src: HttpPushSource) -> str:
    assert src.server is not None
    return f"http://127.0.0.1:{src.server.port}/api/signal/gateway"


def test_push_is_authenticated_checked_and_queued(source: HttpPushSource) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    now = time.time()
    with httpx.Client(timeout=5) as http:
        assert http.post(url(source), json={"group": "2", "state": 6, "ts": now}).status_code == 401
        wrong = http.post(url(source), json={"group": "2", "state": 6}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        bad = http.post(url(source), content=b"{oops", headers=auth)
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["detail"]
        ok = http.post(
            url(source),
            json={
                "ts": now,
                "states": [
                    {"signalGroup": 2, "eventState": "protected-clearance"},
                    {"signalGroup": 7, "eventState": 3},
                ],
            },
            headers=auth,
        )
        assert ok.status_code == 202 and ok.json() == {"accepted": 1, "rejected": 1}
    changes = source.poll(FrameClock(now, now), None)
    assert [(c.group, c.state, c.t) for c in changes] == [("p1", SignalState.CLEARANCE, now)]
    counters = source.inbox.counters
    assert (counters.accepted, counters.malformed, counters.unknown_group) == (1, 1, 1)


def test_route_mounts_in_another_app_and_is_down_until_then() -> None:
    """The live service mounts the source's route on the web UI's app; served here by uvicorn as the UI is."""
    src = HttpPushSource(HttpPushSourceConfig(name="ui", token=TOKEN), TOKEN)
    status = src.status()
    assert status.health is SourceHealth.DOWN and "nothing has mounted /api/signal/ui" in status.detail
    app = FastAPI()
    app.get("/health")(lambda: {"ok": True})
    src.mount(app)
    assert src.status().health is SourceHealth.OK
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        reply = httpx.post(
            f"http://127.0.0.1:{port}/api/signal/ui",
            json={"group": "p9", "state": "WALK"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert reply.status_code == 202
    finally:
        server.should_exit = True
        thread.join(5)
    assert [c.state for c in src.poll(FrameClock(time.time(), time.time()), None)] == [SignalState.WALK]


def test_token_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSGUARD_SIGNAL_TOKEN", raising=False)
    with pytest.raises(PushTokenError, match="CROSSGUARD_SIGNAL_TOKEN"):
        build_source(HttpPushSourceConfig())
    monkeypatch.setenv("CROSSGUARD_SIGNAL_TOKEN", TOKEN)
    assert isinstance(build_source(HttpPushSourceConfig()), HttpPushSource)


def test_port_in_use_is_named(source: HttpPushSource) -> None:
    assert source.server is not None
    taken = HttpPushSourceConfig(name="second", token=TOKEN, listen_port=source.server.port)
    with pytest.raises(SignalSourceError, match=f"cannot serve on 127.0.0.1:{source.server.port}"):
        build_source(taken)


def test_poison_and_flood_bodies_are_refused_and_the_route_keeps_working(source: HttpPushSource) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(timeout=10) as http:
        too_long = http.post(url(source), content=b"[" * 100_000 + b"]" * 100_000, headers=auth)
        assert too_long.status_code == 413  # cut off while reading, beyond max_message_bytes
        too_deep = http.post(url(source), content=b"[" * 5_000 + b"]" * 5_000, headers=auth)
        assert too_deep.status_code == 400 and "nests deeper" in too_deep.json()["detail"]
        many = {"ts": time.time(), "states": [{"signalGroup": g, "eventState": 3} for g in range(65)]}
        too_many = http.post(url(source), json=many, headers=auth)
        assert too_many.status_code == 400 and "at most 64" in too_many.json()["detail"]
        ok = http.post(url(source), json={"group": "2", "state": 3, "ts": time.time()}, headers=auth)
        assert ok.status_code == 202 and ok.json() == {"accepted": 1, "rejected": 0}
    assert source.inbox.counters.oversized == 2
