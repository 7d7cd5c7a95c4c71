"""``crossguard run`` as a child process against real streams on 127.0.0.1.

Each test bounds itself with timeouts; the light 320 model and one ONNX thread keep the
whole file within about a minute on a shared two-core machine.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from edge.config import load_site
from edge.replay import ReplayOptions, run_replay
from tests.conftest import require_shared
from tests.edge.service.sites import CLIP, start_service, stop_service, write_site
from tests.edge.streams import MjpegServer, RtspPublisher, RtspServer, free_port, wait_until

pytestmark = pytest.mark.timeout(120)
COMPARED_OUT = ("event_id", "entry_utc", "decided_utc")  # wall-clock stamps differ between runs by design


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def status(port: int) -> dict:
    code, body = get(port, "/status")
    return json.loads(body) if code == 200 else {}


def seconds_until_live_again(port: int, returned: float, what: str) -> float:
    """Seconds from ``returned`` (the stream's return) until the service has new frames from it."""
    before = status(port)["frames_processed"]
    wait_until(
        lambda: (s := status(port)).get("camera_state") == "live" and s["frames_processed"] > before, 15, what=what
    )
    return time.monotonic() - returned


def metric(port: int, line_start: str) -> float | None:
    _, text = get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def journal(state: Path) -> list[dict]:
    lines = [ln for f in sorted((state / "events").glob("events-*.jsonl")) for ln in f.read_text().splitlines()]
    return [json.loads(ln) for ln in lines]


def comparable(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in COMPARED_OUT}


def test_run_on_a_looped_file_decides_exactly_what_replay_decides(tmp_path, recorded_detector) -> None:
    site_path = write_site(tmp_path, service={"capture": {"realtime": False, "loop": True}})
    proc = start_service(site_path, "--max-frames", "160")
    _, err = proc.communicate(timeout=100)
    assert proc.returncode == 0, err[-2000:]
    live = [e for e in journal(tmp_path / "state") if e["decided_frame"] < 143]  # the first pass

    replay_out = tmp_path / "replay"
    site = load_site(site_path)
    run_replay(site, recorded_detector, ReplayOptions(require_shared(CLIP), replay_out, progress=False))
    replayed = [json.loads(ln) for ln in (replay_out / "events.jsonl").read_text().splitlines()]

    assert any(e["type"] == "violation" for e in replayed)
    assert [comparable(e) for e in live] == [comparable(e) for e in replayed]


def test_sigterm_during_a_violation_burst_leaves_nothing_half_written(tmp_path) -> None:
    # DON'T WALK throughout: every observed crossing is a violation.
    site_path = write_site(
        tmp_path,
        timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",
        service={"capture": {"realtime": False, "loop": True}},
    )
    state = tmp_path / "state"
    proc = start_service(site_path)
    wait_until(
        lambda: (state / "events").is_dir() and any(e["type"] == "violation" for e in journal(state)),
        90,
        what="the first violation",
    )
    code, _, err = stop_service(proc)
    assert code == 0, err[-2000:]
    assert "SIGTERM received" in err and "stopped after" in err

    events = journal(state)  # every line parses: none was cut off
    violations = [e for e in events if e["type"] == "violation"]
    crossings = {(e["track_id"], e["entry_frame"]) for e in events if e["type"] == "crossing"}
    assert violations and all((v["track_id"], v["entry_frame"]) in crossings for v in violations)
    final = json.loads((state / "status.json").read_text())
    assert final["violations"] == len(violations)
    assert not list(state.rglob("*.tmp"))
    evidence = tmp_path / "evidence"
    if evidence.is_dir():  # the evidence recorder flushed every violation, each folder complete
        folders = [p for p in evidence.glob("2*/*/*/*") if p.is_dir()]
        assert sorted(p.name for p in folders) == sorted(v["event_id"] for v in violations)
        assert not any((evidence / ".staging").iterdir())


class NotifyListener:
    """The systemd side of sd_notify: a datagram socket collecting what the service says."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages += self.sock.recv(4096).decode().splitlines()
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def test_mjpeg_camera_cut_and_restored_service_reports_and_recovers(tmp_path) -> None:
    server = MjpegServer(require_shared(CLIP))
    port = free_port()
    site_path = write_site(
        tmp_path,
        camera={"source": server.url},
        service={
            "log_format": "json",
            "capture": {"read_timeout_s": 1.0, "open_timeout_s": 2.0},
            "http": {"port": port},
        },
    )
    listener = NotifyListener(tmp_path / "notify.sock")
    server.start()
    proc = start_service(site_path, env={"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "1000000"})
    try:
        wait_until(lambda: status(port).get("frames_processed", 0) > 5, 60, what="frames from the camera")
        assert get(port, "/healthz")[0] == 200
        assert metric(port, "crossguard_camera_up") == 1.0
        assert metric(port, "crossguard_frames_processed_total") > 5

        server.stop()
        wait_until(lambda: status(port).get("camera_state") == "lost", 15, what="the loss to be noticed")
        code, body = get(port, "/healthz")
        assert code == 503 and "camera lost" in body
        assert get(port, "/healthz/live")[0] == 200  # the loop still turns: no restart wanted
        wait_until(lambda: status(port)["enforcement_suspended"], 5, what="enforcement to be suspended")

        time.sleep(2.5)  # let the back-off reach its cap
        server.start()
        recovered_after = seconds_until_live_again(port, time.monotonic(), "frames after the camera returned")
        assert metric(port, "crossguard_camera_reconnects_total") >= 1
        assert metric(port, 'crossguard_enforcement_suspensions_total{cause="missing"}') == 1.0
    finally:
        code, _, err = stop_service(proc)
        server.stop()
        listener.close()
    assert code == 0, err[-2000:]
    assert recovered_after < 5.0
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert logs and any("back after" in entry["msg"] for entry in logs)
    assert {"READY=1", "WATCHDOG=1", "STOPPING=1"} <= set(listener.messages)


def test_frozen_stream_suspends_enforcement_and_says_so(tmp_path) -> None:
    server = MjpegServer(require_shared(CLIP), freeze_after_s=2.0)
    port = free_port()
    site_path = write_site(
        tmp_path,
        camera={"source": server.url},
        service={"picture": {"frozen_after_s": 1.5}, "http": {"port": port}},
    )
    server.start()
    proc = start_service(site_path)
    try:
        frozen = wait_until(
            lambda: (s := status(port)).get("enforcement_suspended") and s,
            40,
            what="enforcement to be suspended",
        )
        code, body = get(port, "/healthz")
        assert metric(port, "crossguard_enforcement_suspended") == 1.0
        assert metric(port, "crossguard_picture_ok") == 0.0
    finally:
        stop_service(proc)
        server.stop()
    assert frozen["picture"] == "frozen" and "frozen" in frozen["suspension_reason"]
    assert frozen["camera_state"] == "live"  # frames still arrive: only their content is stuck
    assert code == 503 and "picture frozen" in body


def test_rtsp_camera_pushing_to_the_service_reconnects(tmp_path) -> None:
    port, rtsp_port = free_port(), free_port()
    publisher = RtspPublisher(require_shared(CLIP), rtsp_port)
    site_path = write_site(
        tmp_path,
        camera={"source": publisher.url},
        service={
            "capture": {
                "ffmpeg_input_args": ["-rtsp_flags", "listen"],
                "open_timeout_s": 30,
                "read_timeout_s": 1.0,
            },
            "http": {"port": port},
        },
    )
    proc = start_service(site_path)
    try:
        wait_until(lambda: status(port), 30, what="the service to answer")
        publisher.start()
        wait_until(lambda: status(port).get("frames_processed", 0) > 3, 30, what="RTSP frames")
        publisher.stop()
        wait_until(lambda: status(port).get("camera_state") != "live", 15, what="the loss to be noticed")
        publisher.start()
        recovered_after = seconds_until_live_again(port, time.monotonic(), "frames again")
    finally:
        code, _, err = stop_service(proc)
        publisher.stop()
    assert code == 0, err[-2000:]
    assert recovered_after < 5.0


def test_rtsp_camera_pulled_from_its_server_cut_and_restored_reconnects(tmp_path) -> None:
    server = RtspServer(require_shared(CLIP), tmp_path)
    port = free_port()
    site_path = write_site(
        tmp_path,
        camera={"source": server.url},
        service={"log_format": "json", "capture": {"read_timeout_s": 1.0}, "http": {"port": port}},
    )
    server.start()
    proc = start_service(site_path)
    try:
        wait_until(lambda: status(port).get("frames_processed", 0) > 5, 60, what="frames pulled over RTSP")
        assert status(port)["camera_state"] == "live"

        server.stop()
        lost = wait_until(lambda: (s := status(port)).get("camera_state") == "lost" and s, 15, what="the loss")
        code, body = get(port, "/healthz")
        assert code == 503 and "camera lost" in body
        wait_until(lambda: status(port)["enforcement_suspended"], 5, what="enforcement to be suspended")
        time.sleep(2.5)  # let the back-off reach its cap

        returned = server.start()  # the moment it listens again
        recovered_after = seconds_until_live_again(port, returned, "frames after the server returned")
        back = status(port)
    finally:
        code, _, err = stop_service(proc)
        server.stop()
    assert code == 0, err[-2000:]
    print(f"RTSP pull: frames again {recovered_after:.2f} s after the server returned")
    assert recovered_after < 5.0
    assert lost["camera_source"] == server.url and lost["camera_error"].startswith(f"{server.url}: ")
    assert back["reconnects"] >= 1 and not back["enforcement_suspended"]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any("back after" in entry["msg"] for entry in logs)


def test_rtsp_camera_path_missing_on_its_server_is_a_clear_error_not_a_hang(tmp_path) -> None:
    server = RtspServer(require_shared(CLIP), tmp_path)
    port = free_port()
    label = f"rtsp://admin:***@127.0.0.1:{server.port}/stream9"
    site_path = write_site(
        tmp_path,
        camera={"source": label.replace("***", "secret")},
        service={"capture": {"open_timeout_s": 10.0}, "http": {"port": port}},
    )
    server.start()
    proc = start_service(site_path)
    try:
        lost = wait_until(lambda: (s := status(port)).get("camera_state") == "lost" and s, 60, what="the error")
        code, body = get(port, "/healthz")
    finally:
        exit_code, _, err = stop_service(proc)
        server.stop()
    assert exit_code == 0, err[-2000:]
    assert lost["camera_source"] == label
    assert lost["camera_error"].startswith(f"{label}: stream ended while opening")  # not the 10 s open timeout
    assert "404 Not Found" in lost["camera_error"]
    assert code == 503 and "404 Not Found" in body
    assert "secret" not in json.dumps(lost) + body + err
