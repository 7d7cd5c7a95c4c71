"""Generic JSON-over-HTTP board against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from actuators.base import HealthState
from actuators.emulators.http_board import HttpBoardEmulator

from .conftest import BASE_UTC, violation, wait_for


def test_posts_the_warning_as_json(make_hub, http_board) -> None:
    hub = make_hub(
        [
            {
                "name": "gw",
                "type": "http_board",
                "url": http_board.url,
                "languages": ["zh", "en"],
                "colour": "amber",
            }
        ],
        schedule=[{"start": "00:00", "volume": 0.5, "brightness": 60}],
    )
    event = violation()
    hub.on_violation(event)
    wait_for(lambda: http_board.messages, what="the POST")
    assert http_board.messages == [{
        "board": "gw", "text": "红灯，请退回路边 / Red light - please step back to the curb",
        "lines": ["红灯，请退回路边", "Red light - please step back to the curb"], "colour": "amber",
        "mode": "scroll", "brightness": 60, "event_id": event.event_id, "crosswalk_id": "cw1", "kind": "warn",
    }]  # fmt: skip
    assert hub.virtual_board_texts()["gw"].startswith("红灯")


def test_error_status_is_a_failure_with_the_answer(make_hub) -> None:
    board = HttpBoardEmulator(status=503)
    try:
        hub = make_hub([{"name": "gw", "type": "http_board", "url": board.url, "command_ttl_s": 0.3}])
        (result,) = hub.test("gw", timeout_s=3)
        assert not result.success
        assert "answered 503" in result.detail
        assert hub.health()["gw"].state is HealthState.DOWN
    finally:
        board.stop()


def test_hung_gateway_times_out_and_recovers_when_replaced(make_hub) -> None:
    hung = HttpBoardEmulator(hung=True)
    port = hung.port
    hub = make_hub([{"name": "gw", "type": "http_board", "url": f"http://127.0.0.1:{port}/board",
                     "timeout_s": 0.3, "command_ttl_s": 10}])  # fmt: skip
    hub.on_violation(violation(utc=BASE_UTC))
    wait_for(lambda: hub.health()["gw"].failed >= 1, what="the timeout")
    assert "timed out" in hub.health()["gw"].last_error
    hung.stop()
    board = HttpBoardEmulator(port)  # the gateway comes back; the same command is retried
    try:
        wait_for(lambda: board.messages, what="delivery after recovery")
        wait_for(lambda: hub.health()["gw"].state is HealthState.OK, what="health to recover")
    finally:
        board.stop()


def test_clear_after_the_hold_sends_the_idle_text(make_hub, http_board) -> None:
    hub = make_hub([{"name": "gw", "type": "http_board", "url": http_board.url, "hold_s": 0.2}])
    hub.on_violation(violation())
    wait_for(lambda: len(http_board.messages) == 2, what="the warning and the clear")
    cleared = http_board.messages[1]
    assert (cleared["kind"], cleared["text"], cleared["lines"]) == ("clear", "", [])
