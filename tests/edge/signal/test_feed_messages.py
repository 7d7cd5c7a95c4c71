"""Parsing controller messages: J2735 numbers and names, the simple form, SPaT nesting, bad input."""

from __future__ import annotations

from contextlib import ExitStack as DoesNotRaise

import pytest

from edge.signal.feed_messages import J2735_STATES, FeedMessageError, parse_message, parse_state
from edge.signal.types import SignalState

W, C, D, U = SignalState.WALK, SignalState.CLEARANCE, SignalState.DONT_WALK, SignalState.UNKNOWN


@pytest.mark.parametrize(
    ("number", "name", "state"),
    [
        (0, "unavailable", U),
        (1, "dark", U),
        (2, "stop-Then-Proceed", D),
        (3, "stop-And-Remain", D),
        (4, "pre-Movement", D),
        (5, "permissive-Movement-Allowed", W),
        (6, "protected-Movement-Allowed", W),
        (7, "permissive-clearance", C),
        (8, "protected-clearance", C),
        (9, "caution-Conflicting-Traffic", U),
    ],
)
def test_j2735_table(number: int, name: str, state: SignalState) -> None:
    assert J2735_STATES[number] == (name, state)
    assert parse_state(number) is state
    assert parse_state(str(number)) is state
    assert parse_state(name) is state
    assert parse_state(name.upper().replace("-", "_")) is state


@pytest.mark.parametrize(
    ("payload", "expected", "expectation"),
    [
        (
            '{"group": "p1", "state": "DONT_WALK", "ts": 1763900000.5}',
            [("p1", D, 1763900000.5)],
            DoesNotRaise(),
        ),
        ('{"group": 4, "state": "don\'t walk"}', [("4", D, None)], DoesNotRaise()),
        ('{"group": "p1", "state": 6, "ts": 1763900000500}', [("p1", W, 1763900000.5)], DoesNotRaise()),
        (
            '{"group": "p1", "state": "WALK", "ts": "2025-11-23T12:00:00Z"}',
            [("p1", W, 1763899200.0)],
            DoesNotRaise(),
        ),
        (
            '{"ts": 1.5, "states": [{"signalGroup": 2, "eventState": 8}, {"signalGroup": 4, "eventState": 3}]}',
            [("2", C, 1.5), ("4", D, 1.5)],
            DoesNotRaise(),
        ),
        (
            '{"timestamp": 2, "intersections": [{"states": [{"signalGroup": 2, '
            '"state-time-speed": [{"eventState": "protected-Movement-Allowed"}, {"eventState": 8}]}]}]}',
            [("2", W, 2.0)],
            DoesNotRaise(),
        ),
        (
            '[{"group": "a", "state": "WALK", "ts": 1}, {"group": "b", "state": "red", "ts": 1}]',
            [("a", W, 1.0), ("b", D, 1.0)],
            DoesNotRaise(),
        ),
        (b"\xff\xfe", None, pytest.raises(FeedMessageError, match="not UTF-8")),
        ("{not json", None, pytest.raises(FeedMessageError, match="not valid JSON")),
        ("42", None, pytest.raises(FeedMessageError, match="expected a JSON object")),
        ('{"group": "p1"}', None, pytest.raises(FeedMessageError, match="needs both 'group' and 'state'")),
        (
            '{"group": "p1", "state": "purple"}',
            None,
            pytest.raises(FeedMessageError, match="unknown signal state"),
        ),
        ('{"group": "p1", "state": 12}', None, pytest.raises(FeedMessageError, match=r"outside 0\.\.9")),
        ('{"group": "p1", "state": true}', None, pytest.raises(FeedMessageError, match="not a state")),
        ('{"group": "", "state": 3}', None, pytest.raises(FeedMessageError, match="not a signal-group id")),
        (
            '{"group": "p1", "state": 3, "ts": "yesterday"}',
            None,
            pytest.raises(FeedMessageError, match="ISO"),
        ),
        (
            '{"group": "p1", "state": 3, "ts": "2025-11-23T12:00:00"}',
            None,
            pytest.raises(FeedMessageError, match="needs a UTC offset"),
        ),
        (
            '{"group": "p1", "state": 3, "ts": -5}',
            None,
            pytest.raises(FeedMessageError, match="not a UTC epoch"),
        ),
        (
            '{"states": [{"eventState": 3}]}',
            None,
            pytest.raises(FeedMessageError, match="needs 'signalGroup'"),
        ),
        ('{"states": [{"signalGroup": 1}]}', None, pytest.raises(FeedMessageError, match="no eventState")),
        ('{"states": []}', None, pytest.raises(FeedMessageError, match="carries no signal-group state")),
        (
            '{"hello": 1}',
            None,
            pytest.raises(FeedMessageError, match="neither 'group'/'state' nor a 'states'"),
        ),
    ],
)
def test_parse_message(payload: object, expected: list | None, expectation: object) -> None:
    with expectation:
        items = parse_message(payload)
        assert [(i.group_id, i.state, i.utc) for i in items] == expected
