"""State-at-instant lookups, with late and repeated changes."""

from __future__ import annotations

import pytest

from edge.signal.timeline import SignalHistory
from edge.signal.types import SignalChange, SignalState

W, C, D, U = SignalState.WALK, SignalState.CLEARANCE, SignalState.DONT_WALK, SignalState.UNKNOWN


def test_state_at_and_since() -> None:
    h = SignalHistory([SignalChange(0, "g", W), SignalChange(10, "g", C), SignalChange(15, "g", D)])
    assert h.state_at("g", -1).state is U
    assert h.state_at("g", 5).state is W and h.state_at("g", 5).since == 0
    assert h.state_at("g", 15).state is D and h.state_at("g", 20).since == 15
    assert h.state_at("other", 5).state is U


def test_late_change_is_inserted_at_its_own_time() -> None:
    h = SignalHistory([SignalChange(0, "g", W), SignalChange(20, "g", W)])
    h.add(SignalChange(10, "g", D))  # arrives after the t=20 report
    assert h.state_at("g", 12).state is D
    assert h.state_at("g", 25).state is W and h.state_at("g", 25).since == 20


def test_repeated_reports_do_not_restart_the_state() -> None:
    h = SignalHistory([SignalChange(t, "g", D) for t in (0, 1, 2, 3)])
    assert h.state_at("g", 3.5).since == 0


def test_history_is_bounded_but_keeps_the_state_in_force() -> None:
    h = SignalHistory(horizon_s=10)
    for t in range(100):
        h.add(SignalChange(float(t), "g", W if t % 2 else D))
    assert len(h.changes("g")) <= 12
    assert h.state_at("g", 99.5).state is W


@pytest.mark.parametrize(
    ("text", "state"),
    [("DONT_WALK", D), ("don't walk", D), ("dont-walk", D), ("red", D), ("WALK", W), ("flashing", C), ("dark", U)],
)
def test_parse(text: str, state: SignalState) -> None:
    assert SignalState.parse(text) is state


def test_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="unknown signal state 'purple'"):
        SignalState.parse("purple")
