"""The durable outbox on real SQLite files: order, persistence, coalescing, the size-cap policy."""

from __future__ import annotations

import pytest

from edge.mqtt.link import Backoff
from edge.mqtt.outbox import MessageKind, Outbox, OutboxError

V, C, S, G = MessageKind.VIOLATION, MessageKind.CROSSING, MessageKind.STATUS, MessageKind.SIGNAL


def kinds(box: Outbox) -> list[str]:
    return [r.kind.value + ":" + r.payload for r in box.pending(0, 1000)]


def test_rows_come_back_in_order_and_survive_reopening(tmp_path):
    path = tmp_path / "sub" / "outbox.sqlite"
    box = Outbox(path)
    seqs = [box.add(V, "t/events", f"e{n}", event_utc=1.0) for n in range(5)]
    box.delete(seqs[:2])
    box.close()
    again = Outbox(path)
    assert len(again) == 3
    assert [r.payload for r in again.pending(0, 10)] == ["e2", "e3", "e4"]
    assert [r.payload for r in again.pending(seqs[2], 10)] == ["e3", "e4"]
    assert [r.payload for r in again.pending(0, 10, up_to_seq=seqs[3])] == ["e2", "e3"]
    assert again.add(V, "t/events", "e5") > seqs[-1]  # seq never reused, even after deletes


def test_status_coalesces_to_the_latest(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    box.add(V, "t", "v1")
    for n in range(3):
        box.add(S, "t/status", f"s{n}", retain=True, coalesce_key="status")
    assert kinds(box) == ["violation:v1", "status:s2"]
    assert box.pending(0, 10)[1].retain


def test_size_cap_drops_signal_then_crossings_never_violations(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", max_rows=100)
    for n in range(40):
        box.add(G, "t", f"g{n}")
        box.add(C, "t", f"c{n}")
    for n in range(30):
        box.add(V, "t", f"v{n}")
    assert len(box) == 100
    rows = kinds(box)
    assert sum(r.startswith("signal") for r in rows) == 30  # the 10 oldest signal changes went first
    assert "signal:g9" not in rows and "signal:g10" in rows and rows[0] == "crossing:c0"
    for n in range(100):
        box.add(V, "t", f"w{n}")
    rows = kinds(box)
    assert not any(r.startswith(("signal", "crossing")) for r in rows)
    assert len(rows) == 130  # over the cap rather than dropping a violation
    assert box.dropped == {G: 40, S: 0, C: 40}


def test_historical_decision_is_recorded_once(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    seq = box.add(V, "t", "{}")
    box.set_historical([(seq, True)])
    box.set_historical([(seq, False)])  # a retry must not change what the first attempt decided
    assert box.pending(0, 1)[0].historical is True


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutboxError, match="cannot open"):
        Outbox(blocker / "outbox.sqlite")


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match=r"outbox\.sqlite: cannot open: file is not a database"):
        Outbox(path)


def test_write_failure_names_the_file_and_keeps_the_count(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    box.add(V, "t", "v1")
    box._db.execute("PRAGMA query_only=1")  # every write now fails inside sqlite
    with pytest.raises(OutboxError, match=r"o\.sqlite: add violation failed"):
        box.add(V, "t", "v2")
    assert len(box) == 1


def test_backoff_grows_with_jitter_and_is_capped():
    low = Backoff(1.0, 8.0, rng=lambda: 0.0)
    high = Backoff(1.0, 8.0, rng=lambda: 1.0)
    assert [low.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [high.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    high.reset()
    assert high.next() == 1.0


def test_a_violation_stays_owed_its_evidence_until_the_outcome_is_queued_in_either_order(tmp_path):
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path)
    box.add(V, "t/events", "v1", awaits_evidence="ev-1")
    box.add(V, "t/events", "v2", awaits_evidence="ev-2")
    box.add(MessageKind.EVIDENCE, "t/evidence", "o3", settles_evidence="ev-3")  # outcome before its violation
    box.add(V, "t/events", "v3", awaits_evidence="ev-3")
    box.add(MessageKind.EVIDENCE, "t/evidence", "o1", settles_evidence="ev-1")
    box.close()
    again = Outbox(path)  # what a crash leaves is still owed at the next start
    assert again.awaiting_evidence() == ["ev-2"]
    assert [r.payload for r in again.pending(0, 10)] == ["v1", "v2", "o3", "v3", "o1"]


def test_evidence_messages_are_never_dropped_for_room(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite", max_rows=2)
    for n in range(4):
        box.add(MessageKind.EVIDENCE, "t/evidence", f"o{n}")
    assert len(box) == 4
